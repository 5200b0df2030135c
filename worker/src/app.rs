//! The Workers entry point and D1 access (wasm32 only).
//!
//! Each handler asks D1 what it needs and hands the answers to the pure
//! modules, which decide the reply.

use serde::Deserialize;
use worker::{console_error, event, Context, D1Database, Env, Request, Response};

use crate::auth::{self, bearer_token, hash_key};
use crate::health::{parse_expected, HealthReport, Observed, VERSION_SQL};
use crate::reply::Reply;
use crate::routes::{route, Route};
use crate::tasks::{tasks_sql, Task, TaskList};
use crate::{AUTH, READ_REPLICA};

/// The schema version each database must have, worked out from `migrations/`
/// by `cargo xtask build-worker` (e.g. `READ_REPLICA=6,AUTH=5`). Cargo
/// rebuilds the worker when it changes.
const EXPECTED_SCHEMA_VERSIONS: &str = env!(
    "EXPECTED_SCHEMA_VERSIONS",
    "build the worker with `cargo xtask build-worker`: it sets EXPECTED_SCHEMA_VERSIONS from migrations/"
);

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let url = req.url()?;
    let reply = match route(req.method().as_ref(), url.path(), url.query()) {
        Ok(route) => handle(route, &req, &env).await,
        Err(err) => Reply::from(err),
    };
    respond(reply)
}

async fn handle(route: Route, req: &Request, env: &Env) -> Reply {
    let result = match route {
        Route::Health => Ok(health(env).await),
        Route::Tasks { status } => tasks(req, env, status.as_deref()).await,
        Route::RoomAccess { room_id } => room_access(req, env, &room_id).await,
    };
    result.unwrap_or_else(|err| {
        console_error!("{err}");
        Reply::internal()
    })
}

fn respond(reply: Reply) -> worker::Result<Response> {
    let response = Response::ok(reply.body)?.with_status(reply.status);
    response
        .headers()
        .set("Content-Type", "application/json; charset=utf-8")?;
    for (name, value) in &reply.headers {
        response.headers().set(name, value)?;
    }
    Ok(response)
}

async fn health(env: &Env) -> Reply {
    let expected = match parse_expected(EXPECTED_SCHEMA_VERSIONS) {
        Ok(expected) => expected,
        Err(why) => return Reply::health(&HealthReport::misconfigured(why)),
    };
    let mut checks = Vec::with_capacity(expected.len());
    for database in expected {
        let observed = schema_version(env, &database.binding).await;
        checks.push((database, observed));
    }
    Reply::health(&HealthReport::new(checks))
}

#[derive(Deserialize)]
struct MaxVersion {
    version: Option<u64>,
}

async fn schema_version(env: &Env, binding: &str) -> Observed {
    let db = match env.d1(binding) {
        Ok(db) => db,
        Err(err) => return Observed::Unreadable(format!("no D1 binding {binding}: {err}")),
    };
    match db.prepare(VERSION_SQL).first::<MaxVersion>(None).await {
        Ok(row) => Observed::from_max(row.and_then(|row| row.version)),
        Err(err) => Observed::from_error(&err.to_string()),
    }
}

#[derive(Deserialize)]
struct KeyOwner {
    user_id: String,
}

/// The user the request's API key belongs to, or the 401 to send.
async fn authenticate(req: &Request, env: &Env) -> worker::Result<Result<String, Reply>> {
    let header = req.headers().get("Authorization")?;
    let Some(key) = bearer_token(header.as_deref()) else {
        return Ok(Err(Reply::missing_key()));
    };
    let owner = database(env, AUTH)?
        .prepare(auth::KEY_OWNER_SQL)
        .bind(&[hash_key(key).into()])?
        .first::<KeyOwner>(None)
        .await?;
    Ok(owner
        .map(|owner| owner.user_id)
        .ok_or_else(Reply::invalid_key))
}

async fn tasks(req: &Request, env: &Env, status: Option<&str>) -> worker::Result<Reply> {
    let user_id = match authenticate(req, env).await? {
        Ok(user_id) => user_id,
        Err(reply) => return Ok(reply),
    };
    let mut args = vec![user_id.as_str().into()];
    if let Some(status) = status {
        args.push(status.into());
    }
    let tasks = database(env, READ_REPLICA)?
        .prepare(tasks_sql(status.is_some()))
        .bind(&args)?
        .all()
        .await?
        .results::<Task>()?;
    Ok(Reply::tasks(&TaskList { user_id, tasks }))
}

#[derive(Deserialize)]
struct RoomRole {
    room_id: Option<String>,
    role: Option<String>,
}

async fn room_access(req: &Request, env: &Env, room_id: &str) -> worker::Result<Reply> {
    let user_id = match authenticate(req, env).await? {
        Ok(user_id) => user_id,
        Err(reply) => return Ok(reply),
    };
    let found = database(env, AUTH)?
        .prepare(auth::ROOM_ROLE_SQL)
        .bind(&[room_id.into(), user_id.as_str().into()])?
        .first::<RoomRole>(None)
        .await?;
    let (exists, role) = match &found {
        Some(row) => (row.room_id.is_some(), row.role.as_deref()),
        None => (false, None),
    };
    let decision = auth::room_role(exists, role);
    if let Err(auth::Denied::InvalidRole(role)) = &decision {
        console_error!("room {room_id}: stored role {role:?} is not owner, editor or viewer");
    }
    Ok(Reply::room_access(room_id, decision))
}

fn database(env: &Env, binding: &str) -> worker::Result<D1Database> {
    env.d1(binding)
        .map_err(|err| worker::Error::RustError(format!("no D1 binding {binding}: {err}")))
}
