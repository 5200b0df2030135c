//! Tests of the HTTP surface through [`App::handle`]: authentication, malformed requests, the
//! import flow and the query shape.

use std::path::Path;

use super::*;
use crate::util::md5_hex;

fn app(dir: &Path) -> App {
    let store = Store::open(dir.join("d1")).expect("store");
    App::new(
        "secret".into(),
        "http://127.0.0.1:1".into(),
        dir.to_path_buf(),
        store,
        Faults::default(),
        false,
        None,
    )
}

fn req(method: &str, url: &str, body: &str) -> Req {
    Req {
        method: method.into(),
        url: url.into(),
        headers: vec![("Authorization".into(), "Bearer secret".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn body(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).expect("json body")
}

#[test]
fn auth_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(dir.path());
    let mut r = req("GET", "/client/v4/accounts/a/d1/database", "");
    r.headers.clear();
    assert_eq!(app.handle(&r).0.status, 401);
    r.headers
        .push(("authorization".into(), "Bearer wrong".into()));
    let (reply, _) = app.handle(&r);
    assert_eq!(reply.status, 403);
    assert_eq!(body(&reply)["errors"][0]["code"], 10000);
    assert_eq!(
        app.handle(&req("GET", "/client/v4/accounts/a/d1/database", ""))
            .0
            .status,
        200
    );
}

#[test]
fn bad_requests_are_400_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(dir.path());
    for (m, url, b) in [
        (
            "POST",
            "/client/v4/accounts/a/d1/database/x/query",
            "not json",
        ),
        ("POST", "/client/v4/accounts/a/d1/database/x/query", "{}"),
        (
            "POST",
            "/client/v4/accounts/a/d1/database/x/query",
            r#"{"sql":"SELECT ?","params":[{}]}"#,
        ),
        (
            "POST",
            "/client/v4/accounts/a/d1/database/..%2Fetc/query",
            r#"{"sql":"SELECT 1"}"#,
        ),
        (
            "POST",
            "/client/v4/accounts/a/d1/database/x/import",
            r#"{"action":"ingest"}"#,
        ),
        ("PUT", "/client/v4/accounts/a/workers/scripts/w", "garbage"),
        (
            "GET",
            "/client/v4/accounts/a/d1/database/x/time_travel/bookmark?timestamp=soon",
            "",
        ),
    ] {
        let (reply, _) = app.handle(&req(m, url, b));
        assert_eq!(
            reply.status,
            400,
            "{m} {url} {b}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(body(&reply)["success"], false);
    }
    assert_eq!(
        app.handle(&req("GET", "/client/v4/nothing/here", ""))
            .0
            .status,
        404
    );
}

/// init → upload → ingest → poll, as wrangler does it; returns the poll's result.
fn import(app: &App, sql: &str) -> Value {
    let etag = md5_hex(sql.as_bytes());
    let url = "/client/v4/accounts/a/d1/database/db1/import";
    let init = body(
        &app.handle(&req(
            "POST",
            url,
            &format!(r#"{{"action":"init","etag":"{etag}"}}"#),
        ))
        .0,
    );
    let upload_url = init["result"]["upload_url"].as_str().expect("upload_url");
    let path = upload_url
        .strip_prefix("http://127.0.0.1:1")
        .expect("points back at the double");
    let put = app
        .handle(&Req {
            method: "PUT".into(),
            url: path.into(),
            headers: vec![],
            body: sql.into(),
        })
        .0;
    assert_eq!(put.status, 200);
    assert!(put
        .headers
        .iter()
        .any(|(k, v)| k == "ETag" && v == &format!("\"{etag}\"")));
    let filename = init["result"]["filename"].as_str().expect("filename");
    let ingest = body(
        &app.handle(&req(
            "POST",
            url,
            &format!(r#"{{"action":"ingest","filename":"{filename}","etag":"{etag}"}}"#),
        ))
        .0,
    );
    assert_eq!(ingest["result"]["status"], "active");
    let at = ingest["result"]["at_bookmark"]
        .as_str()
        .expect("at_bookmark");
    body(
        &app.handle(&req(
            "POST",
            url,
            &format!(r#"{{"action":"poll","current_bookmark":"{at}"}}"#),
        ))
        .0,
    )["result"]
        .clone()
}

#[test]
fn import_flow_runs_each_ingested_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(dir.path());
    let done = import(&app, "CREATE TABLE t(a);\nINSERT INTO t VALUES (1);");
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["result"]["num_queries"], 2);
    let failed = import(
        &app,
        "INSERT INTO t VALUES (2);\nINSERT INTO nope VALUES (3);",
    );
    assert_eq!(failed["status"], "error");
    assert_eq!(failed["error"], "no such table: nope: SQLITE_ERROR");
    // A new import at the same bookmark runs; it does not get the failed one's answer.
    let fixed = import(&app, "INSERT INTO t VALUES (2);");
    assert_eq!(fixed["status"], "complete", "{fixed}");
    let (reply, _) = app.handle(&req(
        "POST",
        "/client/v4/accounts/a/d1/database/db1/query",
        r#"{"sql":"SELECT count(*) AS n FROM t"}"#,
    ));
    assert_eq!(body(&reply)["result"][0]["results"], json!([{ "n": 2 }]));
}

#[test]
fn query_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(dir.path());
    let (reply, kind) = app.handle(&req(
        "POST",
        "/client/v4/accounts/a/d1/database/db1/query",
        r#"{"sql":"CREATE TABLE t(a); INSERT INTO t VALUES (1); SELECT a FROM t"}"#,
    ));
    assert_eq!(kind, "query");
    let v = body(&reply);
    assert_eq!(v["success"], true);
    assert_eq!(v["result"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["result"][2]["results"], json!([{ "a": 1 }]));
    assert_eq!(v["result"][1]["meta"]["changes"], 1);
    let (reply, _) = app.handle(&req(
        "POST",
        "/client/v4/accounts/a/d1/database/db1/query",
        r#"{"sql":"SELECT * FROM nope"}"#,
    ));
    assert_eq!(reply.status, 400);
    assert_eq!(
        body(&reply)["errors"][0],
        json!({ "code": 7500, "message": "no such table: nope: SQLITE_ERROR" })
    );
}
