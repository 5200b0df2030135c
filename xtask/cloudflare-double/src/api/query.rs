//! `POST …/d1/database/:id/query` and `…/raw`: runs SQL with parameters and answers rows as
//! objects (`query`) or as columns and rows of values (`raw`).

use serde_json::Value;

use super::http::{bad_request, body_json, ok, Reply, Req};
use super::App;
use crate::d1::{lock, ApiError};

impl App {
    /// `action` is `query` or `raw`, the last path segment.
    pub(super) fn d1_query(&self, req: &Req, id: &str, action: &str) -> Result<Reply, ApiError> {
        let body = body_json(req)?;
        let sql = body
            .get("sql")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_request("The request is malformed: a string `sql` is required"))?;
        let params = match body.get("params") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(p)) => p.clone(),
            Some(_) => {
                return Err(bad_request(
                    "The request is malformed: `params` must be an array",
                ))
            }
        };
        let db = self.store.resolve(id)?;
        let results = lock(&db).execute(sql, &params)?;
        if action == "raw" {
            Ok(ok(&results.iter().map(|r| r.as_raw()).collect::<Vec<_>>()))
        } else {
            Ok(ok(&results
                .iter()
                .map(|r| r.as_objects())
                .collect::<Vec<_>>()))
        }
    }
}
