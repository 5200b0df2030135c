//! Time Travel: `GET …/d1/database/:id/time_travel/bookmark` (`?timestamp=`) and
//! `POST …/time_travel/restore` (`?bookmark=` or `?timestamp=`).

use serde_json::json;

use super::http::{bad_request, ok, query_param, Reply};
use super::App;
use crate::d1::{lock, ApiError};
use crate::util::parse_timestamp;

impl App {
    /// The current bookmark, or the one of the state at `?timestamp=`.
    pub(super) fn d1_bookmark(
        &self,
        id: &str,
        query: &[(String, String)],
    ) -> Result<Reply, ApiError> {
        let db = self.store.resolve(id)?;
        let db = lock(&db);
        let bookmark = match query_param(query, "timestamp") {
            Some(ts) => db.bookmark_at(
                parse_timestamp(ts)
                    .ok_or_else(|| bad_request(format!("Invalid timestamp '{ts}'")))?,
            ),
            None => db.bookmark(),
        };
        Ok(ok(&json!({ "bookmark": bookmark })))
    }

    /// Returns the database to the state at `?bookmark=` (or at `?timestamp=`).
    pub(super) fn d1_restore(
        &self,
        id: &str,
        query: &[(String, String)],
    ) -> Result<Reply, ApiError> {
        let db = self.store.resolve(id)?;
        let mut db = lock(&db);
        let bookmark = match (
            query_param(query, "bookmark"),
            query_param(query, "timestamp"),
        ) {
            (Some(b), _) => b.to_string(),
            (None, Some(ts)) => db.bookmark_at(
                parse_timestamp(ts)
                    .ok_or_else(|| bad_request(format!("Invalid timestamp '{ts}'")))?,
            ),
            (None, None) => return Err(bad_request("Provide either a bookmark or a timestamp")),
        };
        let previous = db.restore(&bookmark)?;
        Ok(ok(&json!({
            "bookmark": bookmark,
            "previous_bookmark": previous,
            "message": format!("Database restored to bookmark {bookmark}"),
        })))
    }
}
