//! The generated migration sets bench runs on: a project with both
//! databases' migrations, ours in one folder and wrangler's per database.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::BINDINGS;

/// A project with `size` migrations alternating between the two databases:
/// ours in `migrations/` (one global sequence, `-- database:` headers) and
/// the same files per database under `wrangler-migrations/` for wrangler.
pub(super) fn generate(dir: &Path, size: usize) -> Result<()> {
    let mut toml = String::from("name = \"bench\"\ncompatibility_date = \"2025-11-01\"\n");
    for (index, binding) in BINDINGS.iter().enumerate() {
        write!(
            toml,
            "\n[[d1_databases]]\nbinding = \"{binding}\"\ndatabase_name = \"bench-{}\"\ndatabase_id = \"00000000-0000-4000-8000-00000000000{index}\"\nmigrations_dir = \"wrangler-migrations/{binding}\"\n",
            binding.to_lowercase()
        )?;
        std::fs::create_dir_all(dir.join("wrangler-migrations").join(binding))?;
    }
    std::fs::create_dir_all(dir.join("migrations"))?;
    std::fs::write(dir.join("wrangler.toml"), toml)?;
    for version in 1..=size {
        let binding = BINDINGS[version % 2];
        let name = format!("{version:04}_bench_{version}.sql");
        let sql = format!("-- database: {binding}\n{}", migration_sql(version));
        std::fs::write(dir.join("migrations").join(&name), &sql)?;
        std::fs::write(
            dir.join("wrangler-migrations").join(binding).join(&name),
            &sql,
        )?;
    }
    Ok(())
}

/// A realistic migration: a table, and by turns an index, a trigger and a
/// multi-row insert.
pub(super) fn migration_sql(version: usize) -> String {
    let table = format!("bench_{version}");
    let mut sql = format!(
        "CREATE TABLE IF NOT EXISTS {table} (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL,\n  score REAL,\n  updated_at INTEGER NOT NULL DEFAULT 0\n);\n"
    );
    if version.is_multiple_of(2) {
        writeln!(
            sql,
            "CREATE INDEX IF NOT EXISTS idx_{table}_name ON {table}(name);"
        )
        .ok();
    }
    if version.is_multiple_of(3) {
        writeln!(
            sql,
            "CREATE TRIGGER IF NOT EXISTS trg_{table} AFTER UPDATE OF name ON {table}\nBEGIN\n  UPDATE {table} SET updated_at = updated_at + 1 WHERE id = NEW.id;\nEND;"
        )
        .ok();
    }
    let rows: Vec<String> = (1..=25)
        .map(|i| format!("({i}, 'row {i}; of {table}', {}.5)", i * 3))
        .collect();
    writeln!(
        sql,
        "INSERT INTO {table} (id, name, score) VALUES\n  {};",
        rows.join(",\n  ")
    )
    .ok();
    sql
}

pub(super) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The `.sql` files of `dir`, in name order, as one text.
pub(super) fn concatenated(dir: &Path) -> Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "sql"));
    files.sort();
    let mut text = String::new();
    for file in files {
        text.push_str(&std::fs::read_to_string(&file)?);
        text.push('\n');
    }
    Ok(text)
}
