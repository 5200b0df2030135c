//! The HTTP channels: Slack and Discord incoming webhooks, and the JSON
//! webhook signed as Standard Webhooks sign (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">` keyed with the `whsec_` secret), so that receivers
//! can check it with an existing verifier.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::email::{subject, text};
use super::notice::Notice;
use crate::http;

/// A delivery the receiver refused for good (a 4xx but 408 and 429): trying
/// again would not help.
#[derive(Debug)]
pub struct Refused(pub u16);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the receiver refused it ({})", self.0)
    }
}

impl std::error::Error for Refused {}

/// True when `err` is not worth another attempt.
pub fn is_final(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<Refused>())
}

/// POSTs `body` as JSON with `headers`; a 2xx is delivered.
pub fn post_json(
    url: &str,
    body: &Value,
    headers: &[(&str, String)],
    timeout: Duration,
) -> Result<()> {
    post(url, serde_json::to_vec(body)?, headers, timeout)
}

fn post(url: &str, body: Vec<u8>, headers: &[(&str, String)], timeout: Duration) -> Result<()> {
    let mut request = http::post(url)
        .header("Content-Type", "application/json")
        .timeout(timeout)
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let reply = request.send()?;
    match reply.status {
        200..=299 => Ok(()),
        408 | 429 => bail!("the receiver answered {} (busy)", reply.status),
        400..=499 => Err(anyhow::Error::new(Refused(reply.status))),
        status => bail!("the receiver answered {status}"),
    }
}

/// POSTs `notice` as JSON, signed when there is a `secret`.
pub fn post_signed(
    url: &str,
    secret: Option<&str>,
    notice: &Notice,
    timeout: Duration,
) -> Result<()> {
    let body = serde_json::to_vec(notice)?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut headers = vec![
        ("webhook-id", notice.id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
    ];
    if let Some(secret) = secret {
        headers.push((
            "webhook-signature",
            sign(secret, &notice.id, timestamp, &body)?,
        ));
    }
    post(url, body, &headers, timeout)
}

/// The `webhook-signature` header of `body`: `v1,` and the base64 HMAC-SHA256
/// of `id.timestamp.body`, keyed with the secret's bytes (the base64 after
/// `whsec_`; a secret without that prefix is used as it is).
pub fn sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Result<String> {
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD
            .decode(encoded)
            .context("MIGRATE_WEBHOOK_SECRET: the part after whsec_ is not base64")?,
        None => secret.as_bytes().to_vec(),
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).context("an HMAC key")?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Slack's incoming-webhook message: `text` (the notification's fallback)
/// and `blocks`.
pub fn slack(notice: &Notice) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&subject(notice), 150)}
    })];
    let mut context = format!(
        "*Command:* `{}`\n*Target:* {}{}\n*Host:* {} · *Run:* {}",
        notice.command,
        notice.target,
        notice
            .environment
            .as_deref()
            .map_or(String::new(), |e| format!(" ({e})")),
        notice.host,
        notice.run_id
    );
    if let Some(url) = &notice.run_url {
        context.push_str(&format!(" · <{url}|CI run>"));
    }
    if let Some(error) = &notice.error {
        context.push_str(&format!("\n*Error:* {}", cut(error, 1500)));
    }
    blocks
        .push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&context, 2900)}}));
    for db in &notice.databases {
        let mut part = format!(
            "*{}* ({}): *{}*, version {} → {}",
            db.binding,
            db.name,
            db.outcome,
            db.version_before.map_or("?".into(), |v| v.to_string()),
            db.version_now.map_or("unknown".into(), |v| v.to_string()),
        );
        for m in &db.migrations {
            part.push_str(&format!("\n• v{} {}", m.version, m.name));
        }
        if let Some(f) = &db.failure {
            part.push_str(&format!(
                "\n*Failed at* `{}:{}` (v{} {})\n```{}```\nD1: {}",
                f.file.display(),
                f.line,
                f.version,
                f.name,
                cut(&f.statement, 500),
                cut(&f.error, 500)
            ));
        } else if let Some(error) = &db.error {
            part.push_str(&format!("\n*Error:* {}", cut(error, 800)));
        }
        if let Some(backup) = &db.backup {
            part.push_str(&format!("\n*Backup:* `{}`", backup.file.display()));
            if let Some(bookmark) = &backup.bookmark {
                part.push_str(&format!(" · bookmark `{bookmark}`"));
            }
        }
        for step in &db.next {
            part.push_str(&format!("\n_{}:_ `{}`", step.what, step.command));
        }
        blocks
            .push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&part, 2900)}}));
    }
    json!({"text": cut(&summary(notice), 3000), "blocks": blocks})
}

