//! Tidiness of the repository itself, checked on its files (no build, no
//! node): every source file says what it holds, the engine neither prints
//! nor knows the command line, the web UI and the tasks call the engine and
//! not the command line, no two modules of a crate (or of the engine, or of
//! its run) import each other in a circle, no source file is long, and every
//! link in the docs resolves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every file under `dir` ending in `ext`, `target` and `node_modules` left out.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | ".wrangler") {
                    stack.push(path);
                }
            } else if name.ends_with(ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The workspace's Rust sources.
fn sources() -> Vec<PathBuf> {
    let root = root();
    let mut all = files(&root.join("xtask"), ".rs");
    all.extend(files(&root.join("worker"), ".rs"));
    all
}

/// `text` without its unit tests (a trailing `#[cfg(test)] mod tests {…}`).
fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    }
}

#[test]
fn every_source_file_starts_by_saying_what_it_holds() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|path| !read(path).trim_start().starts_with("//!"))
        .map(|path| shown(&path))
        .collect();
    assert!(missing.is_empty(), "no `//!` at the top of: {missing:#?}");
}

#[test]
fn no_source_file_is_long() {
    const MOST: usize = 560;
    let long: Vec<String> = sources()
        .into_iter()
        .filter_map(|path| {
            let lines = read(&path).lines().count();
            (lines > MOST).then(|| format!("{} ({lines} lines)", shown(&path)))
        })
        .collect();
    assert!(long.is_empty(), "over {MOST} lines: {long:#?}");
}

#[test]
fn the_engine_prints_nothing_and_knows_no_command_line() {
    let engine = root().join("xtask/src/migrate");
    let forbidden = [
        "out!(",
        "println!(",
        "print!(",
        "eprintln!(",
        "eprint!(",
        "std::io::stdout",
        "std::io::stderr",
        "crate::flags",
        "crate::args",
        "crate::commands",
        "crate::jobs",
        "crate::output",
        "crate::tasks",
        "use clap",
    ];
    let mut found = Vec::new();
    for path in files(&engine, ".rs") {
        let name = path.file_name().unwrap().to_string_lossy();
        // Tests and the test stand-ins may print.
        if name == "tests.rs" || name == "fixture.rs" || name == "sqlite_stand_in.rs" {
            continue;
        }
        if path.components().any(|c| c.as_os_str() == "tests") {
            continue;
        }
        let text = read(&path);
        for (number, line) in without_tests(&text).lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in forbidden {
                if code.contains(word) {
                    found.push(format!("{}:{}: {}", shown(&path), number + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the engine prints or uses the command line: {found:#?}"
    );
}

#[test]
fn the_web_ui_and_the_tasks_call_the_engine_not_the_command_line() {
    let root = root();
    let mut found = Vec::new();
    for dir in ["xtask/ui/src", "xtask/src/tasks"] {
        for path in files(&root.join(dir), ".rs") {
            for (number, line) in read(&path).lines().enumerate() {
                if line.contains("flags::") || line.contains("commands::") {
                    found.push(format!("{}:{}: {}", shown(&path), number + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// The modules of `src` (its files and folders) and, for each, the other
/// modules of `src` its code names (`crate::NAME` with `prefix` `crate`,
/// `super::NAME` one level down), tests left out.
fn module_graph(src: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_string_lossy().into_owned();
            (p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
                .then_some(name)
                .filter(|n| !matches!(n.as_str(), "mod" | "lib" | "main" | "tests"))
        })
        .collect();
    let mut graph = BTreeMap::new();
    for module in &modules {
        let file = src.join(format!("{module}.rs"));
        let sources = match file.is_file() {
            true => vec![file],
            false => files(&src.join(module), ".rs"),
        };
        let mut uses = BTreeSet::new();
        for path in sources {
            let name = path.file_name().unwrap().to_string_lossy();
            if name == "tests.rs" || path.components().any(|c| c.as_os_str() == "tests") {
                continue;
            }
            let text = read(&path);
            for line in without_tests(&text).lines() {
                let code = line.split("//").next().unwrap_or_default();
                for other in &modules {
                    if other != module && code.contains(&format!("{prefix}::{other}")) {
                        uses.insert(other.clone());
                    }
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A cycle in `graph`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_circle_finder_finds_circles_and_only_those() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string());
            graph.entry(to.to_string()).or_default();
        }
        graph
    };
    assert_eq!(cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(
        cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn no_two_modules_import_each_other_in_a_circle() {
    let root = root();
    for (src, prefix) in [
        ("xtask/src", "crate"),
        ("xtask/ui/src", "crate"),
        ("xtask/cloudflare-double/src", "crate"),
        ("xtask/src/migrate", "crate::migrate"),
        ("xtask/src/migrate/run", "super"),
        ("worker/src", "crate"),
    ] {
        let graph = module_graph(&root.join(src), prefix);
        assert!(graph.len() > 2, "{src}: {graph:?}");
        if let Some(found) = cycle(&graph) {
            panic!(
                "{src}: the modules {} import each other in a circle",
                found.join(" → ")
            );
        }
    }
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation
/// other than `-` and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            found.insert(slug(line.trim_start_matches('#')));
        }
    }
    found
}

/// The targets of a Markdown file's inline links, outside code.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            found.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn every_link_in_the_readme_and_the_docs_resolves() {
    let root = root();
    let mut pages = vec![root.join("README.md")];
    pages.extend(files(&root.join("docs"), ".md"));
    assert!(pages.len() > 5, "the docs are in docs/: {pages:?}");
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = read(page);
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = match file.is_empty() {
                true => page.clone(),
                false => page.parent().unwrap().join(file),
            };
            if !target.exists() {
                broken.push(format!("{}: {link} (no such file)", shown(page)));
                continue;
            }
            let markdown = target.extension().is_some_and(|e| e == "md");
            if !anchor.is_empty() && markdown && !anchors(&read(&target)).contains(anchor) {
                broken.push(format!("{}: {link} (no such heading)", shown(page)));
            }
        }
    }
    assert!(checked > 20, "only {checked} links found");
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}
