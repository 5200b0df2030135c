//! The remote target, on the Cloudflare API double: the overview, and
//! applying only when confirmed by the database's name.

use super::*;

use serde_json::json;

#[test]
fn the_remote_target_shows_the_overview_and_applies_only_when_confirmed_by_name() {
    const TOKEN: &str = "ui-remote-token-5e2d9a";
    let p = Project::seed();
    let (double, env) = api_double(TOKEN);
    let ui = Ui::start(&p, &["--remote"], &borrowed(&env));
    let info = ui.get("/api/info").json();
    assert_eq!(info["target"], "remote");
    let status = ui.get("/api/status");
    assert_eq!(status.status, 200, "{}", status.body);
    let status = status.json();
    let states: Vec<&str> = status["databases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|db| db["migrations"].as_array().unwrap())
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending"; 6]);

    // Not confirmed, or confirmed with the binding instead of the name: refused.
    for confirm in [json!([]), json!(["AUTH"])] {
        let reply = ui.post("/api/up", &json!({"db": ["AUTH"], "confirm": confirm}));
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains("nanotype-auth"), "{}", reply.body);
    }
    let reply = ui.post(
        "/api/up",
        &json!({"db": ["AUTH"], "confirm": ["nanotype-auth"]}),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let events = ui.events();
    assert_eq!(events.last().unwrap().1["ok"], true, "{events:?}");
    assert_eq!(remote_versions(&p, &double, "AUTH"), [2, 4, 5]);
    assert_eq!(
        remote_versions(&p, &double, "READ_REPLICA"),
        Vec::<u64>::new()
    );

    // No secret reaches the page.
    for path in ["/api/info", "/api/status", "/api/history", "/api/backups"] {
        assert!(
            !ui.get(path).body.contains(TOKEN),
            "{path} shows the API token"
        );
    }
    assert!(!events.iter().any(|(_, d)| d.to_string().contains(TOKEN)));
    assert_eq!(ui.stop(), Some(0));
}
