//! Every answer the worker gives, decided without the Workers runtime: a
//! status, a JSON body and the headers that go with them.

use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::{Denied, Role};
use crate::health::HealthReport;
use crate::routes::RouteError;
use crate::tasks::TaskList;

/// A response to be sent: the wasm layer only turns this into a
/// `worker::Response`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    /// JSON text, its fields in the order the types declare them.
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: impl Serialize) -> Reply {
        let body = serde_json::to_string(&body).unwrap_or_else(|err| {
            json!({ "error": format!("cannot serialise the reply: {err}") }).to_string()
        });
        Reply {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// The body, parsed (for tests and logs).
    pub fn body_json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::json(status, json!({ "error": message.into() }))
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// 401, with the challenge that says which scheme to use.
    pub fn unauthorized(message: &str) -> Reply {
        Reply::error(401, message).with_header("WWW-Authenticate", "Bearer")
    }

    /// 401 for a request without a usable `Authorization: Bearer` header.
    pub fn missing_key() -> Reply {
        Reply::unauthorized("send an API key as `Authorization: Bearer <key>`")
    }

    /// 401 for a key that matches no live key.
    pub fn invalid_key() -> Reply {
        Reply::unauthorized("the API key is not valid (unknown or revoked)")
    }

    /// 500 for a failure the caller can do nothing about; the detail is
    /// logged by the worker, not sent.
    pub fn internal() -> Reply {
        Reply::error(500, "internal error: see the worker's logs")
    }

    pub fn health(report: &HealthReport) -> Reply {
        Reply::json(report.status_code(), report).with_header("Cache-Control", "no-store")
    }

    pub fn tasks(list: &TaskList) -> Reply {
        Reply::json(200, list)
    }

    pub fn room_access(room_id: &str, decision: Result<Role, Denied>) -> Reply {
        match decision {
            Ok(role) => Reply::json(200, RoomAccess { room_id, role }),
            Err(Denied::UnknownRoom) => Reply::error(404, format!("no room {room_id:?}")),
            Err(Denied::NoPermission) => {
                Reply::error(403, format!("you have no permission in room {room_id:?}"))
            }
            Err(Denied::InvalidRole(_)) => Reply::internal(),
        }
    }
}

/// The body of `GET /rooms/:room_id/access`.
#[derive(Serialize)]
struct RoomAccess<'a> {
    room_id: &'a str,
    role: Role,
}

impl From<RouteError> for Reply {
    fn from(err: RouteError) -> Reply {
        match err {
            RouteError::NotFound => Reply::error(404, "not found"),
            RouteError::MethodNotAllowed { allow } => {
                Reply::error(405, "method not allowed").with_header("Allow", allow)
            }
            RouteError::BadRequest(why) => Reply::error(400, why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Expected, Observed};

    #[test]
    fn route_errors_map_to_statuses() {
        assert_eq!(Reply::from(RouteError::NotFound).status, 404);
        let not_allowed = Reply::from(RouteError::MethodNotAllowed { allow: "GET" });
        assert_eq!(not_allowed.status, 405);
        assert_eq!(not_allowed.headers, vec![("Allow", "GET".to_owned())]);
        assert_eq!(Reply::from(RouteError::BadRequest("x".into())).status, 400);
    }

    #[test]
    fn unauthorized_replies_carry_the_bearer_challenge() {
        for reply in [Reply::missing_key(), Reply::invalid_key()] {
            assert_eq!(reply.status, 401);
            assert_eq!(
                reply.headers,
                vec![("WWW-Authenticate", "Bearer".to_owned())]
            );
            assert!(reply.body_json()["error"].is_string());
        }
    }

    #[test]
    fn room_access_replies() {
        let ok = Reply::room_access("r1", Ok(Role::Editor));
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body, r#"{"room_id":"r1","role":"editor"}"#);
        assert_eq!(
            Reply::room_access("r1", Err(Denied::UnknownRoom)).status,
            404
        );
        assert_eq!(
            Reply::room_access("r1", Err(Denied::NoPermission)).status,
            403
        );
        let bad = Reply::room_access("r1", Err(Denied::InvalidRole("admin".into())));
        assert_eq!(bad.status, 500);
        assert!(!bad.body.contains("admin"));
    }

    #[test]
    fn health_replies_follow_the_report() {
        let behind = HealthReport::new([(
            Expected {
                binding: "AUTH".into(),
                version: 5,
            },
            Observed::Version(0),
        )]);
        let reply = Reply::health(&behind);
        assert_eq!(reply.status, 503);
        // `status` first, then the databases, each binding first.
        assert_eq!(
            reply.body,
            r#"{"status":"behind","databases":[{"binding":"AUTH","version":0,"expected":5,"current":false}]}"#
        );
        assert_eq!(reply.body_json()["databases"][0]["current"], false);
    }
}
