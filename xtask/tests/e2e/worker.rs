//! End to end: `cargo xtask build-worker` builds the Rust worker to wasm, and
//! the real `wrangler dev` serves it against local D1 that the real xtask
//! migrates.
//!
//! The first run installs the wasm build tools into `target/tools` (a few
//! minutes); later runs reuse them and cargo's incremental wasm build.

use std::process::Command;
use std::time::Instant;

use crate::common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `cargo xtask build-worker`, from the workspace root; returns the entry module.
fn build_worker() -> std::path::PathBuf {
    require_worker_tools();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("build-worker")
        .current_dir(root())
        .env_remove("RUST_LOG")
        .env_remove("MIGRATE_LOG_FORMAT")
        .env_remove("MIGRATE_WRANGLER")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "build-worker failed:\n{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        stderr.contains("expects: READ_REPLICA=6,AUTH=5"),
        "build-worker did not pass the migrations' versions:\n{stderr}"
    );
    eprintln!("build-worker took {:.1} s", started.elapsed().as_secs_f64());
    let entry = root().join("worker/build/index.js");
    assert!(entry.is_file(), "{} was not built", entry.display());
    assert!(root().join("worker/build/index_bg.wasm").is_file());
    entry
}

fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `GET PATH`, with `Authorization: Bearer KEY` when there is a key.
fn get(dev: &Dev, path: &str, key: Option<&str>) -> HttpReply {
    let authorization = key.map(|key| format!("Bearer {key}"));
    let headers: Vec<(&str, &str)> = authorization
        .iter()
        .map(|value| ("Authorization", value.as_str()))
        .collect();
    dev.get(path, &headers)
}

fn database<'a>(health: &'a Value, binding: &str) -> &'a Value {
    health["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|db| db["binding"] == binding)
        .unwrap_or_else(|| panic!("no {binding} in {health}"))
}

fn task_ids(reply: &HttpReply) -> Vec<String> {
    reply.json()["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks in {}", reply.body))
        .iter()
        .map(|task| task["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_built_worker_serves_health_tasks_and_rooms_from_local_d1() {
    let entry = build_worker();
    assert!(root().join("worker/build/worker/shim.mjs").is_file());

    let project = Project::seed();
    let config = project.use_built_worker(&entry);
    let dev = wrangler_dev(&config, 90);

    // Nothing migrated yet: both databases are behind what the build expects.
    let health = dev.get("/health", &[]);
    assert_eq!(health.status, 503, "{}", health.body);
    let body = health.json();
    assert_eq!(body["status"], "behind");
    assert_eq!(
        database(&body, "READ_REPLICA"),
        &json!({"binding": "READ_REPLICA", "version": 0, "expected": 6, "current": false})
    );
    assert_eq!(
        database(&body, "AUTH"),
        &json!({"binding": "AUTH", "version": 0, "expected": 5, "current": false})
    );

    // The real xtask on the same config: the running worker sees the new schema.
    project.migrate(&["up", "--no-backup"]).ok();
    let health = dev.get("/health", &[]);
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(
        health
            .header("content-type")
            .map(|v| v.starts_with("application/json")),
        Some(true)
    );
    let body = health.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(
        database(&body, "READ_REPLICA"),
        &json!({"binding": "READ_REPLICA", "version": 6, "expected": 6, "current": true})
    );
    assert_eq!(
        database(&body, "AUTH"),
        &json!({"binding": "AUTH", "version": 5, "expected": 5, "current": true})
    );

    // Without a key, or with one AUTH does not know: 401.
    let anonymous = get(&dev, "/tasks", None);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    assert_eq!(get(&dev, "/tasks", Some("not-a-key")).status, 401);

    // A live key for u1, a revoked one for u2; rooms and permissions; tasks.
    project.query(
        "AUTH",
        &format!(
            "INSERT INTO api_keys (id, key_hash, name, user_id) VALUES ('k1', '{}', 'test', 'u1'); \
             INSERT INTO api_keys (id, key_hash, name, user_id, revoked_at) VALUES ('k2', '{}', 'old', 'u2', 1); \
             INSERT INTO rooms (id, name, owner_user_id) VALUES ('r1', 'Room one', 'u9'), ('r2', 'Room two', 'u9'); \
             INSERT INTO room_permissions (room_id, user_id, role) VALUES ('r1', 'u1', 'editor'), ('r2', 'u2', 'viewer');",
            hash("key-of-u1"),
            hash("key-of-u2"),
        ),
    );
    project.query(
        "READ_REPLICA",
        "INSERT INTO tasks (id, title, status, priority, created_at, user_id) VALUES \
         ('t1', 'First', 'open', 1, 1000, 'u1'), \
         ('t2', 'Second', 'done', 2, 2000, 'u1'), \
         ('t3', 'Someone else''s', 'open', 3, 3000, 'u2'), \
         ('t4', 'Nobody''s', 'open', 0, 4000, NULL)",
    );

    let tasks = get(&dev, "/tasks", Some("key-of-u1"));
    assert_eq!(tasks.status, 200, "{}", tasks.body);
    assert_eq!(tasks.json()["user_id"], "u1");
    assert_eq!(task_ids(&tasks), ["t1", "t2"]);
    let first = &tasks.json()["tasks"][0];
    assert_eq!(first["title"], "First");
    assert_eq!(first["status"], "open");
    assert_eq!(first["priority"], 1);
    assert_eq!(first["created_at"], 1000);

    let done = get(&dev, "/tasks?status=done", Some("key-of-u1"));
    assert_eq!(task_ids(&done), ["t2"]);

    // u2's key is revoked.
    assert_eq!(get(&dev, "/tasks", Some("key-of-u2")).status, 401);

    // Rooms: the role, no permission, no room.
    let access = get(&dev, "/rooms/r1/access", Some("key-of-u1"));
    assert_eq!(access.status, 200, "{}", access.body);
    assert_eq!(access.json(), json!({"room_id": "r1", "role": "editor"}));
    assert_eq!(get(&dev, "/rooms/r2/access", Some("key-of-u1")).status, 403);
    assert_eq!(
        get(&dev, "/rooms/nope/access", Some("key-of-u1")).status,
        404
    );
    assert_eq!(get(&dev, "/rooms/r1/access", None).status, 401);

    // Routing: unknown paths and other methods.
    assert_eq!(dev.get("/nope", &[]).status, 404);
}
