//! FTS5: virtual tables and their shadow tables, rehearsed, backed up,
//! located and restored exactly, locally and by a remote bookmark.

use super::*;

const SEARCH: &str = "SEARCH";

/// The rowids `MATCH term` finds for each of `terms`, through the real
/// wrangler (one call, a statement per term).
fn matches(p: &Project, terms: &[&str], env: &[(&str, String)]) -> Vec<Vec<u64>> {
    let sql: Vec<String> = terms
        .iter()
        .map(|term| {
            format!("SELECT rowid FROM notes_fts WHERE notes_fts MATCH '{term}' ORDER BY rowid")
        })
        .collect();
    let target = if env.is_empty() {
        "--local"
    } else {
        "--remote"
    };
    let out = p.wrangler_with(
        &[
            "d1",
            "execute",
            SEARCH,
            target,
            "--json",
            "--command",
            &sql.join("; "),
        ],
        env,
    );
    let start = out.find('[').unwrap_or(0);
    let results: Value =
        serde_json::from_str(&out[start..]).unwrap_or_else(|e| panic!("{e}: {out}"));
    let found: Vec<Vec<u64>> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            result["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["rowid"].as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(found.len(), terms.len(), "{out}");
    found
}

const NONE: [u64; 0] = [];

/// Every note, as (id, title, body).
fn notes(p: &Project) -> Vec<(u64, String, String)> {
    p.query(SEARCH, "SELECT id, title, body FROM notes ORDER BY id")
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["title"].as_str().unwrap().to_owned(),
                r["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_fts5_database_is_rehearsed_backed_up_located_and_restored_exactly() {
    let p = Project::corpus("fts5");
    p.migrate(&["up", "1"]).ok();
    // A rehearsal rebuilds the schema with its virtual table (whose shadow
    // tables it makes itself) and runs the rest on it.
    let dry = p.migrate(&["up", "--dry-run"]).ok();
    assert!(dry.stdout.contains("rehearsal passed"), "{}", dry.all());
    assert!(notes(&p).is_empty());

    // `up` backs up first: SQLite's online backup, FTS index included.
    let run = p.migrate(&["up"]).ok();
    assert!(run.stdout.contains("backup: "), "{}", run.all());
    assert_eq!(
        matches(&p, &["basil", "lighthouse*", "sourdough"], &[]),
        [&[1, 4][..], &[3, 5], &NONE]
    );
    let reference = Project::corpus("fts5");
    wrangler_apply(&reference, SEARCH, &[]);
    assert_eq!(
        notes(&p),
        notes(&reference),
        "ours and wrangler's apply agree"
    );
    assert_eq!(matches(&reference, &["basil"], &[]), [[1, 4]]);
    p.migrate(&["verify"]).ok();

    // A failing migration on it is located by replaying on copies of the schema.
    p.write(
        "migrations/0004_archive.sql",
        "CREATE TABLE archive (id INTEGER PRIMARY KEY);\nINSERT INTO archive SELECT id FROM notes;\nUPDATE notes SET no_such_column = 1;\n",
    );
    let bad = p.migrate(&["up"]).fails();
    assert_line(&bad.stdout, &["0004_archive.sql:3", "no_such_column"]);
    assert!(!p.tables(SEARCH).contains(&"archive".to_owned()));
    p.remove("migrations/0004_archive.sql");

    // Backed up now, then emptied: the restore gives back rows and index.
    let backup = p.migrate(&["backup"]).ok();
    let file = backup
        .stdout
        .split_whitespace()
        .find(|w| w.ends_with(".sqlite"))
        .unwrap_or_else(|| panic!("no backup file named:\n{}", backup.all()))
        .to_owned();
    p.query(SEARCH, "DELETE FROM note_tags; DELETE FROM notes");
    assert_eq!(matches(&p, &["basil"], &[]), [NONE]);
    p.migrate(&["restore", &file, "--db", SEARCH, "--yes"]).ok();
    assert_eq!(notes(&p), notes(&reference));
    assert_eq!(matches(&p, &["basil", "rye"], &[]), [&[1, 4][..], &[1]]);
    let tags = p.query(SEARCH, "SELECT count(*) AS n FROM note_tags");
    assert_eq!(tags[0]["n"], 4);
    assert_all_applied(&p.migrate(&["status", "--json"]).ok());
}

#[test]
fn a_remote_fts5_database_is_backed_up_by_its_bookmark_and_restored_by_it() {
    let (_double, env) = cloud();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = Project::corpus("fts5");
    p.migrate_with(&["up", "--remote"], &env_refs).ok();
    assert_eq!(matches(&p, &["basil"], &env), [[1, 4]]);
    // Asked for an export, which `wrangler d1 export` refuses for it: the
    // backup is the bookmark alone, as by default.
    p.write(
        "migrations/0004_forget.sql",
        "DELETE FROM note_tags;\nDELETE FROM notes;\n",
    );
    let run = p
        .migrate_with(&["up", "--remote", "--backup", "export"], &env_refs)
        .ok();
    assert!(run.stderr.contains("virtual tables"), "{}", run.all());
    assert_line(
        &run.stdout,
        &["backup: ", ".bookmark", "Time Travel bookmark"],
    );
    assert_eq!(matches(&p, &["basil"], &env), [NONE]);
    let bookmark_file = std::fs::read_dir(p.path("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| path.to_string_lossy().contains("-v3.bookmark"))
        .unwrap_or_else(|| panic!("no bookmark of v3:\n{}", run.all()));
    p.migrate_with(
        &[
            "restore",
            bookmark_file.to_str().unwrap(),
            "--db",
            SEARCH,
            "--yes",
            "--remote",
        ],
        &env_refs,
    )
    .ok();
    assert_eq!(
        matches(&p, &["basil", "lighthouse*"], &env),
        [&[1, 4][..], &[3, 5]]
    );
}
