//! The server's security rules over real HTTP: 127.0.0.1 only, the token,
//! the Host and the Origin.

use super::*;

use serde_json::json;

#[test]
fn the_server_listens_on_127_0_0_1_only_and_wants_the_token_host_and_origin() {
    let p = Project::seed();
    let ui = Ui::start(&p, &[], &[]);
    let port = ui.port;

    // Only the loopback address it printed: another loopback address of
    // this machine is refused.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(
        std::net::TcpStream::connect(("127.0.0.2", port)).is_err(),
        "it listens beyond 127.0.0.1"
    );

    // No token, a wrong one, a wrong cookie: 401, for pages and the API.
    for path in ["/", "/api/status", "/api/history", "/assets/js/main.js"] {
        assert_eq!(http_get(port, path, &[]).unwrap().status, 401, "{path}");
    }
    let wrong = [
        ("Authorization", "Bearer 00000000000000000000000000000000"),
        ("Cookie", "migrate_ui=00000000000000000000000000000000"),
    ];
    for header in wrong {
        assert_eq!(
            http_get(port, "/api/status", &[header]).unwrap().status,
            401
        );
    }
    assert_eq!(
        http_get(port, "/?token=0123", &[]).unwrap().status,
        401,
        "a wrong token in the link"
    );

    // The printed link sets an HttpOnly, SameSite=Strict cookie and sends the
    // page to the address without the token; the cookie then opens the page.
    let link = send("GET", port, &ui.url[ui.url.find("/?").unwrap()..], &[], "");
    assert_eq!(link.status, 303);
    assert_eq!(link.header("location"), Some("/"));
    let cookie = link.header("set-cookie").unwrap().to_owned();
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        &format!("migrate_ui={}", ui.token),
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap();
    let page = http_get(port, "/", &[("Cookie", pair)]).unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script"), "{}", page.body);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    let info = http_get(port, "/api/info", &[("Cookie", pair)]).unwrap();
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.json()["target"], "local");

    // A foreign Host (DNS rebinding) is refused even with the token;
    // localhost:PORT is this server too.
    let bearer = ui.bearer();
    let auth = ("Authorization", bearer.as_str());
    let evil = format!("evil.example:{port}");
    let reply = http_get(port, "/api/status", &[auth, ("Host", &evil)]).unwrap();
    assert_eq!(reply.status, 403, "{}", reply.body);
    let localhost = format!("localhost:{port}");
    let reply = http_get(port, "/api/info", &[auth, ("Host", &localhost)]).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);

    // What changes state: POST with the token and this server's Origin only.
    let origin = ui.origin();
    let body = json!({}).to_string();
    for (method, headers, why) in [
        ("GET", vec![auth], "a GET that would run migrations"),
        ("PUT", vec![auth, ("Origin", origin.as_str())], "a PUT"),
        ("POST", vec![auth], "a POST without Origin"),
        (
            "POST",
            vec![auth, ("Origin", "http://evil.example")],
            "a cross-origin POST",
        ),
        (
            "POST",
            vec![auth, ("Origin", "http://127.0.0.1:1")],
            "another port's page",
        ),
    ] {
        for path in ["/api/up", "/api/down", "/api/rehearse", "/api/restore"] {
            let reply = send(method, port, path, &headers, &body);
            assert_eq!(reply.status, 403, "{why} to {path}: {}", reply.body);
        }
    }
    let reply = send("POST", port, "/api/up", &[("Origin", &origin)], &body);
    assert_eq!(reply.status, 401, "a POST without the token");

    // None of it ran anything: no database was created or written.
    for binding in ["AUTH", "READ_REPLICA"] {
        assert!(!p.db_file(binding).exists(), "{binding} was touched");
    }
    assert_eq!(ui.stop(), Some(0), "Ctrl-C stops it cleanly");
}
