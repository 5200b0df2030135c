//! `migrate new`: creates the next migration and its rollback file.

use anyhow::{bail, Context, Result};

use crate::flags;

use crate::migrate::{self, Owner, Paths, Project};

impl flags::New {
    pub fn run(self, paths: &Paths) -> Result<()> {
        let (config, dir, routing) = Project::load_config(paths)?;
        let database = match &paths.databases[..] {
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
        // The database's own folder when its config entry names one; else
        // the shared folder (which a single database without one also uses).
        let sharing = migrate::sharing(&config, &dir);
        let own = match &database {
            Some(binding) if !sharing.contains(&binding.as_str()) => Some(binding.clone()),
            None if sharing.is_empty() => match &config.databases[..] {
                [only] => Some(only.binding.clone()),
                _ => bail!(
                    "every database in {} has its own migrations_dir: say which one the migration is for with --db BINDING",
                    config.path.display()
                ),
            },
            _ => None,
        };
        let dir = match &own {
            Some(binding) => config
                .database(binding)
                .map(|db| migrate::folder_of(db, &dir).to_path_buf())
                .unwrap_or(dir),
            None => dir,
        };
        let owner = match &own {
            Some(binding) => Owner::Only(binding),
            None => Owner::Shared {
                routing: &routing,
                bindings: &sharing,
            },
        };
        let layout = migrate::layout_of(own.as_deref().and_then(|b| config.database(b)))?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let existing = migrate::load_migrations(&dir, &layout, owner, &config)
            .context("fix the migrations folder before adding to it")?;
        // The default layout keeps the seed's rule in a routed shared folder
        // (one sequence, no gaps); a pattern's layout says where its
        // migrations go (a folder each, numbered like the others).
        let (version, up, down) = match layout.pattern() {
            migrate::DEFAULT_PATTERN => {
                let version = existing.last().map_or(1, |m| m.version + 1);
                let stem = format!("{version:04}_{description}");
                (
                    version,
                    dir.join(format!("{stem}.sql")),
                    dir.join(format!("{stem}.rollback.sql")),
                )
            }
            _ => {
                let next =
                    layout.next_migration(&dir, &description, std::time::SystemTime::now())?;
                (next.version, next.path, next.rollback)
            }
        };
        if let Some(folder) = up.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
        }
        let header = match database.as_ref().filter(|_| own.is_none()) {
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
            None => migrate::load_migrations(&dir, &layout, owner, &config)
                .ok()
                .and_then(|all| {
                    all.into_iter()
                        .find(|m| m.version == version)
                        .map(|m| m.binding)
                })
                .unwrap_or_else(|| "(unrouted)".into()),
        };
        crate::out!("Created {} ({binding})", up.display());
        crate::out!("Created {}", down.display());
        crate::out!(
            "Write the SQL, then run `cargo migrate check` and `cargo migrate up --dry-run`."
        );
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
