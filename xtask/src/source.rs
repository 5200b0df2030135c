//! The migrations folder, parsed once into a validated list of [`Migration`]s.
//!
//! Names, the global version sequence, routing to databases and checksums are
//! all settled here, so nothing downstream ever looks at a file name again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::Config;

/// One migration: its up SQL and, when present, its rollback.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: u64,
    /// The file stem, e.g. `0002_api_keys`: what the tracking table records.
    pub name: String,
    pub path: PathBuf,
    /// The file's text, BOM removed and CRLF folded to LF.
    pub sql: String,
    pub checksum: String,
    /// The binding of the database it belongs to.
    pub binding: String,
    pub rollback: Option<Script>,
}

/// A rollback file.
#[derive(Debug, Clone)]
pub struct Script {
    pub path: PathBuf,
    pub sql: String,
    pub checksum: String,
}

/// `migrations/migrate.toml`: how migrations are routed to databases.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// The binding that gets every migration no route claims.
    pub default: Option<String>,
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub binding: String,
    pub contains: Vec<String>,
}

pub const ROUTING_FILE: &str = "migrate.toml";

impl Routing {
    /// Reads `migrate.toml` from the migrations folder; none is the empty routing.
    pub fn load(dir: &Path) -> Result<Routing> {
        let path = dir.join(ROUTING_FILE);
        if !path.exists() {
            return Ok(Routing::default());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
    }

    /// The database unrouted migrations go to, which `D1_DATABASE_NAME` renames.
    pub fn default_binding<'a>(&'a self, config: &'a Config) -> Option<&'a str> {
        match &self.default {
            Some(binding) => Some(binding),
            None => config.databases.first().map(|db| &db.binding[..]),
        }
    }

    /// Which database a file belongs to, and why (for error messages).
    fn route(&self, stem: &str, sql: &str, config: &Config) -> Result<String, String> {
        if let Some(binding) = header_binding(sql) {
            return Ok(binding);
        }
        if let Some(route) = self
            .routes
            .iter()
            .find(|route| route.contains.iter().any(|part| stem.contains(&part[..])))
        {
            return Ok(route.binding.clone());
        }
        if let Some(default) = &self.default {
            return Ok(default.clone());
        }
        match &config.databases[..] {
            [only] => Ok(only.binding.clone()),
            _ => Err(format!(
                "cannot tell which database it belongs to: add a `-- database: BINDING` line at its top, \
                 or a `default` to {ROUTING_FILE}"
            )),
        }
    }
}

/// `-- database: BINDING` among the file's leading comment lines.
fn header_binding(sql: &str) -> Option<String> {
    sql.lines()
        .map(str::trim)
        .take_while(|line| line.is_empty() || line.starts_with("--"))
        .filter_map(|line| line.trim_start_matches('-').trim().split_once(':'))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("database"))
        .map(|(_, binding)| binding.trim().to_owned())
}

/// Reads a SQL file: removes a leading BOM, folds CRLF to LF, insists on UTF-8.
pub fn read_sql(path: &Path) -> Result<(String, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = String::from_utf8(bytes.to_vec()).map_err(|err| {
        anyhow::anyhow!(
            "{} is not valid UTF-8 (first bad byte at offset {}): save it as UTF-8",
            path.display(),
            err.utf8_error().valid_up_to()
        )
    })?;
    let text = text.replace("\r\n", "\n");
    let checksum = checksum(&text);
    Ok((text, checksum))
}

/// SHA-256 of the normalised text, as lower-case hex.
pub fn checksum(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What a file name says it is.
#[derive(Debug, PartialEq, Eq)]
enum FileKind {
    Up,
    Rollback,
}

/// Parses `NNNN_description.sql` / `NNNN_description.rollback.sql`.
fn parse_name(file_name: &str) -> Result<(u64, String, FileKind), String> {
    let (stem, kind) = if let Some(stem) = file_name.strip_suffix(".rollback.sql") {
        (stem, FileKind::Rollback)
    } else if let Some(stem) = file_name.strip_suffix(".sql") {
        (stem, FileKind::Up)
    } else {
        return Err("not a .sql file".into());
    };
    let expected = "names must look like 0007_add_users.sql (digits, `_`, then lower-case letters, digits and `_`)";
    let Some((digits, description)) = stem.split_once('_') else {
        return Err(format!("has no `_` after its version: {expected}"));
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("does not start with a numeric version: {expected}"));
    }
    if description.is_empty()
        || !description
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!("has a bad description: {expected}"));
    }
    let version = digits
        .parse::<u64>()
        .map_err(|_| format!("has a version too large: {expected}"))?;
    Ok((version, stem.to_owned(), kind))
}

