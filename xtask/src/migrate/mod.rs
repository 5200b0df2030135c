//! The engine: what `cargo migrate` knows about migrations and D1, as a
//! library that prints nothing. Its callers (the `migrate` commands, the
//! web UI, the release) get values (plans, states, reports, verdicts) and a
//! stream of [`events`]; they never go through each other.
//!
//! The public face is what this file re-exports, and five sub-APIs:
//! [`d1`] (the trait the engine talks to D1 through, which [`crate::wrangler`]
//! and [`crate::cloudflare`] implement), [`events`] (what a run reports),
//! [`sql`] (D1's statement splitter and the lint), and for implementations
//! of local D1, [`local_files`] and [`local_reads`].
//!
//! What it does, by file: the project ([`project`]: config, sources, layout,
//! routing); a run ([`run`]: plan, locks, backups, the batch, the check
//! after); what a database holds ([`status`], [`verify`]); ledger edits
//! ([`ledger_edits`]: mark, baseline, adopt); backups and restores
//! ([`backup`]); the run log ([`run_log`]); the offline check
//! ([`folder_check`]).

mod backup;
mod calls;
mod config;
pub mod d1;
mod error;
pub mod events;
mod file_history;
#[cfg(test)]
mod fixture;
mod folder_check;
mod last_seen;
mod layout;
mod ledger_edits;
pub mod local_files;
pub mod local_reads;
mod lock;
mod plan;
mod project;
mod renumber;
mod row_loss;
mod run;
mod run_log;
mod schema;
mod seen_schemas;
mod source;
pub mod sql;
#[cfg(test)]
mod sqlite_stand_in;
mod status;
#[cfg(test)]
mod tests;
mod throwaway_copy;
mod tracking;
mod verify;

pub use backup::{
    prepare as prepare_restore, Backup, Backups, Listed as ListedBackup, Policy, Prepared,
    RestoreFrom, RestorePoint, Restored,
};
pub use calls::{clear_lock, in_parallel, read_state, read_states};
pub use config::{Config, Database, DEFAULT_MIGRATIONS_DIR};
pub use d1::{Call, StatementResult, Target, D1};
pub use error::{failures, failures_in, to_json as error_json, Error, Failure};
pub use events::{BackupRef, Event, Fanout, Observer};
pub use folder_check::{check_folders, Finding, FolderCheck};
pub use layout::{Layout, DEFAULT_PATTERN};
pub use ledger_edits::{adopt, adopt_all, baseline, mark, Baselined, Mark};
pub use plan::{Direction, State as MigrationState};
pub use project::{folder_of, layout_of, sharing, workspace_root, Paths, Project};
pub use renumber::{plan as plan_renumbering, Move};
pub use run::{
    run, Backing, Batching, DataLoss, Locking, Mode, Options, RunContext, Seeding, Session,
    DEFAULT_KEEP_BACKUPS, DEFAULT_LOCK_TTL_SECS,
};
pub use run_log::{path as run_log_path, read as read_run_log, record as log_run};
pub use schema::{is_shadow_of, OBJECTS_FILTER, QUERY as SCHEMA_QUERY};
pub use source::{load as load_migrations, Migration, NotifyTable, Owner, Routing};
pub use status::{
    report as status_report, DatabaseReport, MigrationReport, Report as StatusReport,
};
pub use throwaway_copy::expected_schema;
pub use tracking::{state_query, LockRow};
pub use verify::{verify, verify_all, Verdict};
