//! The D1 REST API, spoken directly: a second implementation of the engine's
//! [`D1`] trait (remote only) over the xtask's HTTP client, used whenever a
//! token and an account are known. No node process per call.
//!
//! | What | Request (under `/accounts/:account/d1/database`) |
//! |---|---|
//! | queries (with parameters) | `POST /:id/query` `{sql, params}` |
//! | a batch file, all or nothing | `POST /:id/import` `init`, `PUT` the file to the upload URL, `ingest`, `poll` |
//! | export | `POST /:id/export` (start, then poll), `GET` the signed URL |
//! | Time Travel | `GET /:id/time_travel/bookmark`, `POST /:id/time_travel/restore?bookmark=` |
//! | the account's databases | `GET ?page=&per_page=` (every page), `GET /:id` |
//!
//! Cloudflare's API reference promises no transaction for a multi-statement
//! `query` (its `sql` "supports multiple statements, joined by semicolons"),
//! so batches that must be all-or-nothing go through the import, as
//! `wrangler d1 execute --remote --file` sends them; reads go through `query`.
//!
//! Every request is retried on what may pass ([`retry`]): HTTP 429 (after
//! its `Retry-After`), 5xx, a network error, D1's transient refusals. A
//! request that changes the database and whose outcome is unknown (no
//! answer, a 5xx that does not say D1 refused it) is not sent again: its
//! error carries [`Transient`], and the engine reads the ledger to settle
//! it before the batch is tried again, so nothing is applied twice.

mod d1_api;
mod replies;
pub mod retry;

use replies::{encode, error_message, excerpt, job_errors, reply_says_failure, send};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::http;
use crate::migrate::d1::{Call, D1Error, StatementResult, Target, Transient, D1};
use crate::migrate::Database;
use crate::migrate::Project;
use crate::wrangler::Wrangler;
use retry::Policy;

/// Where the API is when `CLOUDFLARE_API_BASE_URL` does not say.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// Forces the path remote calls take: `api` or `wrangler`.
pub const VIA_VAR: &str = "MIGRATE_REMOTE_VIA";

/// The environment variable that bounds one HTTP request, in seconds.
pub const TIMEOUT_VAR: &str = "MIGRATE_API_TIMEOUT";

/// The D1 databases of one account, through the REST API.
pub struct Api {
    base: String,
    token: String,
    account: String,
    policy: Policy,
    /// How long one request may take.
    timeout: Duration,
    /// How long one import or export may take, polls included.
    job_timeout: Duration,
    /// wrangler, for what stays local: the splitter its version implies,
    /// and the throwaway local copies rehearsals run on.
    local: Wrangler,
    config_dir: PathBuf,
    /// Database names already looked up, and their ids.
    ids: Mutex<HashMap<String, String>>,
}

/// The D1 a command on `project` talks to: locally wrangler; remotely the
/// REST API when a token and an account are known (`$CLOUDFLARE_API_TOKEN`,
/// and `$CLOUDFLARE_ACCOUNT_ID` or the config's `account_id`), otherwise
/// wrangler (a `wrangler login` session). `$MIGRATE_REMOTE_VIA` forces one.
pub fn d1_for(project: &Project) -> Result<Arc<dyn D1>> {
    Ok(Remote::choose(project, Wrangler::for_project(project)?)?.d1())
}

/// The path remote calls take: the REST API, or wrangler (which also
/// serves every local call).
#[derive(Clone)]
pub enum Remote {
    Api(Arc<Api>),
    Wrangler(Arc<Wrangler>),
}

impl Remote {
    /// The REST API when `project` is remote and credentials allow it
    /// (see [`d1_for`]), else `wrangler`.
    pub fn choose(project: &Project, wrangler: Wrangler) -> Result<Remote> {
        if project.target == Target::Local {
            return Ok(Remote::Wrangler(Arc::new(wrangler)));
        }
        Ok(match Api::for_project(project, wrangler.clone())? {
            Some(api) => Remote::Api(Arc::new(api)),
            None => Remote::Wrangler(Arc::new(wrangler)),
        })
    }

    /// Its D1.
    pub fn d1(&self) -> Arc<dyn D1> {
        match self {
            Remote::Api(api) => api.clone(),
            Remote::Wrangler(wrangler) => wrangler.clone(),
        }
    }