/// Reads and validates the whole folder. Every problem found is reported at once.
pub fn load(dir: &Path, config: &Config, routing: &Routing) -> Result<Vec<Migration>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read the migrations folder {}: pass `--migrations-dir DIR`, or create it with `cargo migrate new`",
            dir.display()
        )
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if entry.path().is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();

    let mut problems = Vec::new();
    let mut ups: BTreeMap<u64, Vec<(String, PathBuf)>> = BTreeMap::new();
    let mut rollbacks: BTreeMap<String, PathBuf> = BTreeMap::new();
    for name in &names {
        if !name.ends_with(".sql") {
            continue; // migrate.toml, README.md, schema snapshots' folder and the like
        }
        let path = dir.join(name);
        match parse_name(name) {
            Ok((version, stem, FileKind::Up)) => ups.entry(version).or_default().push((stem, path)),
            Ok((_, stem, FileKind::Rollback)) => {
                rollbacks.insert(stem, path);
            }
            Err(why) => problems.push(format!("{}: {why}", path.display())),
        }
    }

    for (version, files) in &ups {
        if files.len() > 1 {
            let list: Vec<_> = files.iter().map(|(_, p)| p.display().to_string()).collect();
            problems.push(format!(
                "version {version} is used by more than one file: {}; renumber all but one",
                list.join(" and ")
            ));
        }
    }
    let mut expected = 1;
    let mut previous: Option<&PathBuf> = None;
    for (version, files) in &ups {
        let path = &files[0].1;
        if *version != expected {
            let after = previous.map_or("the start".to_owned(), |p| p.display().to_string());
            problems.push(format!(
                "versions must run 1, 2, 3, … with no gaps: {} comes after {after} (expected version {expected})",
                path.display()
            ));
        }
        expected = version + 1;
        previous = Some(path);
    }
    for (stem, path) in &rollbacks {
        let has_up = ups.values().flatten().any(|(up, _)| up == stem);
        if !has_up {
            problems.push(format!(
                "{} has no matching {stem}.sql: rename it or remove it",
                path.display()
            ));
        }
    }

    let mut migrations = Vec::new();
    for (version, files) in &ups {
        let (stem, path) = &files[0];
        let (sql, checksum) = match read_sql(path) {
            Ok(read) => read,
            Err(err) => {
                problems.push(format!("{err:#}"));
                continue;
            }
        };
        let rollback = match rollbacks
            .get(stem)
            .map(|path| read_sql(path).map(|r| (path, r)))
        {
            None => None,
            Some(Ok((path, (sql, checksum)))) => Some(Script {
                path: path.clone(),
                sql,
                checksum,
            }),
            Some(Err(err)) => {
                problems.push(format!("{err:#}"));
                None
            }
        };
        let binding = match routing.route(stem, &sql, config) {
            Ok(binding) if config.database(&binding).is_some() => binding,
            Ok(binding) => {
                let known: Vec<_> = config.databases.iter().map(|d| &d.binding[..]).collect();
                problems.push(format!(
                    "{} belongs to database {binding}, which {} does not declare (it has: {})",
                    path.display(),
                    config.path.display(),
                    known.join(", ")
                ));
                continue;
            }
            Err(why) => {
                problems.push(format!("{}: {why}", path.display()));
                continue;
            }
        };
        migrations.push(Migration {
            version: *version,
            name: stem.clone(),
            path: path.clone(),
            sql,
            checksum,
            binding,
            rollback,
        });
    }

    match problems.len() {
        0 => Ok(migrations),
        1 => bail!("{}", problems[0]),
        n => bail!(
            "the migrations folder has {n} problems:\n  - {}",
            problems.join("\n  - ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Database;

    fn config(bindings: &[&str]) -> Config {
        Config {
            path: PathBuf::from("/project/wrangler.toml"),
            env: None,
            databases: bindings
                .iter()
                .map(|b| Database {
                    binding: b.to_string(),
                    name: b.to_lowercase(),
                    id: None,
                    renamed_by: None,
                    wrangler_table: "d1_migrations".into(),
                })
                .collect(),
        }
    }

    fn seed_routing() -> Routing {
        toml::from_str(
            r#"default = "READ_REPLICA"
[[route]]
binding = "AUTH"
contains = ["api_keys", "rooms", "permissions", "user_tier"]"#,
        )
        .unwrap()
    }

    fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn load_err(files: &[(&str, &[u8])]) -> String {
        let dir = folder(files);
        let err = load(
            dir.path(),
            &config(&["READ_REPLICA", "AUTH"]),
            &seed_routing(),
        )
        .unwrap_err();
        format!("{err:#}")
    }

    #[test]
    fn routes_like_the_seed_and_honours_headers() {
        let dir = folder(&[
            ("0001_schema.sql", b"CREATE TABLE a(x);"),
            ("0002_api_keys.sql", b"CREATE TABLE k(x);"),
            (
                "0003_more.sql",
                b"-- moves to auth\n-- database: AUTH\nCREATE TABLE m(x);",
            ),
            ("0003_more.rollback.sql", b"DROP TABLE m;"),
            ("README.md", b"notes"),
            ("migrate.toml", b""),
        ]);
        let found = load(
            dir.path(),
            &config(&["READ_REPLICA", "AUTH"]),
            &seed_routing(),
        )
        .unwrap();
        let routed: Vec<_> = found.iter().map(|m| (m.version, &m.binding[..])).collect();
        assert_eq!(routed, [(1, "READ_REPLICA"), (2, "AUTH"), (3, "AUTH")]);
        assert!(found[2].rollback.is_some());
        assert!(found[0].rollback.is_none());
    }

    #[test]
    fn single_database_needs_no_routing_but_two_do() {
        let dir = folder(&[("0001_a.sql", b"SELECT 1;")]);
        let found = load(dir.path(), &config(&["DB"]), &Routing::default()).unwrap();
        assert_eq!(found[0].binding, "DB");
        let err = load(dir.path(), &config(&["A", "B"]), &Routing::default()).unwrap_err();
        assert!(
            format!("{err:#}").contains("-- database: BINDING"),
            "{err:#}"
        );
    }

    #[test]
    fn checksum_ignores_bom_and_crlf() {
        let dir = folder(&[
            ("0001_a.sql", b"\xEF\xBB\xBFSELECT 1;\r\nSELECT 2;\r\n"),
            ("0002_b.sql", b"SELECT 1;\nSELECT 2;\n"),
        ]);
        let found = load(dir.path(), &config(&["DB"]), &Routing::default()).unwrap();
        assert_eq!(found[0].checksum, found[1].checksum);
        assert_eq!(found[0].sql, "SELECT 1;\nSELECT 2;\n");
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "0001-create.sql",
            "abc_create.sql",
            "0001_Create.sql",
            "0001.sql",
            "1x_a.sql",
        ] {
            let err = load_err(&[(bad, b"SELECT 1;")]);
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn rejects_duplicates_and_gaps_naming_both_files() {
        let err = load_err(&[("0001_a.sql", b"SELECT 1;"), ("0001_b.sql", b"SELECT 1;")]);
        assert!(
            err.contains("0001_a.sql") && err.contains("0001_b.sql"),
            "{err}"
        );
        let err = load_err(&[("0001_a.sql", b"SELECT 1;"), ("0003_c.sql", b"SELECT 1;")]);
        assert!(
            err.contains("0001_a.sql") && err.contains("0003_c.sql"),
            "{err}"
        );
        assert!(err.contains("expected version 2"), "{err}");
    }

    #[test]
    fn rejects_unknown_bindings_orphan_rollbacks_and_non_utf8() {
        let err = load_err(&[("0001_a.sql", b"-- database: BILLING\nSELECT 1;")]);
        assert!(
            err.contains("BILLING") && err.contains("does not declare"),
            "{err}"
        );
        let err = load_err(&[
            ("0001_a.sql", b"SELECT 1;"),
            ("0002_b.rollback.sql", b"SELECT 1;"),
        ]);
        assert!(err.contains("0002_b.rollback.sql"), "{err}");
        let err = load_err(&[("0001_a.sql", b"SELECT '\xff';")]);
        assert!(err.contains("UTF-8") && err.contains("0001_a.sql"), "{err}");
    }
}
