//! Time Travel (bookmarks and timestamps), and `d1 list` and `d1 info`.

use super::*;

use cloudflare_double::{Fault, NamedDatabase};

#[test]
fn time_travel_restores_bookmarks_and_timestamps() {
    let p = Project::new(|_| {});
    p.execute("CREATE TABLE t(a); INSERT INTO t VALUES (1)")
        .assert_ok("seed");
    let first = p.bookmark();
    std::thread::sleep(Duration::from_millis(50));
    let between = cloudflare_double::util::iso8601(cloudflare_double::util::now_ms());
    std::thread::sleep(Duration::from_millis(50));
    p.execute("INSERT INTO t VALUES (2); UPDATE t SET a = a * 10")
        .assert_ok("change");
    let changed = p.bookmark();
    assert_ne!(first, changed);
    assert_eq!(
        p.rows("SELECT a FROM t ORDER BY a"),
        vec![
            serde_json::json!({ "a": 10 }),
            serde_json::json!({ "a": 20 })
        ]
    );

    let run = p.wrangler(&[
        "d1",
        "time-travel",
        "restore",
        "DB",
        "--bookmark",
        &first,
        "--json",
    ]);
    run.assert_ok("restore --bookmark");
    let json = run.json();
    assert_eq!(json["bookmark"], first.as_str());
    assert_eq!(json["previous_bookmark"], changed.as_str());
    assert_eq!(
        p.rows("SELECT a FROM t ORDER BY a"),
        vec![serde_json::json!({ "a": 1 })]
    );

    // Undo with the previous bookmark, then go back by timestamp.
    p.wrangler(&[
        "d1",
        "time-travel",
        "restore",
        "DB",
        "--bookmark",
        &changed,
        "--json",
    ])
    .assert_ok("undo");
    assert_eq!(
        p.rows("SELECT count(*) AS n FROM t"),
        vec![serde_json::json!({ "n": 2 })]
    );
    let run = p.wrangler(&[
        "d1",
        "time-travel",
        "info",
        "DB",
        "--timestamp",
        &between,
        "--json",
    ]);
    run.assert_ok("info --timestamp");
    assert_eq!(run.json()["bookmark"], first.as_str());
    p.wrangler(&[
        "d1",
        "time-travel",
        "restore",
        "DB",
        "--timestamp",
        &between,
        "--json",
    ])
    .assert_ok("restore --timestamp");
    assert_eq!(
        p.rows("SELECT a FROM t ORDER BY a"),
        vec![serde_json::json!({ "a": 1 })]
    );

    let run = p.wrangler(&[
        "d1",
        "time-travel",
        "restore",
        "DB",
        "--bookmark",
        "00000000-nope",
        "--json",
    ]);
    assert!(!run.ok(), "an unknown bookmark is an error:\n{}", run.all());
}

#[test]
fn list_and_info_know_the_databases() {
    const OTHER_ID: &str = "0b7e6a59-3c2d-4f1e-9a8b-7c6d5e4f3a2b";
    let p = Project::new(|o| {
        o.databases.push(NamedDatabase {
            name: "db".into(),
            id: DB_ID.into(),
        });
        o.databases.push(NamedDatabase {
            name: "other".into(),
            id: OTHER_ID.into(),
        });
        o.delay
            .push(Fault::parse_delay("list:1:1200").expect("fault"));
    });
    let run = p.wrangler(&["d1", "list", "--json"]);
    run.assert_ok("d1 list");
    assert!(
        run.elapsed >= Duration::from_millis(1200),
        "--delay list:1:1200 should slow the first list"
    );
    let list = run.json();
    let names: Vec<(&str, &str)> = list
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap_or(""),
                d["uuid"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(names, vec![("db", DB_ID), ("other", OTHER_ID)]);

    p.execute("CREATE TABLE a(x); CREATE TABLE b(y)")
        .assert_ok("tables");
    let run = p.wrangler(&["d1", "info", "DB", "--json"]);
    run.assert_ok("d1 info");
    let info = run.json();
    assert_eq!(info["uuid"], DB_ID);
    assert_eq!(info["name"], "db");
    assert_eq!(info["num_tables"], 2);
    assert!(info["database_size"].as_u64().unwrap_or(0) > 0, "{info}");

    // A name that is not in wrangler.toml is looked up through the list endpoint.
    p.wrangler(&[
        "d1",
        "execute",
        "other",
        "--remote",
        "--json",
        "--command",
        "CREATE TABLE o(z)",
    ])
    .assert_ok("by name");
    let run = p.wrangler(&["d1", "info", "other", "--json"]);
    run.assert_ok("d1 info other");
    assert_eq!(run.json()["uuid"], OTHER_ID);
    assert_eq!(run.json()["num_tables"], 1);
}
