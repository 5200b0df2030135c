//! Telling people what happened: email (SMTP), Slack, Discord and a signed
//! JSON webhook, on failure by default (or always, or never), saying what
//! to run next ([`notice`]).
//!
//! Channels come from the environment (`MIGRATE_SMTP_URL`,
//! `MIGRATE_EMAIL_TO`, `MIGRATE_EMAIL_FROM`, `MIGRATE_SLACK_WEBHOOK_URL`,
//! `MIGRATE_DISCORD_WEBHOOK_URL`, `MIGRATE_WEBHOOK_URL`,
//! `MIGRATE_WEBHOOK_SECRET`), recipients and the policy also from the
//! `[notify]` table of `migrate.toml`: no secret lives in a file.
//!
//! A notification never changes a run's outcome: each channel is tried in a
//! thread of its own, a few times with a short timeout, all of them within
//! [`BUDGET`]; a channel that fails is a warning that names it (never its
//! URL's secret part).

mod email;
pub mod notice;
mod webhook;

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

pub use notice::{undo_up, Collector, Context, Notice, Outcome};

use crate::migrate::NotifyTable;

/// How long all channels together may take.
pub const BUDGET: Duration = Duration::from_secs(25);

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(6);

/// How many times a channel is tried.
const ATTEMPTS: u32 = 3;

/// When notifications go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Failure,
    Always,
    Never,
}

impl When {
    /// `failure`, `always` or `never`.
    pub fn parse(text: &str) -> Result<When> {
        match text.trim().to_ascii_lowercase().as_str() {
            "failure" | "on-failure" | "failed" => Ok(When::Failure),
            "always" => Ok(When::Always),
            "never" | "off" => Ok(When::Never),
            other => bail!("notify: {other:?} is not `failure`, `always` or `never`"),
        }
    }
}

/// Where notifications go.
#[derive(Debug, Clone)]
pub enum Channel {
    Email(email::Email),
    Slack(String),
    Discord(String),
    Webhook { url: String, secret: Option<String> },
}

impl Channel {
    /// How a report names it: its kind and host, never a secret.
    pub fn name(&self) -> String {
        match self {
            Channel::Email(email) => format!("email via {}", email.server()),
            Channel::Slack(url) => format!("Slack ({})", host_of(url)),
            Channel::Discord(url) => format!("Discord ({})", host_of(url)),
            Channel::Webhook { url, .. } => format!("webhook ({})", host_of(url)),
        }
    }

    fn send(&self, notice: &Notice, timeout: Duration) -> Result<()> {
        match self {
            Channel::Email(email) => email.send(notice, timeout),
            Channel::Slack(url) => webhook::post_json(url, &webhook::slack(notice), &[], timeout),
            Channel::Discord(url) => {
                webhook::post_json(url, &webhook::discord(notice), &[], timeout)
            }
            Channel::Webhook { url, secret } => {
                webhook::post_signed(url, secret.as_deref(), notice, timeout)
            }
        }
    }
}

/// The channels and the policy of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub when: When,
    pub channels: Vec<Channel>,
    /// Channels that were asked for but cannot work, and why.
    pub problems: Vec<String>,
}

