//! Notifications at the command line's edge: the channels and policy of a
//! project ([`settings`]), a run's notice once it is over ([`after`]), and
//! `migrate notify --test`.

use anyhow::{bail, Result};

use crate::flags::{self, NotifyWhen, ProjectFlags};
use crate::migrate::project::Project;
use crate::notify::notice::{DatabaseNotice, StepNotice};
use crate::notify::{self, Context, Notice, Outcome, Settings, When};

/// The channels and the policy for `project`, the flag (or
/// `MIGRATE_NOTIFY_ON`) winning over `migrate.toml`.
pub fn settings(project: &Project, flags: &ProjectFlags) -> Settings {
    let when = flags.notify.map(|when| match when {
        NotifyWhen::Failure => When::Failure,
        NotifyWhen::Always => When::Always,
        NotifyWhen::Never => When::Never,
    });
    Settings::load(&project.notify, when, |name| std::env::var(name).ok())
}

/// A run's context: what notices name it by.
pub fn context(project: &Project, event: &str, again: &str) -> Context {
    Context::from_args(
        event,
        again,
        &project.target.to_string(),
        project.config.env.as_deref(),
    )
}

/// Logs how a run ended in the project's history and tells the channels
/// (per the settings): its databases' parts, and `steps` for a release.
/// Returns `result` unchanged.
pub fn after<T>(
    project: &Project,
    settings: &Settings,
    context: &Context,
    databases: Vec<DatabaseNotice>,
    steps: Vec<StepNotice>,
    result: Result<T>,
) -> Result<T> {
    let (outcome, error) = match &result {
        Ok(_) => (Outcome::Succeeded, None),
        Err(err) => (Outcome::Failed, Some(format!("{err:#}"))),
    };
    let notice = Notice::new(context, outcome, error, databases, steps);
    super::history::record(project, &notice);
    notify::notify(settings, &notice);
    result
}

impl flags::Notify {
    pub fn run(self, project: &Project, flags: &ProjectFlags) -> Result<()> {
        let settings = settings(project, flags);
        for problem in &settings.problems {
            crate::out!("⚠️  {problem}");
        }
        if settings.channels.is_empty() {
            bail!(
                "no notification channel is configured: set MIGRATE_SMTP_URL (with MIGRATE_EMAIL_TO), \
                 MIGRATE_SLACK_WEBHOOK_URL, MIGRATE_DISCORD_WEBHOOK_URL or MIGRATE_WEBHOOK_URL (see the README)"
            );
        }
        let context = context(project, "test", "cargo migrate status");
        let databases = project
            .selected
            .iter()
            .map(|db| DatabaseNotice {
                binding: db.binding.clone(),
                name: db.name.clone(),
                outcome: "untouched",
                ..DatabaseNotice::default()
            })
            .collect();
        let notice = Notice::new(
            &context,
            Outcome::Succeeded,
            Some("a test notification from `cargo migrate notify --test`: nothing ran".into()),
            databases,
            Vec::new(),
        );
        let mut failed = Vec::new();
        for delivery in notify::deliver(&settings.channels, &notice) {
            match delivery.result {
                Ok(()) => crate::out!("✅ {}: sent", delivery.channel),
                Err(err) => {
                    crate::out!(
                        "❌ {}: {err:#} ({} attempt{})",
                        delivery.channel,
                        delivery.attempts,
                        if delivery.attempts == 1 { "" } else { "s" }
                    );
                    failed.push(delivery.channel);
                }
            }
        }
        match failed.is_empty() {
            true => Ok(()),
            false => bail!("could not notify {}", failed.join(", ")),
        }
    }
}
