//! What a migration file said when it was applied, from git: `_migrations`
//! keeps only its checksum, and git keeps its text. Lets `verify` tell a
//! changed file from a changed database, and `mark --checksum` tell a
//! cosmetic edit from a changed statement.

use std::path::Path;

use crate::migrate::source::checksum;
use crate::process::Cmd;

/// How many commits back to look.
const DEPTH: usize = 500;

/// The text `path` had in some commit, or in the index, whose checksum is
/// `wanted`; `None` when git has no such version (or there is no git).
pub fn text_with_checksum(path: &Path, wanted: &str) -> Option<String> {
    let dir = path.parent()?;
    let name = path.file_name()?.to_str()?;
    let git = |args: &[&str]| -> Option<String> {
        Cmd::new("git")
            .arg("-C")
            .arg(dir)
            .args(args.iter().copied())
            .read()
    };
    let commits = git(&[
        "log",
        &format!("--max-count={DEPTH}"),
        "--format=%H",
        "--",
        name,
    ])?;
    // The staged version first, then each commit that touched the file, newest first.
    std::iter::once(format!(":./{name}"))
        .chain(commits.lines().map(|commit| format!("{commit}:./{name}")))
        .find_map(|object| {
            let text = git(&["show", &object])?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned();
            (checksum(&text) == wanted).then_some(text)
        })
}

/// Whether two texts of a migration have the same statements, comments and
/// layout aside; on a difference, the first statement that differs (as the
/// newer text has it, or `None` when it has fewer statements).
pub fn same_statements(then: &str, now: &str) -> Result<(), Option<String>> {
    let statements = |text: &str| -> Vec<String> {
        crate::migrate::sql::split(text)
            .map(|s| {
                s.into_iter()
                    .map(|s| crate::migrate::sql::canonical(&s.sql))
                    .collect()
            })
            .unwrap_or_else(|_| vec![crate::migrate::sql::canonical(text)])
    };
    let (then, now) = (statements(then), statements(now));
    if then == now {
        return Ok(());
    }
    let differs = now
        .iter()
        .zip(&then)
        .position(|(a, b)| a != b)
        .unwrap_or(then.len().min(now.len()));
    Err(now.get(differs).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_layout_are_cosmetic_but_a_statement_is_not() {
        let then = "-- add a\nCREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n";
        let cosmetic = "-- Adds table a.\r\nCREATE TABLE a (\n  x INTEGER\n);\n\nINSERT INTO a VALUES (1); -- seed\n";
        assert_eq!(same_statements(then, cosmetic), Ok(()));
        let changed = "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (2);\n";
        assert_eq!(
            same_statements(then, changed),
            Err(Some("INSERT INTO a VALUES ( 2 )".to_owned()))
        );
        assert_eq!(
            same_statements(then, "CREATE TABLE a (x INTEGER);"),
            Err(None)
        );
    }

    #[test]
    fn finds_the_committed_text_by_its_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let said = Cmd::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(["-c", "commit.gpgsign=false"])
                .args(args.iter().copied())
                .read();
            assert!(said.is_some(), "git {args:?}");
        };
        run(&["init", "-q"]);
        let file = dir.path().join("0001_a.sql");
        std::fs::write(&file, "CREATE TABLE a (x);\n").unwrap();
        run(&["add", "."]);
        run(&["commit", "-q", "-m", "one"]);
        let applied = checksum("CREATE TABLE a (x);\n");
        std::fs::write(&file, "-- now with a comment\nCREATE TABLE a (x);\n").unwrap();
        run(&["commit", "-q", "-am", "two"]);
        assert_eq!(
            text_with_checksum(&file, &applied).as_deref(),
            Some("CREATE TABLE a (x);\n")
        );
        assert_eq!(text_with_checksum(&file, "0000"), None);
        assert_eq!(
            text_with_checksum(Path::new("/nonexistent/x.sql"), &applied),
            None
        );
    }
}
