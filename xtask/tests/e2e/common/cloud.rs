//! The Cloudflare API double and what its databases hold.

use super::{assert_line, sqlite_dump, Project};

/// The Cloudflare API double, started for `token` with an empty account,
/// and the environment that points wrangler at it.
pub fn api_double(token: &str) -> (cloudflare_double::Double, Vec<(&'static str, String)>) {
    let double = cloudflare_double::serve(cloudflare_double::Options {
        quiet: true,
        ..cloudflare_double::Options::new(token)
    })
    .unwrap();
    let env = vec![
        ("CLOUDFLARE_API_BASE_URL", double.api_base_url()),
        ("CLOUDFLARE_API_TOKEN", token.to_owned()),
        (
            "CLOUDFLARE_ACCOUNT_ID",
            "0123456789abcdef0123456789abcdef".to_owned(),
        ),
        ("WRANGLER_HIDE_BANNER", "true".to_owned()),
    ];
    (double, env)
}

/// [`sqlite_dump`] of a remote database: the double's SQLite file of it.
pub fn remote_dump(p: &Project, double: &cloudflare_double::Double, binding: &str) -> String {
    let config = xtask::migrate::Config::load(&p.config_path(), None).unwrap();
    let id = &config.database(binding).unwrap().id;
    sqlite_dump(&double.database_path(id.as_deref().unwrap()))
}

/// The versions recorded in a remote database (none without the table).
pub fn remote_versions(p: &Project, double: &cloudflare_double::Double, binding: &str) -> Vec<u64> {
    // The double keeps each database in an SQLite file: read it directly.
    let config = xtask::migrate::Config::load(&p.config_path(), None).unwrap();
    let id = &config.database(binding).unwrap().id;
    let file = double.database_path(id.as_deref().unwrap());
    if !file.is_file() {
        return Vec::new();
    }
    let connection = rusqlite::Connection::open(file).unwrap();
    let Ok(mut statement) = connection.prepare("SELECT version FROM _migrations ORDER BY version")
    else {
        return Vec::new();
    };
    statement
        .query_map([], |row| row.get::<_, i64>(0))
        .unwrap()
        .map(|v| v.unwrap() as u64)
        .collect()
}

/// How many export requests (each start and poll of `wrangler d1 export`)
/// the double has answered: D1 blocks a database while one runs.
pub fn export_requests(double: &cloudflare_double::Double) -> usize {
    double
        .requests()
        .iter()
        .filter(|r| r.kind == "export")
        .count()
}

/// Asserts that a run's log (`stderr`) warned before exporting `binding`.
pub fn assert_export_announced(stderr: &str, binding: &str) {
    assert_line(
        stderr,
        &[&format!(
            "exporting {binding}: D1 blocks the database's other requests while an export runs"
        )],
    );
}

/// `env` as [`Project::migrate_with`] takes it.
pub fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