impl Settings {
    /// From the environment (`getenv`) and `migrate.toml`'s `[notify]`;
    /// `when` (a flag) wins over both.
    pub fn load(
        table: &NotifyTable,
        when: Option<When>,
        getenv: impl Fn(&str) -> Option<String>,
    ) -> Settings {
        let var = |name: &str| getenv(name).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        let when = match when {
            Some(when) => when,
            None => match var("MIGRATE_NOTIFY_ON").or_else(|| table.on.clone()) {
                Some(text) => When::parse(&text).unwrap_or_else(|err| {
                    problems.push(format!("{err:#}; notifying on failure"));
                    When::Failure
                }),
                None => When::Failure,
            },
        };
        let mut channels = Vec::new();
        if let Some(url) = var("MIGRATE_SMTP_URL") {
            let to: Vec<String> = match var("MIGRATE_EMAIL_TO") {
                Some(list) => list.split(',').map(|a| a.trim().to_owned()).collect(),
                None => table.to.clone(),
            };
            let from = var("MIGRATE_EMAIL_FROM").or_else(|| table.from.clone());
            match email::Email::new(&url, to, from) {
                Ok(email) => channels.push(Channel::Email(email)),
                Err(err) => problems.push(format!("email: {err:#}")),
            }
        }
        let mut http = |var_name: &str, make: &dyn Fn(String) -> Channel| {
            if let Some(url) = var(var_name) {
                match url.starts_with("https://") || url.starts_with("http://") {
                    true => channels.push(make(url)),
                    false => problems.push(format!("{var_name} is not an http(s) URL")),
                }
            }
        };
        http("MIGRATE_SLACK_WEBHOOK_URL", &Channel::Slack);
        http("MIGRATE_DISCORD_WEBHOOK_URL", &Channel::Discord);
        let secret = var("MIGRATE_WEBHOOK_SECRET");
        http("MIGRATE_WEBHOOK_URL", &|url| Channel::Webhook {
            url,
            secret: secret.clone(),
        });
        Settings {
            when,
            channels,
            problems,
        }
    }

    /// Whether a run that ended with `outcome` is notified.
    pub fn wants(&self, outcome: Outcome) -> bool {
        match self.when {
            When::Always => true,
            When::Failure => outcome == Outcome::Failed,
            When::Never => false,
        }
    }
}

/// What happened to one channel's delivery.
#[derive(Debug)]
pub struct Delivery {
    pub channel: String,
    pub result: Result<()>,
    pub attempts: u32,
}

/// Sends `notice` to every channel at once, each tried up to [`ATTEMPTS`]
/// times with backoff, all within [`BUDGET`]. Never fails: the deliveries say
/// how each went.
pub fn deliver(channels: &[Channel], notice: &Notice) -> Vec<Delivery> {
    let deadline = Instant::now() + BUDGET;
    std::thread::scope(|scope| {
        let handles: Vec<_> = channels
            .iter()
            .map(|channel| scope.spawn(move || deliver_one(channel, notice, deadline)))
            .collect();
        handles
            .into_iter()
            .zip(channels)
            .map(|(handle, channel)| {
                handle.join().unwrap_or_else(|_| Delivery {
                    channel: channel.name(),
                    result: Err(anyhow::anyhow!("the delivery panicked")),
                    attempts: 1,
                })
            })
            .collect()
    })
}

fn deliver_one(channel: &Channel, notice: &Notice, deadline: Instant) -> Delivery {
    let mut attempts = 0;
    let mut backoff = Duration::from_millis(500);
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let result = channel.send(notice, ATTEMPT_TIMEOUT.min(left));
        let retry = match &result {
            Ok(()) => false,
            Err(err) => !webhook::is_final(err),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if !retry || attempts >= ATTEMPTS || left < backoff + Duration::from_secs(1) {
            return Delivery {
                channel: channel.name(),
                result: result.map_err(|err| anyhow::anyhow!("{}", scrub(&format!("{err:#}")))),
                attempts,
            };
        }
        std::thread::sleep(backoff);
        backoff *= 2;
    }
}

/// Notifies `notice` when the settings want its outcome, logging a warning
/// per channel that failed (and each settings problem). Never fails.
pub fn notify(settings: &Settings, notice: &Notice) {
    for problem in &settings.problems {
        tracing::warn!("notifications: {problem}");
    }
    if !settings.wants(notice.outcome) || settings.channels.is_empty() {
        return;
    }
    let started = Instant::now();
    for delivery in deliver(&settings.channels, notice) {
        match delivery.result {
            Ok(()) => tracing::info!(channel = %delivery.channel, "notified"),
            Err(err) => tracing::warn!(
                channel = %delivery.channel,
                attempts = delivery.attempts,
                "could not notify {}: {err:#}",
                delivery.channel
            ),
        }
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "notifications done"
    );
}

