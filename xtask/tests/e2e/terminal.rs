//! At a terminal and not: the real binary under a pseudo-terminal (`script`
//! from util-linux) and piped. At a terminal a run prints its report alone,
//! each fact once, with colour unless `NO_COLOR`, and a line that shows each
//! wait of over two seconds; `-v` brings the logs back. Piped, the logs are
//! all there and nothing else is drawn.

use std::collections::HashSet;
use std::process::Command;

use crate::common::*;

/// Runs `command` with a pseudo-terminal for its stdin, stdout and stderr;
/// returns its exit code and what it printed there (both streams, in order,
/// with `\n` line ends).
fn at_terminal(command: &Command) -> (i32, String) {
    let quote =
        |word: &std::ffi::OsStr| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''"));
    let line: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(quote)
        .collect();
    let mut script = Command::new("script");
    script
        .args(["--quiet", "--return", "--command"])
        .arg(line.join(" "))
        .arg("/dev/null");
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let output = script
        .output()
        .expect("`script` (util-linux) runs commands under a pseudo-terminal");
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n"),
    )
}

/// What stays on the screen of `shown`: each line as the last clearing of
/// it (the wait's line, drawn over a slow step) left it.
fn visible(shown: &str) -> String {
    shown
        .lines()
        .map(|line| line.rsplit("\r\x1b[2K").next().unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `text` has a colour (SGR) escape.
fn coloured(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|rest| {
        let code: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ';')
            .collect();
        rest[code.len()..].starts_with('m')
    })
}

/// A log line, as the human log format starts one.
fn is_log_line(line: &str) -> bool {
    ["TRACE ", "DEBUG ", "INFO ", "WARN ", "ERROR "]
        .iter()
        .any(|level| line.trim_start().starts_with(level))
}

#[test]
fn at_a_terminal_a_run_prints_its_report_alone_each_fact_once_and_piped_the_logs_are_there() {
    let p = Project::seed();
    p.migrate(&["up", "4"]).ok();
    let no_colour = [("NO_COLOR", "1")];

    // One migration per database, at a terminal.
    let (code, shown) = at_terminal(&p.migrate_command(&["up"], &no_colour));
    assert_eq!(code, 0, "{shown}");
    assert!(!coloured(&shown), "NO_COLOR, yet: {shown:?}");
    // On a loaded machine a step may last long enough for its wait's line.
    let shown = visible(&shown);
    assert!(shown.contains("v5") && shown.contains("v6"), "{shown}");
    let logs: Vec<&str> = shown.lines().filter(|l| is_log_line(l)).collect();
    assert!(
        logs.is_empty(),
        "log lines at a terminal: {logs:#?}\n{shown}"
    );
    // What undoes it, on this project (its own config) from anywhere.
    let config = p.config_path().display().to_string();
    let undo = format!(
        "To undo this run: cargo migrate down 3 --config {config} --db READ_REPLICA && cargo migrate down 4 --config {config} --db AUTH"
    );
    assert!(shown.contains(&undo), "{shown}");
    let mut seen = HashSet::new();
    for line in shown.lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(seen.insert(line), "said twice: {line:?}\n{shown}");
    }

    // The same run piped: the logs are there, with what the report says.
    p.migrate(&["down", "4"]).ok();
    let piped = p.migrate(&["up"]).ok();
    assert!(
        piped
            .stderr
            .lines()
            .any(|l| l.trim_start().starts_with("INFO ")),
        "{}",
        piped.stderr
    );
    assert!(!piped.all().contains('\x1b'), "{:?}", piped.all());

    // `-v` brings them back at a terminal.
    p.migrate(&["down", "4"]).ok();
    let (code, shown) = at_terminal(&p.migrate_command(&["up", "-v"], &no_colour));
    assert_eq!(code, 0, "{shown}");
    let shown = visible(&shown);
    assert!(
        shown.lines().any(|l| l.trim_start().starts_with("INFO ")),
        "{shown}"
    );

    // `status -v`: the global `-v`, which also shows when each ran.
    let (code, shown) = at_terminal(&p.migrate_command(&["status", "-v"], &no_colour));
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("(applied 20"), "{shown}");
}

