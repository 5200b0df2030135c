//! What each endpoint answers, through the engine and its jobs, as the
//! commands do: `/api/status` is the engine's status report (what `status
//! --json` prints), runs are the same job as `cargo migrate up` and `down`
//! ([`xtask::jobs::execute`]), restores the same as `cargo migrate restore`
//! ([`xtask::jobs::restore`]), the schema page's drift the engine's verdict.
//! Nothing from the page is ever run as SQL.

use axum::http::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use xtask::jobs::{RestoreRequest, RunRequest};
use xtask::migrate::d1::Target;
use xtask::migrate::sql::{self, LintOptions};
use xtask::migrate::Backups;
use xtask::migrate::Direction;
use xtask::migrate::{Mode, Options, RestoreFrom, Seeding, DEFAULT_KEEP_BACKUPS};
use xtask::migrate::{Paths, Project};

use crate::app::{error, App, Call, Reply};
use crate::runs::Busy;

/// The endpoint for `call`.
pub fn route(app: &App, call: &Call) -> Reply {
    let get = *call.method == Method::GET;
    let post = *call.method == Method::POST;
    if let Some((content_type, text)) = crate::assets::find(call.path) {
        if !get {
            return error(405, format!("{} answers GET only", call.path));
        }
        return Reply::Asset(content_type, text);
    }
    let answer = match (call.path, get, post) {
        ("/api/info", true, _) => info(app),
        ("/api/status", true, _) => status(app),
        ("/api/migration", true, _) => migration(app, call),
        ("/api/schema", true, _) => schema(app, call),
        ("/api/history", true, _) => history(app),
        ("/api/backups", true, _) => backups(app),
        ("/api/events", true, _) => {
            return Reply::Events(app.runs.latest().unwrap_or_else(crate::runs::Run::none))
        }
        ("/api/rehearse", _, true) => start_run(app, call, Kind::Rehearse),
        ("/api/up", _, true) => start_run(app, call, Kind::Up),
        ("/api/down", _, true) => start_run(app, call, Kind::Down),
        ("/api/restore", _, true) => start_restore(app, call),
        (
            "/api/info" | "/api/status" | "/api/migration" | "/api/schema" | "/api/history"
            | "/api/backups" | "/api/events",
            _,
            _,
        ) => return error(405, format!("{} answers GET only", call.path)),
        _ => return error(404, format!("no such page or endpoint: {}", call.path)),
    };
    answer.unwrap_or_else(|failure| failure)
}

type Answer = Result<Reply, Reply>;

/// A failed read: 500 with its message and what it is made of.
fn failed(err: anyhow::Error) -> Reply {
    let body = json!({"error": format!("{err:#}"), "failures": xtask::migrate::failures(&err)});
    match serde_json::from_str(&xtask::process::redact(&body.to_string())) {
        Ok(redacted) => Reply::Json(500, redacted),
        Err(_) => error(500, format!("{err:#}")),
    }
}

/// The project, its databases narrowed to `databases` when given.
fn load(app: &App, databases: Option<&[String]>) -> Result<(Project, Vec<String>), Reply> {
    let mut paths: Paths = app.paths.clone();
    if let Some(databases) = databases.filter(|d| !d.is_empty()) {
        paths.databases = databases.to_vec();
    }
    Project::load_lenient(&paths, app.target).map_err(|err| error(400, format!("{err:#}")))
}