    /// The names of the account's D1 databases.
    pub fn database_names(&self) -> Result<Vec<String>> {
        match self {
            Remote::Api(api) => api.database_names(),
            Remote::Wrangler(wrangler) => wrangler.database_names(),
        }
    }
}

impl Api {
    /// The API client for `project`'s remote databases, when credentials
    /// allow it (see [`d1_for`]). Says at `-v` which path it chose, and why.
    pub fn for_project(project: &Project, wrangler: Wrangler) -> Result<Option<Api>> {
        let via = std::env::var(VIA_VAR).unwrap_or_default();
        let token = std::env::var("CLOUDFLARE_API_TOKEN").unwrap_or_default();
        let account = std::env::var("CLOUDFLARE_ACCOUNT_ID")
            .ok()
            .filter(|a| !a.is_empty())
            .or_else(|| project.config.account_id.clone())
            .unwrap_or_default();
        match via.as_str() {
            "" | "auto" | "api" => {}
            "wrangler" => {
                tracing::info!("remote calls go through wrangler ({VIA_VAR}=wrangler)");
                return Ok(None);
            }
            other => bail!("{VIA_VAR}={other:?}: expected api or wrangler"),
        }
        let missing = match (token.is_empty(), account.is_empty()) {
            (false, false) => None,
            (true, _) => Some("CLOUDFLARE_API_TOKEN is not set"),
            (false, true) => {
                Some("no account: set CLOUDFLARE_ACCOUNT_ID or the config's account_id")
            }
        };
        if let Some(why) = missing {
            if via == "api" {
                bail!("{VIA_VAR}=api, but {why}");
            }
            tracing::info!("remote calls go through wrangler: {why}");
            return Ok(None);
        }
        let base = std::env::var("CLOUDFLARE_API_BASE_URL")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let api = Api::new(&base, &token, &account, wrangler, project.config.dir())?;
        tracing::info!(
            "remote calls go to the D1 REST API directly ({}, account {})",
            api.base,
            api.account
        );
        Ok(Some(api))
    }

    /// A client for `account` at `base` (`…/client/v4`).
    pub fn new(
        base: &str,
        token: &str,
        account: &str,
        local: Wrangler,
        config_dir: &Path,
    ) -> Result<Api> {
        let timeout = match std::env::var(TIMEOUT_VAR) {
            Err(_) => Duration::from_secs(60),
            Ok(value) => match value.trim().parse::<u64>() {
                Ok(secs) if secs > 0 => Duration::from_secs(secs),
                _ => bail!("{TIMEOUT_VAR}={value:?} is not a whole number of seconds above 0"),
            },
        };
        Ok(Api {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            account: account.to_owned(),
            policy: Policy::from_env()?,
            timeout,
            job_timeout: local.timeout(),
            local,
            config_dir: config_dir.to_path_buf(),
            ids: Mutex::new(HashMap::new()),
        })
    }

    /// The names of the account's D1 databases, every page of the list.
    pub fn database_names(&self) -> Result<Vec<String>> {
        Ok(self
            .databases()?
            .iter()
            .filter_map(|db| db.get("name")?.as_str().map(str::to_owned))
            .collect())
    }

    /// The account's D1 databases as the API lists them (`uuid`, `name`, …),
    /// every page.
    pub fn databases(&self) -> Result<Vec<Value>> {
        const PER_PAGE: usize = 1000;
        let mut all = Vec::new();
        for page in 1.. {
            let url = format!(
                "{}/accounts/{}/d1/database?page={page}&per_page={PER_PAGE}",
                self.base, self.account
            );
            let (result, info) =
                self.send_paged("d1 list", "the account", Repeat::Always, Call::Read, || {
                    http::get(&url)
                })?;
            let items = result.as_array().cloned().unwrap_or_default();
            let count = items.len();
            all.extend(items);
            let total = info
                .get("total_count")
                .and_then(Value::as_u64)
                .map(|t| t as usize);
            // The total, when the API gives it, decides (a page may be
            // shorter than asked for when the API caps `per_page`).
            let done = match total {
                Some(total) => all.len() >= total || count == 0,
                None => count < PER_PAGE,
            };
            if done {
                break;
            }
        }
        Ok(all)
    }

    /// What the API says of one database (`GET …/database/:id`).
    pub fn info(&self, db: &Database) -> Result<Value> {
        let url = self.database_url(db, "")?;
        self.send("d1 info", &db.binding, Repeat::Always, Call::Read, || {
            http::get(&url)
        })
    }

