//! The email channel: a plain-text message over SMTP (lettre), STARTTLS when
//! the server offers it (`smtp://`), implicit TLS with `smtps://`.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use lettre::message::{header::ContentType, Mailbox};
use lettre::{Message, SmtpTransport, Transport};

use super::notice::{DatabaseNotice, Notice, Outcome};

/// Where mail goes, and from whom.
#[derive(Debug, Clone)]
pub struct Email {
    /// `MIGRATE_SMTP_URL`, as given (with its password: never shown).
    url: String,
    /// `host:port`, for reports.
    server: String,
    to: Vec<Mailbox>,
    from: Mailbox,
}

impl Email {
    pub fn new(url: &str, to: Vec<String>, from: Option<String>) -> Result<Email> {
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or_default();
        if !matches!(scheme, "smtp" | "smtps") {
            bail!("MIGRATE_SMTP_URL must start with smtp:// or smtps://");
        }
        let authority = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(rest))
            .unwrap_or_default();
        let server = authority.rsplit('@').next().unwrap_or(authority).to_owned();
        let to: Vec<Mailbox> = to
            .iter()
            .filter(|a| !a.trim().is_empty())
            .map(|a| {
                a.parse()
                    .with_context(|| format!("{a:?} (MIGRATE_EMAIL_TO) is not an email address"))
            })
            .collect::<Result<_>>()?;
        if to.is_empty() {
            bail!("no recipients: set MIGRATE_EMAIL_TO (comma-separated) or `to` in migrate.toml's [notify]");
        }
        let from = from
            .unwrap_or_else(|| format!("cargo migrate <migrate@{}>", crate::text::hostname()))
            .parse()
            .context("MIGRATE_EMAIL_FROM is not an email address")?;
        Ok(Email {
            url: url.to_owned(),
            server,
            to,
            from,
        })
    }

    /// `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends `notice` to every recipient, in one message.
    pub fn send(&self, notice: &Notice, timeout: Duration) -> Result<()> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(subject(notice))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message
            .body(text(notice))
            .context("cannot write the message")?;
        // STARTTLS when the server offers it, unless the URL says otherwise.
        let url = match (self.url.starts_with("smtp://"), self.url.contains("tls=")) {
            (true, false) => match self.url.contains('?') {
                true => format!("{}&tls=opportunistic", self.url),
                false => format!("{}?tls=opportunistic", self.url),
            },
            _ => self.url.clone(),
        };
        let transport = SmtpTransport::from_url(&url)
            .map_err(|err| anyhow::anyhow!("MIGRATE_SMTP_URL cannot be used: {err}"))?
            .timeout(Some(timeout))
            .build();
        transport.send(&message).map_err(|err| {
            anyhow::anyhow!(
                "{} refused the message or could not be reached: {err}",
                self.server
            )
        })?;
        Ok(())
    }
}

/// `❌ cargo migrate up failed on AUTH (remote)`.
pub fn subject(notice: &Notice) -> String {
    let failed: Vec<&str> = notice
        .databases
        .iter()
        .filter(|db| db.outcome == "failed")
        .map(|db| db.binding.as_str())
        .collect();
    let what = match notice.event.as_str() {
        "release" => "cargo xtask release".to_owned(),
        "test" => "test notification".to_owned(),
        event => format!("cargo migrate {}", event.trim_start_matches("migrate.")),
    };
    match notice.outcome {
        Outcome::Failed if !failed.is_empty() => {
            format!(
                "❌ {what} failed on {} ({})",
                failed.join(", "),
                notice.target
            )
        }
        Outcome::Failed => format!("❌ {what} failed ({})", notice.target),
        Outcome::Succeeded => format!("✅ {what} succeeded ({})", notice.target),
    }
}

/// The message, for people: what happened, per database, and what to run next.
pub fn text(notice: &Notice) -> String {
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(&mut out, subject(notice));
    line(&mut out, String::new());
    line(&mut out, format!("Command:  {}", notice.command));
    line(
        &mut out,
        format!(
            "Target:   {}{}",
            notice.target,
            notice
                .environment
                .as_deref()
                .map_or(String::new(), |e| format!(" (environment {e})"))
        ),
    );
    line(
        &mut out,
        format!(
            "Host:     {}{}",
            notice.host,
            notice
                .user
                .as_deref()
                .map_or(String::new(), |u| format!(" (user {u})"))
        ),
    );
    line(&mut out, format!("Run:      {}", notice.run_id));
    if let Some(url) = &notice.run_url {
        line(&mut out, format!("CI run:   {url}"));
    }
    line(&mut out, format!("At:       {}", notice.at));
    if let Some(error) = &notice.error {
        line(&mut out, String::new());
        line(&mut out, format!("Error: {error}"));
    }
    if !notice.steps.is_empty() {
        line(&mut out, String::new());
        line(&mut out, "Steps:".into());
        for step in &notice.steps {
            line(&mut out, format!("  {:<12} {}", step.name, step.status));
        }
    }
    for db in &notice.databases {
        line(&mut out, String::new());
        database(&mut out, db);
    }
    out
}

fn database(out: &mut String, db: &DatabaseNotice) {
    let version = |v: Option<u64>| v.map_or("unknown".to_owned(), |v| v.to_string());
    out.push_str(&format!(
        "{} ({}): {} — version {} before, {} now\n",
        db.binding,
        db.name,
        db.outcome,
        version(db.version_before),
        version(db.version_now)
    ));
    let verb = match db.direction {
        Some("down") => "rolled back",
        _ => "applied",
    };
    for m in &db.migrations {
        out.push_str(&format!(
            "  {verb}: v{} {}{}\n",
            m.version,
            m.name,
            m.duration_ms
                .map_or(String::new(), |ms| format!(" ({ms} ms)"))
        ));
    }
    if let Some(failure) = &db.failure {
        out.push_str(&format!(
            "  failed: migration {} ({}) at {}:{}\n  statement: {}\n  D1 said: {}\n",
            failure.version,
            failure.name,
            failure.file.display(),
            failure.line,
            failure.statement,
            failure.error
        ));
    } else if let Some(error) = &db.error {
        out.push_str(&format!("  error: {error}\n"));
    }
    if let Some(holds) = db.holds {
        out.push_str(&format!("  the database holds: {holds}\n"));
    }
    if let Some(backup) = &db.backup {
        out.push_str(&format!("  backup: {}\n", backup.file.display()));
        if let Some(bookmark) = &backup.bookmark {
            out.push_str(&format!("  Time Travel bookmark: {bookmark}\n"));
        }
    }
    if !db.next.is_empty() {
        out.push_str("  What to do next:\n");
        for step in &db.next {
            out.push_str(&format!("    - {}:\n        {}\n", step.what, step.command));
        }
    }
}
