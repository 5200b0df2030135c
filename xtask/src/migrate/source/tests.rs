//! Unit tests for parsing and validating the migrations folder.

use super::*;
use crate::migrate::config::Database;

fn database(binding: &str) -> Database {
    Database {
        binding: binding.to_string(),
        name: binding.to_lowercase(),
        id: None,
        renamed_by: None,
        wrangler_table: "d1_migrations".into(),
        migrations_dir: None,
        migrations_pattern: None,
        local_id: binding.to_string(),
    }
}

fn config(bindings: &[&str]) -> Config {
    Config {
        path: PathBuf::from("/project/wrangler.toml"),
        env: None,
        databases: bindings.iter().map(|b| database(b)).collect(),
        account_id: None,
        persist_to: None,
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
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const SEED: &[&str] = &["READ_REPLICA", "AUTH"];

fn shared<'a>(routing: &'a Routing, bindings: &'a [&'a str]) -> Owner<'a> {
    Owner::Shared { routing, bindings }
}

fn load_seed(files: &[(&str, &[u8])]) -> Result<Vec<Migration>> {
    let dir = folder(files);
    std::fs::write(dir.path().join(ROUTING_FILE), "default = \"READ_REPLICA\"").unwrap();
    load(
        dir.path(),
        &Layout::default(),
        shared(&seed_routing(), SEED),
        &config(SEED),
    )
}

/// One database's shared folder, without routing.
fn load_db(dir: &Path) -> Result<Vec<Migration>> {
    load(
        dir,
        &Layout::default(),
        shared(&Routing::default(), &["DB"]),
        &config(&["DB"]),
    )
}

fn load_err(files: &[(&str, &[u8])]) -> String {
    format!("{:#}", load_seed(files).unwrap_err())
}

#[test]
fn routes_like_the_seed_and_honours_headers() {
    let found = load_seed(&[
        ("0001_schema.sql", b"CREATE TABLE a(x);"),
        ("0002_api_keys.sql", b"CREATE TABLE k(x);"),
        (
            "0003_more.sql",
            b"-- moves to auth\n-- database: AUTH\nCREATE TABLE m(x);",
        ),
        ("0003_more.rollback.sql", b"DROP TABLE m;"),
        ("README.md", b"notes"),
        ("migrate.toml", b""),
    ])
    .unwrap();
    let routed: Vec<_> = found.iter().map(|m| (m.version, &m.binding[..])).collect();
    assert_eq!(routed, [(1, "READ_REPLICA"), (2, "AUTH"), (3, "AUTH")]);
    assert!(found[2].rollback.is_some());
    assert!(found[0].rollback.is_none());
    assert_eq!(found[2].file_name, "0003_more.sql");
}

#[test]
fn the_backup_table_names_the_databases_to_export_and_nothing_else() {
    let dir = folder(&[(
        "migrate.toml",
        b"default = \"READ_REPLICA\"\n[backup]\nexport = [\"AUTH\"]\n",
    )]);
    let routing = Routing::load(dir.path()).unwrap();
    assert_eq!(routing.backup.export, ["AUTH"]);
    assert_eq!(Routing::default().backup.export, Vec::<String>::new());
    let typo = folder(&[("migrate.toml", b"[backup]\nexports = [\"AUTH\"]\n")]);
    let err = Routing::load(typo.path()).unwrap_err();
    assert!(format!("{err:#}").contains("exports"), "{err:#}");
}

#[test]
fn single_database_needs_no_routing_but_two_do() {
    let dir = folder(&[("0001_a.sql", b"SELECT 1;")]);
    let routing = Routing::default();
    let found = load_db(dir.path()).unwrap();
    assert_eq!(found[0].binding, "DB");
    let err = load(
        dir.path(),
        &Layout::default(),
        shared(&routing, &["A", "B"]),
        &config(&["A", "B"]),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("-- database: BINDING"),
        "{err:#}"
    );
}

