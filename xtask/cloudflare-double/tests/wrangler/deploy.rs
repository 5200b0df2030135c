//! `wrangler deploy`, recorded by the double (through an injected failure).

use super::*;

use cloudflare_double::Fault;

#[test]
fn deploy_is_recorded() {
    let p = Project::new(|o| o.fail.push(Fault::parse_fail("deploy:1").expect("fault")));
    let run = p.wrangler(&["deploy"]);
    run.assert_ok("deploy");
    assert!(run.all().contains("double-test-worker"), "{}", run.all());
    // wrangler retries a failed upload (up to 3 attempts), so the injected 500 is absorbed.
    assert_eq!(statuses(&p.double, "deploy"), vec![500, 200]);

    let (status, body) = http(&p.double, "GET", "/__double/deploys", &[]);
    assert_eq!(status, 200);
    let deploys: Value = serde_json::from_str(&body).expect("json");
    let deploys = deploys.as_array().expect("an array");
    assert_eq!(deploys.len(), 1);
    let d = &deploys[0];
    assert_eq!(d["script_name"], "double-test-worker");
    assert_eq!(d["metadata"]["main_module"], "index.js");
    let bindings = d["metadata"]["bindings"].as_array().expect("bindings");
    assert!(
        bindings
            .iter()
            .any(|b| b["type"] == "d1" && b["name"] == "DB" && b["id"] == DB_ID),
        "no D1 binding in {bindings:?}"
    );
    assert_eq!(d["files"], serde_json::json!(["index.js"]));
    let dir = p.double.data_dir().join("deploys/1");
    let metadata: Value =
        serde_json::from_slice(&std::fs::read(dir.join("metadata.json")).expect("metadata.json"))
            .expect("json");
    assert_eq!(metadata, d["metadata"]);
    let script = std::fs::read_to_string(dir.join("files/index.js")).expect("files/index.js");
    assert!(script.contains("hello"), "{script}");

    // A second deploy of the same worker goes through the versions API; it is recorded too.
    p.wrangler(&["deploy"]).assert_ok("second deploy");
    assert_eq!(p.double.deploys().len(), 2);
}
