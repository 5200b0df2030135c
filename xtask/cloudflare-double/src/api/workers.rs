//! Workers, for `wrangler deploy` and `delete`: scripts and their versions, deployments,
//! settings, subdomains and schedules, kept in memory; every upload is recorded under
//! `<data-dir>/deploys/<n>/`. KV namespaces and zone routes always list empty.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use super::http::{bad_request, body_json, no_route, ok, ok_list, Reply, Req};
use super::App;
use crate::d1::{lock, ApiError};
use crate::multipart;
use crate::util::{iso8601, md5_hex, now_ms, random_hex, uuid_v4};

/// The workers.dev subdomain of the double's account.
pub const WORKERS_SUBDOMAIN: &str = "double";

/// One recorded worker upload.
#[derive(Debug, Clone, Serialize)]
pub struct DeployRecord {
    pub script_name: String,
    pub metadata: Value,
    pub files: Vec<String>,
}

#[derive(Debug, Clone)]
struct Version {
    id: String,
    number: u64,
    created_on: u64,
    metadata: Value,
    etag: String,
}

#[derive(Debug, Clone)]
struct Script {
    tag: String,
    created_on: u64,
    modified_on: u64,
    compatibility_date: Value,
    versions: Vec<Version>,
    /// Newest first.
    deployments: Vec<Value>,
    subdomain_enabled: bool,
    previews_enabled: bool,
    schedules: Value,
    settings: serde_json::Map<String, Value>,
}

/// Every script and every upload so far.
#[derive(Default)]
pub(super) struct Workers {
    scripts: BTreeMap<String, Script>,
    deploys: Vec<DeployRecord>,
}

impl App {
    /// The recorded worker uploads.
    pub fn deploys(&self) -> Vec<DeployRecord> {
        lock(&self.workers).deploys.clone()
    }

    pub(super) fn service(&self, name: &str) -> Result<Reply, ApiError> {
        let workers = lock(&self.workers);
        let script = workers
            .scripts
            .get(name)
            .ok_or_else(|| ApiError::new(404, 10090, "workers.api.error.service_not_found"))?;
        let etag = script
            .versions
            .last()
            .map(|v| v.etag.clone())
            .unwrap_or_default();
        Ok(ok(&json!({
            "id": name,
            "created_on": iso8601(script.created_on),
            "modified_on": iso8601(script.modified_on),
            "default_environment": {
                "environment": "production",
                "created_on": iso8601(script.created_on),
                "modified_on": iso8601(script.modified_on),
                "script": {
                    "id": name,
                    "tag": script.tag,
                    "tags": [],
                    "etag": etag,
                    "handlers": ["fetch"],
                    "created_on": iso8601(script.created_on),
                    "modified_on": iso8601(script.modified_on),
                    "usage_model": "standard",
                    "compatibility_date": script.compatibility_date,
                    "last_deployed_from": "wrangler",
                },
            },
        })))
    }

    /// A worker upload (`PUT …/scripts/:name`, or a new version with `POST …/versions`): recorded
    /// under `<data-dir>/deploys/<n>/`.
    pub(super) fn upload_script(
        &self,
        req: &Req,
        name: &str,
        version_only: bool,
    ) -> Result<Reply, ApiError> {
        let content_type = req.header("content-type").unwrap_or("");
        let parts = multipart::parse(content_type, &req.body)
            .map_err(|e| ApiError::new(400, 10001, format!("Invalid worker upload: {e}")))?;
        let metadata_part = parts
            .iter()
            .find(|p| p.name == "metadata")
            .ok_or_else(|| ApiError::new(400, 10001, "Invalid worker upload: no metadata part"))?;
        let metadata: Value = serde_json::from_slice(&metadata_part.data).map_err(|e| {
            ApiError::new(
                400,
                10001,
                format!("Invalid worker upload: metadata is not JSON: {e}"),
            )
        })?;
        let files: Vec<&multipart::Part> = parts.iter().filter(|p| p.name != "metadata").collect();

        let mut workers = lock(&self.workers);
        if version_only && !workers.scripts.contains_key(name) {
            return Err(script_not_found(name));
        }
        let n = workers.deploys.len() + 1;
        let dir = self.data_dir.join("deploys").join(n.to_string());
        write_deploy(&dir, &metadata_part.data, &files).map_err(ApiError::internal)?;
        workers.deploys.push(DeployRecord {
            script_name: name.to_string(),
            metadata: metadata.clone(),
            files: files.iter().map(|p| p.name.clone()).collect(),
        });

        let now = now_ms();
        let script = workers
            .scripts
            .entry(name.to_string())
            .or_insert_with(|| Script {
                tag: random_hex(32),
                created_on: now,
                modified_on: now,
                compatibility_date: Value::Null,
                versions: Vec::new(),
                deployments: Vec::new(),
                subdomain_enabled: false,
                previews_enabled: false,
                schedules: json!([]),
                settings: serde_json::Map::new(),
            });
        script.modified_on = now;
        script.compatibility_date = metadata
            .get("compatibility_date")
            .cloned()
            .unwrap_or(Value::Null);
        let version = Version {
            id: uuid_v4(),
            number: script.versions.len() as u64 + 1,
            created_on: now,
            metadata: metadata.clone(),
            etag: md5_hex(&req.body),
        };
        script.versions.push(version.clone());
        if version_only {
            return Ok(ok(&version_json(&version)));
        }
        let deployment = deployment_json(&[(version.id.clone(), 100.0)], &Value::Null);
        script.deployments.insert(0, deployment);
        Ok(ok(&json!({
            "id": name,
            "tag": script.tag,
            "etag": version.etag,
            "handlers": ["fetch"],
            "created_on": iso8601(script.created_on),
            "modified_on": iso8601(script.modified_on),
            "usage_model": "standard",
            "compatibility_date": script.compatibility_date,
            "has_modules": metadata.get("main_module").is_some(),
            "deployment_id": version.id,
            "startup_time_ms": 1,
        })))
    }