    /// Runs `sql` with `params` bound to its `?`s (one statement) or none.
    pub fn query_with(
        &self,
        call: Call,
        db: &Database,
        sql: &str,
        params: &[Value],
    ) -> Result<Vec<StatementResult>> {
        let url = self.database_url(db, "/query")?;
        let body = json!({ "sql": sql, "params": params }).to_string();
        let repeat = match call {
            Call::Write => Repeat::IfNotRun,
            Call::Read | Call::Cleanup => Repeat::Always,
        };
        let result = self.send("query", &db.binding, repeat, call, || {
            http::post(&url)
                .header("Content-Type", "application/json")
                .body(body.clone())
        })?;
        serde_json::from_value(result).map_err(|err| {
            anyhow!(
                "the D1 API answered a query on {} with results in an unexpected shape: {err}",
                db.binding
            )
        })
    }

    /// `https://…/accounts/:a/d1/database/:id` + `rest`.
    fn database_url(&self, db: &Database, rest: &str) -> Result<String> {
        let id = self.database_id(db)?;
        Ok(format!(
            "{}/accounts/{}/d1/database/{id}{rest}",
            self.base, self.account
        ))
    }

    /// The config's `database_id`, or the id the account's list gives the name.
    fn database_id(&self, db: &Database) -> Result<String> {
        if let Some(id) = db.id.as_deref().filter(|id| !id.is_empty()) {
            return Ok(id.to_owned());
        }
        if let Some(id) = lock(&self.ids).get(&db.name) {
            return Ok(id.clone());
        }
        let url = format!(
            "{}/accounts/{}/d1/database?name={}&per_page=1000",
            self.base,
            self.account,
            encode(&db.name)
        );
        let listed = self.send("d1 list", &db.binding, Repeat::Always, Call::Read, || {
            http::get(&url)
        })?;
        let id = listed
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d.get("name").and_then(Value::as_str) == Some(db.name.as_str()))
            .and_then(|d| d.get("uuid").and_then(Value::as_str))
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "the account {} has no D1 database named {} (binding {}): create it, or set its database_id in the config",
                    self.account, db.name, db.binding
                )
            })?;
        lock(&self.ids).insert(db.name.clone(), id.clone());
        Ok(id)
    }

    /// Sends a request (made anew for each try) and returns its `result`.
    fn send(
        &self,
        what: &str,
        subject: &str,
        repeat: Repeat,
        call: Call,
        make: impl Fn() -> http::Request,
    ) -> Result<Value> {
        self.send_paged(what, subject, repeat, call, make)
            .map(|(result, _)| result)
    }

    /// [`Api::send`], also returning the envelope's `result_info`.
    fn send_paged(
        &self,
        what: &str,
        subject: &str,
        repeat: Repeat,
        call: Call,
        make: impl Fn() -> http::Request,
    ) -> Result<(Value, Value)> {
        let _waiting =
            crate::process::waits::waiting(|| format!("the D1 API's {what} on {subject}"));
        let reply = self.exchange(what, subject, repeat, call, None, || {
            make()
                .header("Authorization", &format!("Bearer {}", self.token))
                .timeout(self.timeout)
        })?;
        let envelope: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        Ok((
            envelope.get("result").cloned().unwrap_or(Value::Null),
            envelope.get("result_info").cloned().unwrap_or(Value::Null),
        ))
    }

    /// Tries `send` until it gets a success (2xx with `success` not false),
    /// a refusal that a new try would not change (a [`D1Error`]), or no
    /// further try is allowed: the policy's tries or time are spent, or
    /// the request changes the database and may have run.
    fn exchange(
        &self,
        what: &str,
        subject: &str,
        repeat: Repeat,
        call: Call,
        to_file: Option<&Path>,
        make: impl Fn() -> http::Request,
    ) -> Result<http::Reply> {
        let shown = format!("the D1 API's {what} on {subject}");
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            if call != Call::Cleanup {
                if let Some(stop) = crate::interrupt::requested() {
                    return Err(crate::interrupt::Interrupted(stop))
                        .with_context(|| format!("{shown} was not sent"));
                }
            }
            let (why, retry_after, may_have_run) = match send(make(), to_file, call) {
                Err(err) if err.is::<crate::interrupt::Interrupted>() => {
                    return Err(err.context(format!("{shown} was stopped")));
                }
                Err(err) => (format!("{err:#}"), None, true),
                Ok(reply) => {
                    let message = error_message(&reply);
                    let refused = !(200..300).contains(&reply.status)
                        || message.is_some()
                        || reply_says_failure(&reply);
                    if !refused {
                        return Ok(reply);
                    }
                    let text = message.unwrap_or_else(|| {
                        format!("HTTP {}: {}", reply.status, excerpt(&reply.body))
                    });
                    if reply.status == 429 {
                        let after = reply
                            .header("Retry-After")
                            .and_then(|v| retry::retry_after(v, SystemTime::now()));
                        (format!("HTTP 429: {text}"), after, false)
                    } else if retry::transient_d1_error(&text) {
                        (text, None, false)
                    } else if reply.status >= 500 {
                        (format!("HTTP {}: {text}", reply.status), None, true)
                    } else {
                        let hint = match reply.status {
                            401 | 403 => ": Cloudflare refused the credentials (check CLOUDFLARE_API_TOKEN, a token with D1 edit rights, and CLOUDFLARE_ACCOUNT_ID)",
                            _ => "",
                        };
                        return Err(
                            anyhow!(D1Error { text }).context(format!("{shown} failed{hint}"))
                        );
                    }
                }
            };
            let settle_first = may_have_run && repeat == Repeat::IfNotRun;
            let wait = match settle_first {
                true => None,
                false => {
                    self.policy
                        .wait(attempt + 1, started.elapsed(), retry_after, retry::jitter())
                }
            };
            let Some(wait) = wait else {
                let tries = match attempt {
                    1 => "1 try".to_owned(),
                    n => format!("{n} tries in {:.1} s", started.elapsed().as_secs_f64()),
                };
                let unknown = match settle_first {
                    true => "; it changes the database and may have run, so it was not sent again",
                    false => "",
                };
                return Err(anyhow!(Transient(why.clone()))
                    .context(format!("{shown} failed after {tries}: {why}{unknown}")));
            };
            tracing::warn!(
                database = %subject,
                "{shown} failed ({why}); trying again in {:.1} s (try {} of {})",
                wait.as_secs_f64(),
                attempt + 1,
                self.policy.attempts
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// Starts an import or an export and polls it to its end; returns its
    /// last answer (status `complete`). `start` is sent once; each poll
    /// asks about the bookmark the job began at.
    fn run_job(
        &self,
        what: &str,
        db: &Database,
        url: &str,
        first: Value,
        poll: impl Fn(&str) -> Value,
        call: Call,
    ) -> Result<Value> {
        let started = Instant::now();
        let _waiting =
            crate::process::waits::waiting(|| format!("the D1 API's {what} on {}", db.binding));
        let mut answer = first;
        let mut polls = 0u32;
        loop {
            if answer.get("success") == Some(&Value::Bool(false)) {
                let text = answer
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("the job failed without saying why");
                return Err(anyhow!(D1Error {
                    text: text.to_owned()
                })
                .context(format!("the D1 API's {what} on {} failed", db.binding)));
            }
            match answer.get("status").and_then(Value::as_str) {
                Some("complete") => return Ok(answer),
                Some("error") => {
                    let text = job_errors(&answer);
                    return Err(anyhow!(D1Error { text })
                        .context(format!("the D1 API's {what} on {} failed", db.binding)));
                }
                _ => {}
            }
            if started.elapsed() > self.job_timeout {
                bail!(
                    "the D1 API's {what} on {} did not finish within {} s ({})",
                    db.binding,
                    self.job_timeout.as_secs(),
                    crate::wrangler::TIMEOUT_VAR
                );
            }
            let bookmark = answer
                .get("at_bookmark")
                .and_then(Value::as_str)
                .with_context(|| {
                    format!(
                        "the D1 API's {what} on {} answered without a bookmark to poll: {answer}",
                        db.binding
                    )
                })?
                .to_owned();
            // The server waits a little before it answers a start; later
            // polls are spaced out.
            if polls > 0 {
                std::thread::sleep(Duration::from_millis(100 * u64::from(polls.min(10))));
            }
            polls += 1;
            let body = poll(&bookmark).to_string();
            answer = self.send(what, &db.binding, Repeat::Always, call, || {
                http::post(url)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
            })?;
        }
    }
}

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// It changes nothing, or the same thing again (a read, a poll, an
    /// upload, a restore to a bookmark).
    Always,
    /// It changes the database: sent again only when it surely did not run.
    IfNotRun,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
