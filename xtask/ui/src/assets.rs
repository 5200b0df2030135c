//! The page's files, embedded in the binary: the HTML, the style sheet, and
//! the script as native ES modules (no build step: each file is served as it
//! is, and `main.js` imports the others from here).

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the page: (path, content type, text).
#[rustfmt::skip]
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("../assets/index.html")),
    ("/assets/app.css", CSS, include_str!("../assets/app.css")),
    ("/assets/js/main.js", JS, include_str!("../assets/js/main.js")),
    ("/assets/js/router.js", JS, include_str!("../assets/js/router.js")),
    ("/assets/js/dom.js", JS, include_str!("../assets/js/dom.js")),
    ("/assets/js/api.js", JS, include_str!("../assets/js/api.js")),
    ("/assets/js/runs.js", JS, include_str!("../assets/js/runs.js")),
    ("/assets/js/panel.js", JS, include_str!("../assets/js/panel.js")),
    ("/assets/js/sql.js", JS, include_str!("../assets/js/sql.js")),
    ("/assets/js/pages/overview.js", JS, include_str!("../assets/js/pages/overview.js")),
    ("/assets/js/pages/migration.js", JS, include_str!("../assets/js/pages/migration.js")),
    ("/assets/js/pages/run.js", JS, include_str!("../assets/js/pages/run.js")),
    ("/assets/js/pages/history.js", JS, include_str!("../assets/js/pages/history.js")),
    ("/assets/js/pages/schema.js", JS, include_str!("../assets/js/pages/schema.js")),
    ("/assets/js/pages/backups.js", JS, include_str!("../assets/js/pages/backups.js")),
    ("/assets/js/pages/durations.js", JS, include_str!("../assets/js/pages/durations.js")),
];

/// The file served at `path`: its content type and text.
pub fn find(path: &str) -> Option<(&'static str, &'static str)> {
    ASSETS
        .iter()
        .find(|(served, _, _)| *served == path)
        .map(|&(_, content_type, text)| (content_type, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The files under `dir`, as the paths they are served at.
    fn modules(dir: &Path, served: &str, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                modules(&path, &format!("{served}/{name}"), found);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((format!("{served}/{name}"), text));
            }
        }
    }

    /// `spec` (`./x.js`, `../x.js`) from the module served at `from`.
    fn resolve(from: &str, spec: &str) -> String {
        let mut parts: Vec<&str> = from.split('/').collect();
        parts.pop();
        for part in spec.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                _ => parts.push(part),
            }
        }
        parts.join("/")
    }

    #[test]
    fn every_module_and_everything_it_imports_is_served() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/js");
        let mut found = Vec::new();
        modules(&dir, "/assets/js", &mut found);
        let scripts = ASSETS.iter().filter(|(_, kind, _)| *kind == JS).count();
        assert_eq!(found.len(), scripts, "a file in assets/js is not served");
        for (served, text) in &found {
            assert_eq!(find(served), Some((JS, text.as_str())), "{served}");
            let imports = text.lines().filter_map(|line| {
                let from = line.strip_prefix("import ")?.split(" from '").nth(1)?;
                from.strip_suffix("';")
            });
            for spec in imports {
                let target = resolve(served, spec);
                assert!(find(&target).is_some(), "{served} imports {target}");
            }
        }
        assert!(find("/").is_some_and(|(_, page)| page.contains("/assets/js/main.js")));
        assert_eq!(find("/assets/app.js"), None);
    }
}
