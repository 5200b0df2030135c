//! Jobs as a caller starts them: a run ([`execute`]) or a restore
//! ([`restore`]), each the engine's work, then its line in the run log and
//! (per the settings) its notification. The `migrate` commands, the web UI
//! and the release all start their jobs here; none of them goes through
//! another's command line.

mod restore;

use anyhow::Result;

use crate::migrate::{self, Direction, Fanout, Observer, Options, Project};
use crate::notify::notice::{DatabaseNotice, StepNotice};
use crate::notify::{self, Collector, Context, Notice, Outcome, Settings};
use crate::output::Log;

pub use restore::{restore, RestoreRequest};

/// A run as its caller asks for it.
pub struct RunRequest {
    pub direction: Direction,
    /// `up` to this version, or `down` to it.
    pub version: Option<u64>,
    pub options: Options,
    /// The command that runs it again (`cargo migrate up 5`).
    pub again: String,
    /// The command as typed; `None`: this process's command line.
    pub command: Option<String>,
}

/// The run, and (for a real run) its line in the run log and its
/// notification. Every event goes to the log and to `watcher` (the report
/// on stdout at the command line, the web UI's event stream there).
pub fn execute(
    project: &Project,
    settings: &Settings,
    request: &RunRequest,
    watcher: &dyn Observer,
) -> Result<()> {
    let collector = Collector::default();
    let observer = Fanout(vec![watcher, &Log, &collector]);
    let result = crate::cloudflare::d1_for(project).and_then(|d1| {
        migrate::run(&migrate::RunContext {
            project,
            d1,
            direction: request.direction,
            version: request.version,
            options: &request.options,
            observer: &observer,
        })
    });
    if request.options.mode.is_dry_run() {
        return result;
    }
    let event = match request.direction {
        Direction::Up => "migrate.up",
        Direction::Down => "migrate.down",
    };
    let mut context = context(project, event, &request.again);
    if let Some(command) = &request.command {
        context.command = command.clone();
    }
    let databases = collector.databases(&context);
    after(project, settings, &context, databases, Vec::new(), result)
}

/// A job's context: what its notices name it by.
pub fn context(project: &Project, event: &str, again: &str) -> Context {
    // The commands it suggests act on this project, wherever they are run.
    Context::from_args(
        event,
        again,
        &project.target.to_string(),
        project.config.env.as_deref(),
        project.hint_flags(),
    )
}

/// Logs how a job ended in the project's run log and tells the channels
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
    migrate::log_run(project, &notice);
    notify::notify(settings, &notice);
    result
}
