//! Account and user look-ups (`/memberships`, `/accounts`, `/user`, token verification): fixed
//! answers for the double's one account.

use serde_json::json;

use super::http::{ok, ok_list, Reply};

/// The account every account listing shows (any account id is accepted in paths).
pub const ACCOUNT_ID: &str = "0123456789abcdef0123456789abcdef";

/// `GET /memberships`.
pub(super) fn memberships() -> Reply {
    ok_list(
        &[json!({
            "id": "double-membership",
            "status": "accepted",
            "account": { "id": ACCOUNT_ID, "name": "Cloudflare Double" },
            "roles": ["Administrator"],
        })],
        json!({ "page": 1, "per_page": 20, "count": 1, "total_count": 1 }),
    )
}

/// `GET /accounts`.
pub(super) fn accounts() -> Reply {
    ok_list(
        &[json!({ "id": ACCOUNT_ID, "name": "Cloudflare Double" })],
        json!({ "page": 1, "per_page": 20, "count": 1, "total_count": 1 }),
    )
}

/// `GET /user`.
pub(super) fn user() -> Reply {
    ok(&json!({ "id": "double-user", "email": "double@example.com" }))
}

/// `GET /user/tokens/verify` and `GET /accounts/:a/tokens/verify`.
pub(super) fn verify_token() -> Reply {
    ok(&json!({ "id": "double-token", "status": "active" }))
}