#[test]
fn checksum_ignores_bom_and_crlf_but_the_text_keeps_its_line_endings() {
    let dir = folder(&[
        ("0001_a.sql", b"\xEF\xBB\xBFSELECT 1;\r\nSELECT 2;\r\n"),
        ("0002_b.sql", b"SELECT 1;\nSELECT 2;\n"),
    ]);
    let found = load_db(dir.path()).unwrap();
    assert_eq!(found[0].checksum, found[1].checksum);
    assert_eq!(found[0].sql, "SELECT 1;\r\nSELECT 2;\r\n");
    assert_eq!(
        checksum(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn accepts_every_name_wrangler_would_run() {
    // drizzle-kit and Cloudflare's templates start at 0000; `wrangler d1
    // migrations create` keeps upper case and hyphens.
    let found = load_seed(&[
        ("0000_lush_the_hood.sql", b"SELECT 1;"),
        ("0001_Initial.sql", b"SELECT 1;"),
        ("0002_1001tl-source-ids.sql", b"SELECT 1;"),
        ("0003_v1.2.sql", b"SELECT 1;"),
        ("0004-hyphen-first.sql", b"SELECT 1;"),
        ("0004-hyphen-first.rollback.sql", b"SELECT 1;"),
        ("meta/_journal.json", b"{}"),
        ("meta/0000_snapshot.json", b"{}"),
        ("schema/READ_REPLICA.sql", b"CREATE TABLE x(y);"),
    ])
    .unwrap();
    let names: Vec<_> = found.iter().map(|m| (m.version, &m.name[..])).collect();
    assert_eq!(
        names,
        [
            (0, "0000_lush_the_hood"),
            (1, "0001_Initial"),
            (2, "0002_1001tl-source-ids"),
            (3, "0003_v1.2"),
            (4, "0004-hyphen-first")
        ]
    );
    assert!(found[4].rollback.is_some());
}

#[test]
fn rejects_names_without_a_version_and_says_nothing_more_about_them() {
    for bad in ["abc_create.sql", "create.sql", "_0001.sql"] {
        let err = load_err(&[
            ("0001_a.sql", b"SELECT 1;"),
            (bad, b"SELECT 1;"),
            ("0002_b.sql", b"SELECT 1;"),
        ]);
        assert!(
            err.contains(bad) && err.contains("version number"),
            "{bad}: {err}"
        );
        assert!(!err.contains("problems"), "one problem only: {err}");
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
    let err = load_err(&[("0002_a.sql", b"SELECT 1;")]);
    assert!(
        err.contains("first version must be 0 or 1") && err.contains("expected version 1"),
        "{err}"
    );
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

#[test]
fn a_rollback_is_named_beside_its_file_or_in_its_folder() {
    let dir = folder(&[
        ("0001_a.sql", b"SELECT 1;"),
        ("20260101000000_b/migration.sql", b"SELECT 1;"),
    ]);
    let flat = load_db(dir.path()).unwrap();
    assert_eq!(flat[0].rollback_name(), "0001_a.rollback.sql");
    let nested = Layout::new(Some("*/migration.sql")).unwrap();
    let found = load(dir.path(), &nested, Owner::Only("DB"), &config(&["DB"])).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].file_name, "20260101000000_b/migration.sql");
    assert_eq!(found[0].name, "20260101000000_b");
    assert_eq!(found[0].rollback_name(), "20260101000000_b/rollback.sql");
}

#[test]
fn only_a_routed_folder_refuses_gaps() {
    let files: &[(&str, &[u8])] = &[("0001_a.sql", b"SELECT 1;"), ("0003_c.sql", b"SELECT 1;")];
    assert!(load_seed(files).is_err());
    let dir = folder(files);
    let found = load_db(dir.path()).unwrap();
    assert_eq!(found.len(), 2);
    let found = load(
        dir.path(),
        &Layout::default(),
        Owner::Only("DB"),
        &config(&["DB"]),
    )
    .unwrap();
    assert_eq!(found[1].version, 3);
}

#[test]
fn a_database_folder_needs_no_routing_and_refuses_a_header_naming_another() {
    let dir = folder(&[
        ("0000_a.sql", b"SELECT 1;"),
        ("0001_b.sql", b"-- database: AUTH\nSELECT 1;"),
        ("migrate.toml", b"default = \"READ_REPLICA\""),
    ]);
    let err = load(
        dir.path(),
        &Layout::default(),
        Owner::Only("READ_REPLICA"),
        &config(SEED),
    )
    .unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("0001_b.sql") && err.contains("database: AUTH"),
        "{err}"
    );
    std::fs::write(dir.path().join("0001_b.sql"), "SELECT 2;").unwrap();
    let found = load(
        dir.path(),
        &Layout::default(),
        Owner::Only("READ_REPLICA"),
        &config(SEED),
    )
    .unwrap();
    assert!(found.iter().all(|m| m.binding == "READ_REPLICA"));
}