    /// `DELETE …/workers/scripts/:name` or `…/workers/services/:name`.
    pub(super) fn delete_script(&self, name: &str) -> Result<Reply, ApiError> {
        lock(&self.workers)
            .scripts
            .remove(name)
            .ok_or_else(|| script_not_found(name))?;
        Ok(ok(&Value::Null))
    }

    pub(super) fn script_endpoint(
        &self,
        req: &Req,
        name: &str,
        rest: &[&str],
    ) -> Result<Reply, ApiError> {
        let m = req.method.as_str();
        let mut workers = lock(&self.workers);
        let script = workers
            .scripts
            .get_mut(name)
            .ok_or_else(|| script_not_found(name))?;
        match (m, rest) {
            ("GET", ["deployments"]) => Ok(ok(&json!({ "deployments": script.deployments }))),
            ("POST", ["deployments"]) => {
                let body = body_json(req)?;
                let mut traffic = Vec::new();
                for v in body
                    .get("versions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let id = v
                        .get("version_id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    if !script.versions.iter().any(|x| x.id == id) {
                        return Err(ApiError::new(
                            400,
                            10212,
                            format!("Version {id} does not exist"),
                        ));
                    }
                    traffic.push((
                        id,
                        v.get("percentage").and_then(Value::as_f64).unwrap_or(0.0),
                    ));
                }
                if traffic.is_empty() {
                    return Err(bad_request("A deployment needs at least one version"));
                }
                let deployment =
                    deployment_json(&traffic, body.get("annotations").unwrap_or(&Value::Null));
                script.deployments.insert(0, deployment.clone());
                Ok(ok(&deployment))
            }
            ("GET", ["versions"]) => {
                let items: Vec<Value> = script.versions.iter().rev().map(version_json).collect();
                Ok(ok(&json!({ "items": items })))
            }
            ("GET", ["versions", id]) => script
                .versions
                .iter()
                .find(|v| v.id == *id)
                .map(|v| ok(&version_json(v)))
                .ok_or_else(|| ApiError::new(404, 10007, format!("Version {id} not found"))),
            ("GET", ["subdomain"]) => Ok(ok(
                &json!({ "enabled": script.subdomain_enabled, "previews_enabled": script.previews_enabled }),
            )),
            ("POST", ["subdomain"]) => {
                let body = body_json(req)?;
                if let Some(e) = body.get("enabled").and_then(Value::as_bool) {
                    script.subdomain_enabled = e;
                }
                match body.get("previews_enabled").and_then(Value::as_bool) {
                    Some(p) => script.previews_enabled = p,
                    None => script.previews_enabled = script.subdomain_enabled,
                }
                Ok(ok(
                    &json!({ "enabled": script.subdomain_enabled, "previews_enabled": script.previews_enabled }),
                ))
            }
            ("GET", ["schedules"]) => Ok(ok(&json!({ "schedules": script.schedules }))),
            ("PUT", ["schedules"]) => {
                script.schedules = body_json(req)?;
                Ok(ok(&json!({ "schedules": script.schedules })))
            }
            ("GET", ["script-settings"]) => Ok(ok(&script.settings)),
            ("GET", ["settings"]) => {
                // The settings API: the bindings and runtime settings of the deployed version.
                let latest = script
                    .versions
                    .last()
                    .map(|v| v.metadata.clone())
                    .unwrap_or(Value::Null);
                let mut settings = serde_json::Map::new();
                settings.insert(
                    "bindings".into(),
                    latest.get("bindings").cloned().unwrap_or(json!([])),
                );
                settings.insert(
                    "compatibility_date".into(),
                    latest
                        .get("compatibility_date")
                        .cloned()
                        .unwrap_or(Value::Null),
                );
                settings.insert(
                    "compatibility_flags".into(),
                    latest
                        .get("compatibility_flags")
                        .cloned()
                        .unwrap_or(json!([])),
                );
                settings.insert("logpush".into(), json!(false));
                settings.insert("placement".into(), json!({}));
                settings.insert("tail_consumers".into(), json!([]));
                settings.insert("usage_model".into(), json!("standard"));
                settings.extend(script.settings.clone());
                Ok(ok(&settings))
            }
            ("PATCH", ["script-settings"]) => {
                if let Value::Object(map) = body_json(req)? {
                    script.settings.extend(map);
                }
                Ok(ok(&script.settings))
            }
            ("PATCH", ["settings"]) => {
                // The settings API takes a multipart form whose `settings` part is JSON.
                let content_type = req.header("content-type").unwrap_or("");
                let settings = multipart::parse(content_type, &req.body)
                    .ok()
                    .and_then(|parts| parts.into_iter().find(|p| p.name == "settings"))
                    .map(|p| p.data)
                    .unwrap_or_else(|| req.body.clone());
                if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&settings) {
                    script.settings.extend(map);
                }
                Ok(ok(&script.settings))
            }
            _ => Err(no_route(&format!(
                "/workers/scripts/{name}/{}",
                rest.join("/")
            ))),
        }
    }
}

