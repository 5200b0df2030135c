//! Runs through the API: they change the database, stream their events and
//! make history; and the pages' data (migrations, schema, backups, restore).

use super::*;

use std::path::PathBuf;

use serde_json::json;

#[test]
fn runs_from_the_api_change_the_database_stream_their_events_and_make_history() {
    let p = Project::seed();
    // Every batch wrangler runs (`--file`) takes 3 s more, so that a second
    // run asked for while one applies always finds it running.
    // A batch (`--file`) is held 3 s while the file `hold-batches` exists:
    // long enough for a second run to meet the first.
    let hold = p.path("hold-batches");
    let slow = p.wrapper(&format!(
        "case \"$*\" in *--file*) [ -e '{}' ] && sleep 3;; esac",
        hold.display()
    ));
    let ui = Ui::start(&p, &[], &[("MIGRATE_WRANGLER", slow.to_str().unwrap())]);

    let status = ui.get("/api/status").json();
    let cli: Value = serde_json::from_str(&p.migrate(&["status", "--json"]).ok().stdout).unwrap();
    assert_eq!(status, cli, "/api/status is `status --json`");

    // Bad requests say what is wrong, and run nothing.
    for (path, body, says) in [
        ("/api/down", json!({}), "needs `to`"),
        ("/api/up", json!({"to": 99}), "no migration 99"),
        ("/api/up", json!({"db": ["NOPE"]}), "NOPE"),
        ("/api/up", json!({"sql": "DROP TABLE x"}), "unknown field"),
    ] {
        let reply = ui.post(path, &body);
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(
            reply.json()["error"].as_str().unwrap().contains(says),
            "{}",
            reply.body
        );
    }

    // A rehearsal writes nothing and streams the plan and its report.
    let reply = ui.post("/api/rehearse", &json!({"to": 4, "db": ["AUTH"]}));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let events = ui.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|(_, d)| d["kind"].as_str().unwrap_or("?"))
        .collect();
    assert!(
        kinds.contains(&"planned") && kinds.contains(&"rehearsal"),
        "{kinds:?}"
    );
    let (name, done) = events.last().unwrap();
    assert_eq!(
        (name.as_str(), &done["ok"]),
        ("done", &json!(true)),
        "{events:?}"
    );
    assert_eq!(p.versions("AUTH"), Vec::<u64>::new());

    // Up to 4 on AUTH: applied, streamed, recorded.
    std::fs::write(&hold, "").unwrap();
    let reply = ui.post("/api/up", &json!({"to": 4, "db": ["AUTH"]}));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let busy = ui.post("/api/down", &json!({"to": 0}));
    assert_eq!(
        busy.status, 409,
        "a second run while one runs: {}",
        busy.body
    );
    std::fs::remove_file(&hold).unwrap();
    let events = ui.events();
    let (_, done) = events.last().unwrap();
    assert_eq!(done["ok"], true, "{events:?}");
    let applied: Vec<&Value> = events
        .iter()
        .filter(|(_, d)| d["kind"] == "migration_applied")
        .map(|(_, d)| &d["event"]["migration"]["version"])
        .collect();
    assert_eq!(applied, [&json!(2), &json!(4)]);
    assert_eq!(p.versions("AUTH"), [2, 4]);
    assert_eq!(p.versions("READ_REPLICA"), Vec::<u64>::new());
    let report = &done["report"];
    assert_eq!(report["outcome"], "succeeded");
    assert!(report["command"]
        .as_str()
        .unwrap()
        .contains("(from the web UI)"));

    // A failing migration: the stream ends with the failure, where it broke.
    p.write(
        "migrations/0007_notes.sql",
        "-- database: AUTH\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\nINSERT INTO missing_table VALUES (1);\n",
    );
    assert_eq!(ui.post("/api/up", &json!({"db": ["AUTH"]})).status, 202);
    let events = ui.events();
    let (_, done) = events.last().unwrap();
    assert_eq!(done["ok"], false);
    assert_eq!(done["report"], Value::Null);
    let failed = events
        .iter()
        .find(|(_, d)| d["kind"] == "failed")
        .expect("a failed event");
    assert_eq!(failed.1["event"]["at"]["line"], 3, "{failed:?}");
    assert_eq!(p.versions("AUTH"), [2, 4]);

    // The history has both runs, newest first, failure included.
    let runs = ui.get("/api/history").json()["runs"]
        .as_array()
        .unwrap()
        .clone();
    let outcomes: Vec<&str> = runs
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(&outcomes[..2], ["failed", "succeeded"], "{runs:?}");
    let failure = &runs[0]["databases"][0]["failure"];
    assert_eq!(failure["line"], 3);
    // What to run next: the command once, its flags once, this project's.
    let next = runs[0]["databases"][0]["next"][0]["command"]
        .as_str()
        .unwrap();
    assert!(next.starts_with("cargo migrate up --"), "{next}");
    assert_eq!(next.matches("--db AUTH").count(), 1, "{next}");
    assert!(
        next.contains(&format!("--config {}", p.config_path().display())),
        "{next}"
    );
    assert!(
        runs[0]["command"].as_str().unwrap().contains("--db AUTH"),
        "{runs:?}"
    );
    assert!(runs[0]["host"].is_string() && runs[0].get("user").is_some());

    // A migration's page: its SQL, rollback, lint, checksums and what it changes.
    let page = ui.get("/api/migration?db=AUTH&version=4").json();
    assert_eq!(page["state"], "applied");
    assert!(page["sql"]
        .as_str()
        .unwrap()
        .contains("CREATE TABLE IF NOT EXISTS rooms"));
    assert!(page["rollback_sql"]
        .as_str()
        .unwrap()
        .contains("DROP TABLE"));
    assert_eq!(page["checksum_file"], page["checksum_recorded"]);
    assert_eq!(page["changes"]["tables_added"], json!(["rooms"]));
    assert_eq!(
        page["changes"]["indexes_added"],
        json!(["idx_rooms_owner_user_id"])
    );

    // The schema: tables and foreign keys, and verify's report.
    p.migrate(&["up", "5"]).ok();
    p.remove("migrations/0007_notes.sql");
    let schema = ui.get("/api/schema?db=AUTH").json();
    let permissions = schema["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "room_permissions")
        .unwrap();
    assert_eq!(
        permissions["foreign_keys"][0],
        json!({"from": "room_id", "table": "rooms", "to": "id", "on_delete": "CASCADE"})
    );
    assert_eq!(schema["drift"]["ok"], true, "{schema}");
    // A table made by hand: the drift, in words and typed.
    p.query("AUTH", "CREATE TABLE made_by_hand (x INTEGER)");
    let drift = ui.get("/api/schema?db=AUTH").json()["drift"].clone();
    assert_eq!(drift["ok"], false, "{drift}");
    assert!(
        drift["lines"].to_string().contains("made_by_hand"),
        "{drift}"
    );
    assert_eq!(drift["failures"][0]["kind"], "schema_drift", "{drift}");
    assert_eq!(drift["failures"][0]["binding"], "AUTH", "{drift}");
    p.query("AUTH", "DROP TABLE made_by_hand");

    // Backups, and a restore through restore's checks: a backup of another
    // database is refused; AUTH's own first backup puts it back at v0.
    let backups = ui.get("/api/backups").json()["backups"]
        .as_array()
        .unwrap()
        .clone();
    let of = |binding: &str| -> Vec<PathBuf> {
        backups
            .iter()
            .filter(|b| b["binding"] == binding)
            .map(|b| PathBuf::from(b["file"].as_str().unwrap()))
            .collect()
    };
    let auth = of("AUTH");
    assert!(!auth.is_empty(), "{backups:?}");
    let reply = ui.post(
        "/api/restore",
        &json!({"file": "/etc/passwd", "db": "AUTH"}),
    );
    assert_eq!(reply.status, 400, "only a listed backup: {}", reply.body);
    let first = auth.last().unwrap();
    let reply = ui.post("/api/restore", &json!({"file": first, "db": "AUTH"}));
    assert_eq!(reply.status, 202, "{}", reply.body);
    let events = ui.events();
    assert_eq!(events.last().unwrap().1["ok"], true, "{events:?}");
    assert_eq!(p.versions("AUTH"), Vec::<u64>::new());
    assert_eq!(ui.stop(), Some(0));
}