/// Slack's top-level `text`: all that a phone's notification (and a screen
/// reader) shows, since neither reads the blocks. One paragraph: the
/// subject; each database that failed, where, what it holds and what to run
/// next; the others in a few words.
fn summary(notice: &Notice) -> String {
    let version = |v: Option<u64>| v.map_or("unknown".to_owned(), |v| v.to_string());
    let mut parts = vec![format!("{}.", subject(notice))];
    let failed_steps: Vec<&str> = notice
        .steps
        .iter()
        .filter(|step| step.status == "failed")
        .map(|step| step.name.as_str())
        .collect();
    if !failed_steps.is_empty() {
        parts.push(format!("Failed step: {}.", failed_steps.join(", ")));
    }
    let any_failed = notice.databases.iter().any(|db| db.outcome == "failed");
    if let (Some(error), false) = (&notice.error, any_failed) {
        parts.push(format!("{}.", cut(error.trim_end_matches('.'), 300)));
    }
    // The failed first: a phone shows the start alone.
    let (failed, others): (Vec<_>, Vec<_>) = notice
        .databases
        .iter()
        .partition(|db| db.outcome == "failed");
    for db in failed.into_iter().chain(others) {
        let mut part = match db.name.is_empty() {
            true => format!("{} {}", db.binding, db.outcome),
            false => format!("{} ({}) {}", db.binding, db.name, db.outcome),
        };
        match db.outcome {
            "failed" => {
                if let Some(f) = &db.failure {
                    part.push_str(&format!(
                        " at migration {} ({}), {}:{}: {}",
                        f.version,
                        f.name,
                        f.file.display(),
                        f.line,
                        cut(&f.error, 300)
                    ));
                } else if let Some(error) = &db.error {
                    part.push_str(&format!(": {}", cut(error, 300)));
                }
                part.push_str(&match db.holds {
                    Some("untouched") => {
                        format!("; it is as it was (version {})", version(db.version_now))
                    }
                    Some("kept") => format!(
                        "; it keeps the migrations before the failure (version {})",
                        version(db.version_now)
                    ),
                    _ => "; what it holds now is unknown".to_owned(),
                });
                if let Some(next) = db.next.first() {
                    part.push_str(&format!(". Next, {}: `{}`", next.what, next.command));
                }
            }
            "succeeded" => part.push_str(&format!(
                ", version {} → {}",
                version(db.version_before),
                version(db.version_now)
            )),
            _ => part.push_str(&format!(" at version {}", version(db.version_now))),
        }
        parts.push(format!("{part}."));
    }
    parts.push(match &notice.run_url {
        Some(url) => format!("Run {} on {}: {url}", notice.run_id, notice.host),
        None => format!("Run {} on {}.", notice.run_id, notice.host),
    });
    parts.join(" ").replace('\n', " ")
}

/// Discord's webhook message: the email's text, cut to Discord's limit.
pub fn discord(notice: &Notice) -> Value {
    json!({"content": cut(&format!("```\n{}\n```", cut(&text(notice), 1980)), 2000)})
}

/// `text` cut to at most `max` characters.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text.chars().count() > max => format!("{}…", &text[..at]),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_example_does() {
        // The example of the Standard Webhooks specification.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_slack_message_has_a_fallback_text_and_the_failing_statement() {
        let notice = super::super::notice::tests::failed_run();
        let message = slack(&notice);
        // What a phone shows: one paragraph that says what to do.
        let text = message["text"].as_str().unwrap();
        for needle in [
            "failed on AUTH",
            "AUTH (nanotype-auth) failed at migration 5 (add_permissions_table)",
            "migrations/0005_add_permissions_table.sql:3: no such table: missing",
            "it is as it was (version 4)",
            "`cargo migrate up --remote --db AUTH`",
            "READ_REPLICA",
        ] {
            assert!(text.contains(needle), "{needle:?} is not in {text:?}");
        }
        assert!(!text.contains('\n'), "{text:?}");
        let blocks = message["blocks"].to_string();
        assert!(
            blocks.contains("0005_add_permissions_table.sql:3"),
            "{blocks}"
        );
        assert!(
            blocks.contains("INSERT INTO missing VALUES (1)"),
            "{blocks}"
        );
        assert!(
            blocks.contains("cargo migrate up --remote --db AUTH"),
            "{blocks}"
        );
        assert!(discord(&notice)["content"].as_str().unwrap().len() <= 2000);
    }

    #[test]
    fn a_client_error_is_final_and_a_server_error_is_not() {
        assert!(is_final(&anyhow::Error::new(Refused(404))));
        assert!(!is_final(&anyhow::anyhow!("the receiver answered 500")));
    }
}