#[test]
fn colour_only_at_a_terminal_and_never_with_no_color() {
    let p = Project::seed();
    let unknown = ["status", "--db", "NOPE"];
    let (code, shown) = at_terminal(&p.migrate_command(&unknown, &[("TERM", "xterm")]));
    assert_ne!(code, 0);
    assert!(shown.contains("\x1b[1;31merror:\x1b[0m"), "{shown:?}");
    let (_, shown) =
        at_terminal(&p.migrate_command(&unknown, &[("TERM", "xterm"), ("NO_COLOR", "1")]));
    assert!(shown.contains("error:") && !coloured(&shown), "{shown:?}");
    let piped = p.migrate_with(&unknown, &[("TERM", "xterm")]).fails();
    assert!(
        piped.stderr.contains("error:") && !piped.stderr.contains('\x1b'),
        "{:?}",
        piped.stderr
    );

    // The report: headings in bold, outcomes in green.
    let (code, shown) = at_terminal(&p.migrate_command(&["status"], &[("TERM", "xterm")]));
    assert_eq!(code, 0, "{shown:?}");
    assert!(
        shown.contains("\x1b[1m=== AUTH DATABASE ===\x1b[0m"),
        "{shown:?}"
    );
    let (code, shown) =
        at_terminal(&p.migrate_command(&["up", "--db", "AUTH"], &[("TERM", "xterm")]));
    assert_eq!(code, 0, "{shown:?}");
    assert!(
        shown.contains("\x1b[32m✅ AUTH: applied 3 migrations"),
        "{shown:?}"
    );
    let piped = p.migrate_with(&["status"], &[("TERM", "xterm")]).ok();
    assert!(!piped.stdout.contains('\x1b'), "{:?}", piped.stdout);
}

#[test]
fn a_wait_of_over_two_seconds_is_shown_at_a_terminal_and_not_when_piped() {
    let p = Project::seed();
    // Every wrangler call takes three seconds longer.
    let slow = p.wrapper("sleep 3").display().to_string();
    let env = [("MIGRATE_WRANGLER", slow.as_str()), ("NO_COLOR", "1")];
    let (code, shown) = at_terminal(&p.migrate_command(&["up", "1", "--db", "READ_REPLICA"], &env));
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("waiting for fake-wrangler.sh d1"),
        "{shown:?}"
    );
    // The line is cleared before the report goes on.
    assert!(shown.contains("\r\x1b[2K"), "{shown:?}");
    let piped = p.migrate_with(&["up", "--db", "READ_REPLICA"], &env).ok();
    assert!(!piped.all().contains("waiting for"), "{}", piped.all());
    assert!(!piped.all().contains('\x1b'), "{:?}", piped.all());
}

#[test]
fn the_xtask_build_says_at_the_terminal_that_it_compiles_and_nothing_when_piped() {
    // The build script cargo compiled for this xtask (the newest, should
    // there be several), run as cargo runs it at the start of a build.
    let debug = std::env::current_exe().unwrap();
    let debug = debug.parent().and_then(|deps| deps.parent()).unwrap();
    let script = std::fs::read_dir(debug.join("build"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("xtask-"))
        .map(|entry| entry.path().join("build-script-build"))
        .filter(|path| path.is_file())
        .max_by_key(|path| path.metadata().unwrap().modified().unwrap())
        .expect("cargo built the xtask's build script");
    // Built from the build script as it is (not one left from before).
    let source = root()
        .join("xtask/build.rs")
        .metadata()
        .unwrap()
        .modified()
        .unwrap();
    assert!(
        script.metadata().unwrap().modified().unwrap() >= source,
        "{} is older than xtask/build.rs",
        script.display()
    );
    let (code, shown) = at_terminal(&Command::new(&script));
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("Compiling the xtask"), "{shown:?}");
    // What it tells cargo (stdout) is all there is without a terminal (its
    // own session: none to reach).
    let piped = Command::new("setsid").arg(&script).output().unwrap();
    assert!(piped.stderr.is_empty());
    let told = String::from_utf8(piped.stdout).unwrap();
    assert!(told.lines().all(|l| l.starts_with("cargo:")), "{told}");
    assert!(told.contains("cargo:rerun-if-changed=src"), "{told}");
}
