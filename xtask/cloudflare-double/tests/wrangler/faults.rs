//! Authentication errors, and injected faults and delays.

use super::*;

use cloudflare_double::Fault;

#[test]
fn wrong_or_missing_token_is_an_authentication_error() {
    let p = Project::new(|_| {});
    let wrong = "wrong-token-0123456789";
    let run = p.wrangler_with(
        &["d1", "execute", "DB", "--remote", "--command", "SELECT 1"],
        &[("CLOUDFLARE_API_TOKEN", wrong)],
    );
    assert!(!run.ok());
    assert!(run.all().contains("Authentication error"), "{}", run.all());
    assert!(
        !run.all().contains(wrong) && !run.all().contains(TOKEN),
        "the token leaked:\n{}",
        run.all()
    );
    assert_eq!(statuses(&p.double, "auth").first(), Some(&403));

    // Global-key credentials send no bearer token at all: 401.
    let run = p.wrangler_with(
        &["d1", "execute", "DB", "--remote", "--command", "SELECT 1"],
        &[
            ("CLOUDFLARE_API_KEY", "global-key-0123456789"),
            ("CLOUDFLARE_EMAIL", "someone@example.com"),
        ],
    );
    assert!(!run.ok());
    assert!(run.all().contains("Authentication error"), "{}", run.all());
    assert!(!run.all().contains("global-key-0123456789"));
    assert!(p.double.requests().iter().any(|r| r.status == 401));

    // No credentials: wrangler refuses before it sends anything.
    let seen = p.double.requests().len();
    let run = p.wrangler_with(
        &["d1", "execute", "DB", "--remote", "--command", "SELECT 1"],
        &[],
    );
    assert!(!run.ok());
    assert!(run.all().contains("CLOUDFLARE_API_TOKEN"), "{}", run.all());
    assert_eq!(p.double.requests().len(), seen);

    // The raw shapes.
    let (status, body) = http(&p.double, "GET", "/client/v4/accounts/x/d1/database", &[]);
    assert_eq!(status, 401);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null})
    );
    let (status, _) = http(
        &p.double,
        "GET",
        "/client/v4/accounts/x/d1/database",
        &[("Authorization", "Bearer nope")],
    );
    assert_eq!(status, 403);
    // The right token passes.
    p.execute("SELECT 1").assert_ok("right token");
}

#[test]
fn injected_500_fails_the_first_query_and_the_next_succeeds() {
    let p = Project::new(|o| {
        o.fail.push(Fault::parse_fail("query:1").expect("fault"));
        o.delay
            .push(Fault::parse_delay("query:2:1000").expect("fault"));
    });
    let run = p.execute("CREATE TABLE t(a)");
    assert!(!run.ok(), "the first query gets a 500:\n{}", run.all());
    assert!(
        run.all().contains("injected fault: query #1"),
        "{}",
        run.all()
    );
    assert_eq!(
        statuses(&p.double, "query"),
        vec![500],
        "wrangler does not retry D1 queries"
    );
    let run = p.execute("CREATE TABLE t(a)");
    run.assert_ok("second query");
    assert!(
        run.elapsed >= Duration::from_millis(1000),
        "--delay query:2:1000 slows the second query"
    );
    assert_eq!(statuses(&p.double, "query"), vec![500, 200]);
}