/// `GET …/workers/subdomain`: the account's workers.dev subdomain.
pub(super) fn subdomain() -> Reply {
    ok(&json!({ "subdomain": WORKERS_SUBDOMAIN }))
}

/// `GET …/storage/kv/namespaces`: always empty.
pub(super) fn kv_namespaces() -> Reply {
    ok_list(
        &[],
        json!({ "page": 1, "per_page": 100, "count": 0, "total_count": 0 }),
    )
}

/// `GET /zones` and `GET /zones/:z/workers/routes`: always empty.
pub(super) fn zones() -> Reply {
    ok_list(
        &[],
        json!({ "page": 1, "per_page": 50, "count": 0, "total_count": 0 }),
    )
}

fn script_not_found(name: &str) -> ApiError {
    ApiError::new(
        404,
        10007,
        format!("This Worker ({name}) does not exist on your account."),
    )
}

fn deployment_json(traffic: &[(String, f64)], annotations: &Value) -> Value {
    json!({
        "id": uuid_v4(),
        "source": "wrangler",
        "strategy": "percentage",
        "author_email": "double@example.com",
        "created_on": iso8601(now_ms()),
        "annotations": annotations,
        "versions": traffic.iter().map(|(id, p)| json!({ "version_id": id, "percentage": p })).collect::<Vec<_>>(),
    })
}

fn version_json(v: &Version) -> Value {
    json!({
        "id": v.id,
        "number": v.number,
        "metadata": {
            "author_email": "double@example.com",
            "source": "wrangler",
            "created_on": iso8601(v.created_on),
            "modified_on": iso8601(v.created_on),
        },
        "annotations": v.metadata.get("annotations").cloned().unwrap_or(json!({})),
        "resources": {
            "script": { "etag": v.etag, "handlers": ["fetch"], "last_deployed_from": "wrangler" },
            "script_runtime": {
                "compatibility_date": v.metadata.get("compatibility_date"),
                "compatibility_flags": v.metadata.get("compatibility_flags").cloned().unwrap_or(json!([])),
                "usage_model": "standard",
            },
            "bindings": v.metadata.get("bindings").cloned().unwrap_or(json!([])),
        },
        "startup_time_ms": 1,
    })
}

fn write_deploy(dir: &Path, metadata: &[u8], files: &[&multipart::Part]) -> std::io::Result<()> {
    fs::create_dir_all(dir.join("files"))?;
    fs::write(dir.join("metadata.json"), metadata)?;
    for part in files {
        let path = dir.join("files").join(safe_relative(&part.name));
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, &part.data)?;
    }
    Ok(())
}

/// Keeps a worker module name usable as a relative file path.
fn safe_relative(name: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for seg in name.split(['/', '\\']) {
        match seg {
            "" | "." => continue,
            ".." => out.push("_"),
            s => out.push(s),
        }
    }
    if out.as_os_str().is_empty() {
        out.push("_");
    }
    out
}
