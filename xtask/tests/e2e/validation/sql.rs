//! SQL that only looks dangerous (CRLF, BOM, `;` in strings, comments and
//! trigger bodies) is applied intact and recorded with stable checksums.

use super::*;

use serde_json::Value;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------
// Helpers

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
// ---------------------------------------------------------------------------
// 8. SQL that only looks dangerous

#[test]
fn crlf_bom_semicolons_in_strings_and_comments_and_triggers_apply_intact() {
    let p = Project::seed();
    let notes = "-- database: READ_REPLICA\n\
                 -- Notes; with semicolons in comments; and strings.\n\
                 CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n\
                 /* x; y */\n\
                 INSERT INTO notes (id, body) VALUES (1, 'a; b COMMIT; c'); -- note; more\n";
    let log = "-- database: READ_REPLICA\n\
               CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, note_id INTEGER NOT NULL);\n\
               /* every new note is logged; by a trigger */\n\
               CREATE TRIGGER IF NOT EXISTS trg_notes_log AFTER INSERT ON notes\n\
               BEGIN\n    \
                   INSERT INTO log (note_id) VALUES (NEW.id);\n\
               END;\n";
    let windows = |text: &str| format!("\u{feff}{}", text.replace('\n', "\r\n"));
    p.write("migrations/0007_notes.sql", windows(notes));
    p.write(
        "migrations/0007_notes.rollback.sql",
        windows("DROP TABLE IF EXISTS notes;\n"),
    );
    p.write("migrations/0008_notes_log.sql", windows(log));
    p.write(
        "migrations/0008_notes_log.rollback.sql",
        windows("DROP TRIGGER IF EXISTS trg_notes_log;\nDROP TABLE IF EXISTS log;\n"),
    );
    assert!(std::fs::read(p.path("migrations/0008_notes_log.sql"))
        .unwrap()
        .starts_with(b"\xef\xbb\xbf"));

    let check = p.migrate(&["check"]).ok();
    assert!(!check.stdout.contains(": error: "), "{}", check.stdout);
    assert!(check.stdout.contains("0 errors"), "{}", check.stdout);

    p.migrate(&["up"]).ok();

    let rows = p.query(
        "READ_REPLICA",
        "SELECT (SELECT body FROM notes WHERE id = 1) AS body, \
         (SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'trg_notes_log') AS triggers",
    );
    assert_eq!(rows[0]["body"], "a; b COMMIT; c");
    assert_eq!(rows[0]["triggers"], 1);
    let logged = p.query(
        "READ_REPLICA",
        "INSERT INTO notes (id, body) VALUES (2, 'second'); SELECT note_id FROM log ORDER BY id",
    );
    let logged: Vec<_> = logged.iter().map(|row| row["note_id"].clone()).collect();
    assert_eq!(
        logged,
        [Value::from(2)],
        "the trigger did not fire exactly once"
    );

    // Recorded checksums are of the text without BOM and with LF line ends.
    let recorded = p.query(
        "READ_REPLICA",
        "SELECT version, checksum FROM _migrations ORDER BY version",
    );
    let versions: Vec<_> = recorded
        .iter()
        .map(|r| r["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 3, 6, 7, 8]);
    assert_eq!(recorded[3]["checksum"], sha256_hex(notes));
    assert_eq!(recorded[4]["checksum"], sha256_hex(log));

    let status = p.migrate(&["status"]).ok();
    assert!(
        status.stdout.contains("✅ Applied - v7: 0007_notes"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("✅ Applied - v8: 0008_notes_log"),
        "{}",
        status.stdout
    );
    assert!(!status.stdout.contains("Modified"), "{}", status.stdout);

    let again = p.migrate(&["up"]).ok();
    assert!(
        again.stdout.contains("READ_REPLICA: nothing to apply"),
        "{}",
        again.all()
    );
    assert!(
        again.stdout.contains("AUTH: nothing to apply"),
        "{}",
        again.all()
    );
}