fn info(app: &App) -> Answer {
    let (project, problems) = load(app, None)?;
    let runs = xtask::migrate::read_run_log(&project).map_err(failed)?;
    let databases: Vec<Value> = project
        .selected
        .iter()
        .map(|db| {
            let latest = project
                .files_for(&db.binding)
                .iter()
                .map(|m| m.version)
                .max()
                .unwrap_or(0);
            json!({"binding": db.binding, "name": db.name, "latest": latest})
        })
        .collect();
    let last_runs: serde_json::Map<String, Value> = project
        .selected
        .iter()
        .map(|db| {
            let last = runs.iter().find(|run| {
                run["databases"]
                    .as_array()
                    .is_some_and(|dbs| dbs.iter().any(|d| d["binding"] == db.binding.as_str()))
            });
            (db.binding.clone(), last.cloned().unwrap_or(Value::Null))
        })
        .collect();
    Ok(Reply::Json(
        200,
        json!({
            "target": app.target.to_string(),
            "environment": app.paths.env,
            "project": project.config.dir(),
            "host": xtask::text::hostname(),
            "user": xtask::text::username(),
            "databases": databases,
            "running": app.runs.running(),
            "last_runs": last_runs,
            "problems": problems,
        }),
    ))
}

fn status(app: &App) -> Answer {
    let (project, problems) = load(app, None)?;
    let d1 = xtask::cloudflare::d1_for(&project).map_err(failed)?;
    let report = xtask::migrate::status_report(&project, d1.as_ref(), problems).map_err(failed)?;
    Ok(Reply::Json(200, json!(report)))
}

