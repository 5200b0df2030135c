//! `migrate new`: creates the next migration and its rollback file.

use anyhow::{bail, Context, Result};

use crate::flags::{self, Global};
use crate::project::Project;
use crate::source;

impl flags::New {
    pub fn run(self, global: &Global) -> Result<()> {
        let (config, dir, routing) = Project::load_config(global)?;
        let database = match &global.databases[..] {
            [] => None,
            [one] => Some(one.clone()),
            _ => bail!("`new` creates one migration: give at most one --db BINDING"),
        };
        let description = slug(&self.description);
        if description.is_empty() {
            bail!("the description {:?} has no letters or digits: say what the migration does, e.g. \"add user tier\"", self.description);
        }
        if let Some(binding) = &database {
            if config.database(binding).is_none() {
                let known: Vec<_> = config.databases.iter().map(|d| &d.binding[..]).collect();
                bail!(
                    "--db {binding}: {} has no such D1 binding (it has: {})",
                    config.path.display(),
                    known.join(", ")
                );
            }
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let existing = if dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
        {
            source::load(&dir, &config, &routing)
                .context("fix the migrations folder before adding to it")?
        } else {
            Vec::new()
        };
        let version = existing.last().map_or(1, |m| m.version + 1);
        let stem = format!("{version:04}_{description}");
        let up = dir.join(format!("{stem}.sql"));
        let down = dir.join(format!("{stem}.rollback.sql"));
        let header = match &database {
            Some(binding) => format!(
                "-- Migration {version:04}: {}\n-- database: {binding}\n\n",
                self.description
            ),
            None => format!("-- Migration {version:04}: {}\n\n", self.description),
        };
        let written = [
            (&up, format!("{header}-- CREATE TABLE IF NOT EXISTS …;\n")),
            (
                &down,
                format!(
                    "-- Undo migration {version:04}: {}\n\n-- DROP TABLE IF EXISTS …;\n",
                    self.description
                ),
            ),
        ];
        for (path, text) in written {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        let binding = match &database {
            Some(binding) => binding.clone(),
            None => source::load(&dir, &config, &routing)
                .ok()
                .and_then(|all| {
                    all.into_iter()
                        .find(|m| m.version == version)
                        .map(|m| m.binding)
                })
                .unwrap_or_else(|| "(unrouted)".into()),
        };
        println!("Created {} ({binding})", up.display());
        println!("Created {}", down.display());
        println!("Write the SQL, then run `cargo migrate check` and `cargo migrate up --dry-run`.");
        Ok(())
    }
}

/// "Add user tier!" → "add_user_tier".
fn slug(description: &str) -> String {
    let mut slug = String::new();
    for c in description.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    slug.trim_end_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn slug_makes_valid_descriptions() {
        assert_eq!(super::slug("Add user tier!"), "add_user_tier");
        assert_eq!(super::slug("  API keys -- v2 "), "api_keys_v2");
        assert_eq!(super::slug("!!!"), "");
    }
}