/// The host of a URL (what a message may name), or `?`.
fn host_of(url: &str) -> String {
    url.split_once("://")
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .map(|authority| authority.rsplit('@').next().unwrap_or(authority).to_owned())
        .unwrap_or_else(|| "?".to_owned())
}

/// `text` without anything that could be a secret of the channels: their
/// URLs (but for the host), the webhook secret, the SMTP password, the API
/// token.
pub fn scrub(text: &str) -> String {
    let mut text = crate::process::redact(text);
    for var in [
        "MIGRATE_SMTP_URL",
        "MIGRATE_SLACK_WEBHOOK_URL",
        "MIGRATE_DISCORD_WEBHOOK_URL",
        "MIGRATE_WEBHOOK_URL",
        "MIGRATE_WEBHOOK_SECRET",
    ] {
        let Ok(value) = std::env::var(var) else {
            continue;
        };
        if value.len() < 4 {
            continue;
        }
        text = text.replace(&value, &format!("<{var}>"));
        // A URL's path and query (the token of a Slack or Discord URL), and
        // its user and password.
        if let Some((_, rest)) = value.split_once("://") {
            let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
            if tail.len() > 1 {
                text = text.replace(tail, "/***");
            }
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                text = text.replace(userinfo, "***");
                if let Some((_, password)) = userinfo.split_once(':') {
                    if password.len() >= 3 {
                        text = text.replace(password, "***");
                    }
                }
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn channels_come_from_the_environment_and_recipients_also_from_the_file() {
        let table = NotifyTable {
            to: vec!["oncall@example.com".into()],
            from: Some("migrate@example.com".into()),
            on: Some("always".into()),
        };
        let settings = Settings::load(
            &table,
            None,
            env(&[
                (
                    "MIGRATE_SMTP_URL",
                    "smtp://user:hunter22@mail.example.com:2525",
                ),
                (
                    "MIGRATE_SLACK_WEBHOOK_URL",
                    "https://hooks.slack.com/services/T0/B0/secret",
                ),
                ("MIGRATE_WEBHOOK_URL", "https://hooks.example.com/in"),
                (
                    "MIGRATE_WEBHOOK_SECRET",
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                ),
            ]),
        );
        assert_eq!(settings.when, When::Always);
        assert!(settings.problems.is_empty(), "{:?}", settings.problems);
        let names: Vec<String> = settings.channels.iter().map(Channel::name).collect();
        assert_eq!(
            names,
            [
                "email via mail.example.com:2525",
                "Slack (hooks.slack.com)",
                "webhook (hooks.example.com)"
            ]
        );
        // A flag wins over the file; nothing configured is no channel.
        let never = Settings::load(&table, Some(When::Never), env(&[]));
        assert_eq!((never.when, never.channels.len()), (When::Never, 0));
        assert!(!never.wants(Outcome::Failed));
        let default = Settings::load(&NotifyTable::default(), None, env(&[]));
        assert!(default.wants(Outcome::Failed) && !default.wants(Outcome::Succeeded));
    }

    #[test]
    fn a_bad_channel_is_a_problem_not_an_error() {
        let settings = Settings::load(
            &NotifyTable::default(),
            None,
            env(&[
                ("MIGRATE_SMTP_URL", "smtp://mail.example.com"),
                ("MIGRATE_WEBHOOK_URL", "ftp://x"),
                ("MIGRATE_NOTIFY_ON", "sometimes"),
            ]),
        );
        assert_eq!(settings.when, When::Failure);
        assert!(settings.channels.is_empty());
        let problems = settings.problems.join("\n");
        assert!(problems.contains("sometimes"), "{problems}");
        assert!(problems.contains("MIGRATE_EMAIL_TO"), "{problems}");
        assert!(problems.contains("MIGRATE_WEBHOOK_URL"), "{problems}");
    }

    #[test]
    fn hosts_are_named_and_secrets_are_not() {
        assert_eq!(
            host_of("https://hooks.slack.com/services/T/B/X"),
            "hooks.slack.com"
        );
        assert_eq!(host_of("smtp://u:p@mail:25"), "mail:25");
    }
}
