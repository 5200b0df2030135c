//! D1 databases as a resource: list (`?name=&page=&per_page=`), create, info, delete, and the
//! GraphQL metrics `d1 info` asks for (always zero).

use serde_json::{json, Value};

use super::http::{bad_request, body_json, ok, ok_list, query_param, Reply, Req};
use super::App;
use crate::d1::{lock, ApiError};
use crate::util::uuid_v4;

impl App {
    pub(super) fn d1_list(&self, query: &[(String, String)]) -> Reply {
        let name = query_param(query, "name").filter(|n| !n.is_empty());
        let all: Vec<Value> = self
            .store
            .all()
            .iter()
            .map(|db| lock(db).summary())
            .filter(|s| name.is_none_or(|n| s["name"].as_str().is_some_and(|x| x.contains(n))))
            .collect();
        let per_page = query_param(query, "per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1000);
        let page = query_param(query, "page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1);
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .cloned()
            .collect();
        ok_list(
            &items,
            json!({ "page": page, "per_page": per_page, "count": items.len(), "total_count": all.len() }),
        )
    }

    pub(super) fn d1_create(&self, req: &Req) -> Result<Reply, ApiError> {
        let body = body_json(req)?;
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                bad_request("The request is malformed: a database `name` is required")
            })?;
        if self.store.find_by_name(name).is_some() {
            return Err(ApiError::new(
                400,
                7502,
                "A database with that name already exists",
            ));
        }
        let db = self
            .store
            .get_or_create(&uuid_v4(), Some(name))
            .map_err(ApiError::internal)?;
        let mut summary = lock(&db).summary();
        summary["created_in_region"] = json!("WEUR");
        Ok(ok(&summary))
    }

    /// `GET …/d1/database/:id`: the summary, with the region and replication `d1 info` shows.
    pub(super) fn d1_info(&self, id: &str) -> Result<Reply, ApiError> {
        let db = self.store.resolve(id)?;
        let db = lock(&db);
        let mut info = db.summary();
        info["running_in_region"] = json!("WEUR");
        info["read_replication"] = json!({ "mode": "disabled" });
        Ok(ok(&info))
    }

    /// `DELETE …/d1/database/:id`: forgets the database and deletes its files.
    pub(super) fn d1_delete(&self, id: &str) -> Result<Reply, ApiError> {
        let db = self.store.resolve(id)?;
        let id = lock(&db).id.clone();
        drop(db);
        self.store.delete(&id);
        Ok(ok(&Value::Null))
    }
}

/// `POST /graphql`: the metrics of `d1 info`, with no data points.
pub(super) fn graphql() -> Reply {
    Reply::json(
        200,
        &json!({ "data": { "viewer": { "accounts": [{ "d1AnalyticsAdaptiveGroups": [] }] } }, "errors": null }),
    )
}
