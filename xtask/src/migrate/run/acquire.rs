//! Taking the databases' migration locks, in the same call that reads each
//! one's state, and giving back those a run still holds when it ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::Direction;
use crate::interrupt::Interrupted;
use crate::migrate::calls;
use crate::migrate::config::Database;
use crate::migrate::d1::D1;
use crate::migrate::error::{self, Error, Failure};
use crate::migrate::events::{Event, Observer};
use crate::migrate::lock;
use crate::migrate::project::Project;
use crate::migrate::tracking::{self, DbState};

/// Locks this run holds, released in a call of their own when the run ends
/// without having released them in its last batch.
pub(super) struct Held<'o> {
    d1: Arc<dyn D1>,
    request: lock::Request,
    databases: Mutex<Vec<Database>>,
    observer: &'o dyn Observer,
    /// What reaches these databases again in a suggested `unlock`
    /// ([`Project::hint_flags`]).
    flags: String,
}

impl<'o> Held<'o> {
    /// `flags` reach the same databases again in a suggested `unlock`.
    pub(super) fn new(
        d1: Arc<dyn D1>,
        request: lock::Request,
        observer: &'o dyn Observer,
        flags: String,
    ) -> Held<'o> {
        Held {
            d1,
            request,
            databases: Mutex::new(Vec::new()),
            observer,
            flags,
        }
    }

    /// Who this run is, to the locks.
    pub(super) fn request(&self) -> &lock::Request {
        &self.request
    }

    fn hold(&self, db: &Database) {
        if let Ok(mut databases) = self.databases.lock() {
            if !databases.iter().any(|d| d.binding == db.binding) {
                databases.push(db.clone());
            }
        }
    }

    fn holds_any(&self) -> bool {
        self.databases
            .lock()
            .map(|d| !d.is_empty())
            .unwrap_or(false)
    }

    /// Releases, now, the locks held on any of `databases`.
    fn give_back_after(&self, databases: &[&Database]) {
        let giving: Vec<Database> = match self.databases.lock() {
            Ok(mut held) => {
                let (give, keep) = held
                    .drain(..)
                    .partition(|db| databases.iter().any(|d| d.binding == db.binding));
                *held = keep;
                give
            }
            Err(_) => Vec::new(),
        };
        self.give_back(&giving);
    }

    /// Gives back, each in a call of its own, the locks of `databases`.
    fn give_back(&self, databases: &[Database]) {
        calls::in_parallel(databases, |db| {
            if calls::release(self.d1.as_ref(), db, &self.request, &self.flags) {
                self.released(&db.binding);
            }
        });
    }

    /// The lock of `binding` was given back (in its last batch, or by a call
    /// of its own).
    pub(super) fn released(&self, binding: &str) {
        if let Ok(mut databases) = self.databases.lock() {
            databases.retain(|db| db.binding != binding);
        }
        self.observer.event(&Event::LockReleased {
            binding: binding.to_owned(),
        });
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let databases = self
            .databases
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        self.give_back(&databases);
    }
}

/// Reads every database's state, taking its lock where there is work; waits
/// up to `wait` seconds for locks other runs hold.
pub(super) fn acquire<'o>(
    project: &Project,
    databases: &[&Database],
    held: Held<'o>,
    direction: Direction,
    version: Option<u64>,
    wait: Duration,
) -> Result<(Vec<DbState>, Held<'o>)> {
    let (d1, request) = (held.d1.clone(), held.request.clone());
    let (d1, request) = (d1.as_ref(), &request);
    let deadline = Instant::now() + wait;
    let work = |db: &Database| match direction {
        Direction::Up => {
            let versions: Vec<u64> = project
                .files_for(&db.binding)
                .iter()
                .map(|m| m.version)
                .filter(|v| version.is_none_or(|t| *v <= t))
                .collect();
            let files: Vec<(u64, String)> = project
                .files_for(&db.binding)
                .iter()
                .map(|m| (m.version, m.file_name.clone()))
                .collect();
            let around = project.surroundings(&db.binding);
            format!(
                "{} OR {}",
                tracking::pending_condition(&versions),
                tracking::ledger_behind_condition(db, &files, &around.foreign, &around.taken)
            )
        }
        Direction::Down => tracking::applied_above_condition(version.unwrap_or(0)),
    };
    // Locks are ordered by the config's database order: a run that finds a
    // database busy keeps the locks before it and gives back those after it,
    // so of two runs started together the one holding the first contested
    // database always wins and neither can block the other.
    // A run that still holds locks is winning: the run it contends with gives
    // its later locks back, so it waits for that even without --wait (each
    // look costs a wrangler call per database, seconds on a busy machine).
    let grace = Instant::now() + wait + Duration::from_secs(20);
    // Shown on a terminal while this run waits for another's lock.
    let mut lock_wait = None;
    loop {
        let results = calls::in_parallel(databases, |db| {
            calls::read_state_locking(d1, db, request, &work(db))
        });
        let (mut states, mut busy, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        let mut first_busy = None;
        for (index, (db, result)) in databases.iter().copied().zip(results).enumerate() {
            match result {
                Ok((state, outcome)) => {
                    match outcome {
                        lock::Outcome::NotNeeded => {}
                        lock::Outcome::Held { took_over } => {
                            held.hold(db);
                            held.observer.event(&Event::LockTaken {
                                binding: db.binding.clone(),
                                took_over: took_over.map(|old| {
                                    let age = old.age();
                                    (old.owner, age)
                                }),
                            });
                        }
                        lock::Outcome::Busy(holder) => {
                            first_busy.get_or_insert(index);
                            busy.push((db, holder));
                        }
                    }
                    states.push(state);
                }
                Err(err) => {
                    // Stopped during its locking read, which may have taken the
                    // lock: give it back (releasing a lock not held does nothing).
                    if err.chain().any(|c| c.is::<Interrupted>()) {
                        held.hold(db);
                    }
                    errors.push((db, err));
                }
            }
        }
        if !errors.is_empty() {
            let message: Vec<String> = errors.iter().map(|(_, err)| format!("{err:#}")).collect();
            let failures = errors
                .iter()
                .flat_map(|(db, err)| error::failures_in(Some(&db.binding), err))
                .collect();
            return Err(Error::from_failures(message.join("\n"), failures));
        }
        let Some(first_busy) = first_busy else {
            return Ok((states, held));
        };
        held.give_back_after(&databases[first_busy..]);
        let described: Vec<String> = busy
            .iter()
            .map(|(db, holder)| lock::describe_busy(&db.binding, holder, &held.flags))
            .collect();
        let now = Instant::now();
        let holding = held.holds_any();
        if now >= deadline && !(holding && now < grace) {
            drop(held);
            let failures = busy
                .iter()
                .map(|(db, holder)| Failure::LockHeld {
                    binding: db.binding.clone(),
                    owner: holder.owner.clone(),
                    expires_in_ms: (holder.expires_at - holder.now).max(0) as u64,
                })
                .collect();
            return Err(Error::from_failures(
                format!("nothing was {}: {}", direction.past(), described.join("\n")),
                failures,
            ));
        }
        let pause = if now < deadline {
            lock_wait.get_or_insert_with(|| {
                crate::process::waits::waiting(|| "another run's lock (--wait)".to_owned())
            });
            held.observer.event(&Event::Waiting { busy: described });
            Duration::from_secs(2).min(deadline - now)
        } else {
            Duration::from_millis(500)
        };
        std::thread::sleep(pause);
    }
}
