//! `migrate notify --test`: a test message to every configured channel.

use anyhow::{bail, Result};

use crate::args::ProjectFlags;
use crate::flags;
use crate::migrate::Project;
use crate::notify::notice::DatabaseNotice;
use crate::notify::{self, Notice, Outcome};

impl flags::Notify {
    pub fn run(self, project: &Project, flags: &ProjectFlags) -> Result<()> {
        let settings = flags.notify_settings(project);
        for problem in &settings.problems {
            crate::out!("⚠️  {problem}");
        }
        if settings.channels.is_empty() {
            bail!(
                "no notification channel is configured: set MIGRATE_SMTP_URL (with MIGRATE_EMAIL_TO), \
                 MIGRATE_SLACK_WEBHOOK_URL, MIGRATE_DISCORD_WEBHOOK_URL or MIGRATE_WEBHOOK_URL (see docs/notifications.md)"
            );
        }
        let context = crate::jobs::context(project, "test", "cargo migrate status");
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
