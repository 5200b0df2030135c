//! The pages in a real Chromium driven by playwright-core (`browser.mjs`),
//! with screenshots kept as test artifacts.

use super::*;

use std::path::PathBuf;

/// Where the screenshots go: kept after the run, as test artifacts.
fn artifacts() -> PathBuf {
    let dir = root().join("target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_pages_work_in_a_real_browser() {
    let browser = chromium();
    let p = Project::seed();
    // A batch (`--file`) is held 2 s while `browser.mjs` keeps the file
    // `hold-batches`, so that a run's log has lines on the page well before
    // its report: the streaming check is strict.
    let slow = p.wrapper(&format!(
        "case \"$*\" in *--file*) [ -e '{}' ] && sleep 2;; esac",
        p.path("hold-batches").display()
    ));
    let ui = Ui::start(&p, &[], &[("MIGRATE_WRANGLER", slow.to_str().unwrap())]);
    let shots = artifacts();
    let script = root().join("xtask/ui/tests/browser.mjs");
    let output = Command::new("node")
        .arg(&script)
        .env("UI_URL", &ui.url)
        .env("UI_PROJECT", p.path(""))
        .env("UI_SHOTS", &shots)
        .env("UI_WRANGLER", wrangler_js())
        .env("UI_CHROMIUM", &browser)
        .env("CI", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .current_dir(root())
        .output()
        .unwrap();
    let said = format!(
        "{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(p.path("ui.log")).unwrap_or_default()
    );
    assert!(output.status.success(), "{said}");
    // What the pages did last (a restore of the backup the rollback took),
    // checked in the database itself.
    assert_eq!(p.versions("AUTH"), [2, 4, 5], "{said}");
    for shot in [
        "overview",
        "migration",
        "run",
        "schema",
        "history",
        "backups",
        "durations",
    ] {
        let file = shots.join(format!("{shot}.png"));
        assert!(
            std::fs::metadata(&file).is_ok_and(|m| m.len() > 5_000),
            "no screenshot {}",
            file.display()
        );
    }
    assert_eq!(ui.stop(), Some(0));
}

/// wrangler's JS entry (what `node` runs).
fn wrangler_js() -> PathBuf {
    let bin = wrangler();
    let link = std::fs::canonicalize(bin).unwrap_or_else(|_| bin.to_path_buf());
    if link.extension().is_some_and(|e| e == "js") {
        return link;
    }
    root().join("node_modules/wrangler/bin/wrangler.js")
}

/// Debian's Chromium (or `UI_CHROMIUM`) and playwright-core: `cargo xtask
/// test` installs them; the tests do not.
fn chromium() -> PathBuf {
    let browser = require(xtask::tasks::test::chromium());
    require(xtask::tasks::test::node_modules(&root()));
    browser
}