fn migration(app: &App, call: &Call) -> Answer {
    let binding = call
        .param("db")
        .ok_or_else(|| error(400, "which database? ?db=BINDING"))?
        .to_owned();
    let version: u64 = call
        .param("version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| error(400, "which migration? &version=N"))?;
    let (project, problems) = load(app, Some(std::slice::from_ref(&binding)))?;
    let files = project.files_for(&binding);
    let Some(file) = files.iter().find(|m| m.version == version) else {
        return Err(error(404, format!("{binding} has no migration {version}")));
    };
    let options = LintOptions {
        splitter: project.splitter,
        guards: false,
    };
    let mut lint: Vec<Value> = Vec::new();
    let scripts = [
        Some((&file.path, &file.sql)),
        file.rollback.as_ref().map(|r| (&r.path, &r.sql)),
    ];
    for (path, text) in scripts.into_iter().flatten() {
        for finding in sql::lint(text, options) {
            lint.push(json!({
                "file": path,
                "line": finding.line,
                "severity": format!("{:?}", finding.severity).to_lowercase(),
                "message": finding.message,
            }));
        }
    }
    let d1 = xtask::cloudflare::d1_for(&project).map_err(failed)?;
    let report = xtask::migrate::status_report(&project, d1.as_ref(), problems).map_err(failed)?;
    let entry = report
        .databases
        .first()
        .and_then(|db| db.migrations.iter().find(|m| m.version == version));
    let recorded = entry.filter(|m| m.applied_at.is_some());
    let (changes, changes_error) = match crate::schema::changes(&files, file) {
        Ok(changes) => (changes, Value::Null),
        Err(err) => (Value::Null, json!(format!("{err:#}"))),
    };
    Ok(Reply::Json(
        200,
        json!({
            "binding": binding,
            "version": version,
            "name": file.name,
            "file": file.path,
            "sql": file.sql,
            "rollback_file": file.rollback.as_ref().map(|r| &r.path),
            "rollback_sql": file.rollback.as_ref().map(|r| &r.sql),
            "lint": lint,
            "checksum_file": file.checksum,
            "checksum_recorded": recorded.and_then(|m| m.checksum.clone()),
            "state": entry.map(|m| m.state),
            "applied_at": recorded.and_then(|m| m.applied_at),
            "duration_ms": recorded.and_then(|m| m.duration_ms),
            "changes": changes,
            "changes_error": changes_error,
        }),
    ))
}

fn schema(app: &App, call: &Call) -> Answer {
    let binding = call
        .param("db")
        .ok_or_else(|| error(400, "which database? ?db=BINDING"))?
        .to_owned();
    let (project, _) = load(app, Some(std::slice::from_ref(&binding)))?;
    let db = project.selected[0].clone();
    let d1 = xtask::cloudflare::d1_for(&project).map_err(failed)?;
    let mut er = crate::schema::er(d1.as_ref(), &db).map_err(failed)?;
    // The engine's verdict: its line, or what does not match (typed too).
    let verified = xtask::migrate::verify(&project, d1.as_ref(), &db)
        .and_then(|verdict| verdict.into_result());
    er["binding"] = json!(db.binding);
    er["name"] = json!(db.name);
    er["drift"] = match &verified {
        Ok(line) => json!({"ok": true, "lines": [line]}),
        Err(err) => json!({
            "ok": false,
            "lines": format!("{err:#}").lines().collect::<Vec<_>>(),
            "failures": xtask::migrate::failures(err),
        }),
    };
    Ok(Reply::Json(200, er))
}

fn history(app: &App) -> Answer {
    let (project, _) = load(app, None)?;
    let runs = xtask::migrate::read_run_log(&project).map_err(failed)?;
    Ok(Reply::Json(200, json!({"runs": runs})))
}

fn backups(app: &App) -> Answer {
    let (project, _) = load(app, None)?;
    let folder = Backups::new(&project.config, None, 1);
    let mut listed = Vec::new();
    for db in &project.selected {
        for backup in folder.list(&db.binding).into_iter().rev() {
            let kind = backup
                .path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_owned();
            let manifest = backup.manifest.as_ref();
            listed.push(json!({
                "file": backup.path,
                "binding": db.binding,
                "database": manifest.map(|m| m.database.clone()),
                "target": manifest.map(|m| m.target.clone()),
                "version": manifest.map(|m| m.version),
                "taken_at": manifest.map(|m| m.taken_at.clone()),
                "kind": kind,
                "bookmark": backup.bookmark,
                "size": std::fs::metadata(&backup.path).map(|m| m.len()).ok(),
            }));
        }
    }
    Ok(Reply::Json(
        200,
        json!({"folder": folder.dir, "backups": listed}),
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rehearse,
    Up,
    Down,
}

/// What the page asks a run for.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    to: Option<u64>,
    #[serde(default)]
    db: Vec<String>,
    direction: Option<String>,
    #[serde(default)]
    confirm: Vec<String>,
}

/// What the page asks a restore for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    file: std::path::PathBuf,
    db: String,
    #[serde(default)]
    confirm: Vec<String>,
}

fn body<T: for<'de> Deserialize<'de> + Default>(call: &Call) -> Result<T, Reply> {
    if call.body.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(&call.body).map_err(|err| error(400, format!("a bad request body: {err}")))
}

/// Remotely, each database a run may change must be confirmed by name.
fn confirmed(app: &App, project: &Project, confirm: &[String]) -> Result<(), Reply> {
    if app.target != Target::Remote {
        return Ok(());
    }
    let missing: Vec<&str> = project
        .selected
        .iter()
        .filter(|db| !confirm.contains(&db.name))
        .map(|db| db.name.as_str())
        .collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(error(
            400,
            format!(
                "this changes remote databases: type the name of each to confirm ({})",
                missing.join(", ")
            ),
        )),
    }
}

fn start_run(app: &App, call: &Call, kind: Kind) -> Answer {
    let request: RunBody = body(call)?;
    let direction = match (kind, request.direction.as_deref()) {
        (Kind::Down, _) | (Kind::Rehearse, Some("down")) => Direction::Down,
        (_, None | Some("up")) => Direction::Up,
        (_, Some(other)) => {
            return Err(error(400, format!("direction {other:?}: up or down")));
        }
    };
    if direction == Direction::Down && request.to.is_none() {
        return Err(error(
            400,
            "rolling back needs `to`: the version to go back to",
        ));
    }
    let (project, problems) = load(app, Some(&request.db))?;
    if !problems.is_empty() {
        return Err(error(
            400,
            format!(
                "the migrations have problems; `cargo migrate check` lists them:\n{}",
                problems.join("\n")
            ),
        ));
    }
    if let (Direction::Up, Some(to)) = (direction, request.to) {
        let newest = project.newest_version();
        if to > newest {
            return Err(error(
                400,
                format!("there is no migration {to}: the newest is {newest}"),
            ));
        }
    }
    if kind != Kind::Rehearse {
        confirmed(app, &project, &request.confirm)?;
    }
    let mut again = format!(
        "cargo migrate {}",
        match direction {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    );
    if let Some(to) = request.to {
        again.push_str(&format!(" {to}"));
    }
    // `again` is the command alone: the notices add the flags that select
    // the target and each database. The run log's line has them all.
    let mut flags = String::new();
    if app.target == Target::Remote {
        flags.push_str(" --remote");
    }
    for db in &request.db {
        flags.push_str(&format!(" --db {db}"));
    }
    let settings = app.global.project.notify_settings(&project);
    let dry_run = kind == Kind::Rehearse;
    // The command line's defaults.
    let mode = match dry_run {
        true => Mode::DryRun(Seeding::Data),
        false => Mode::Apply,
    };
    let options = Options::defaults(&project, mode);
    let name = match kind {
        Kind::Rehearse => "rehearse",
        Kind::Up => "up",
        Kind::Down => "down",
    };
    let started = app.runs.start(name, move |run| {
        let request = RunRequest {
            direction,
            version: request.to,
            options,
            command: Some(format!(
                "{again}{flags}{} (from the web UI)",
                if dry_run { " --dry-run" } else { "" }
            )),
            again,
        };
        xtask::jobs::execute(&project, &settings, &request, run)?;
        Ok(match dry_run {
            true => None,
            false => xtask::migrate::read_run_log(&project)?.into_iter().next(),
        })
    });
    started_reply(started)
}

fn start_restore(app: &App, call: &Call) -> Answer {
    let request: RestoreBody = serde_json::from_str(&call.body)
        .map_err(|err| error(400, format!("a bad request body: {err}")))?;
    let (project, _) = load(app, Some(std::slice::from_ref(&request.db)))?;
    confirmed(app, &project, &request.confirm)?;
    let folder = Backups::new(&project.config, None, 1);
    // Only a backup the folder lists: the page names files, it never uploads one.
    let known = folder
        .list(&request.db)
        .iter()
        .any(|backup| backup.path == request.file);
    if !known {
        return Err(error(
            400,
            format!(
                "{} is not a backup of {} in {}",
                request.file.display(),
                request.db,
                folder.dir.display()
            ),
        ));
    }
    let settings = app.global.project.notify_settings(&project);
    let remote = if app.target == Target::Remote {
        " --remote"
    } else {
        ""
    };
    let command = format!(
        "cargo migrate restore {}{remote} --db {} (from the web UI)",
        request.file.display(),
        request.db
    );
    let file = request.file.clone();
    let started = app.runs.start("restore", move |run| {
        // As `restore FILE --yes` does: its checks, a backup of what it
        // replaces first.
        let request = RestoreRequest {
            from: RestoreFrom::File(file),
            force: false,
            backup_first: Some(Backups::new(&project.config, None, DEFAULT_KEEP_BACKUPS)),
            command: Some(command),
        };
        let restored = xtask::jobs::restore(&project, &settings, &request, &|_, _| Ok(()));
        if let Ok(restored) = &restored {
            for line in restored.lines(&project.selected[0].binding, &project.hint_flags()) {
                run.say(line);
            }
        }
        restored?;
        Ok(xtask::migrate::read_run_log(&project)?.into_iter().next())
    });
    started_reply(started)
}

fn started_reply(started: Result<String, Busy>) -> Answer {
    match started {
        Ok(run) => Ok(Reply::Json(202, json!({"run": run}))),
        Err(Busy(run)) => Err(error(
            409,
            format!("run {run} is in progress: wait for it to finish"),
        )),
    }
}
