//! Time Travel: a database's history of states, each with a bookmark; a copy of a state is
//! taken before it is first written over, and a restore brings one back as a new state.

use std::fs;
use std::path::PathBuf;

use rusqlite::MAIN_DB;
use serde::{Deserialize, Serialize};

use super::Database;
use crate::d1::ApiError;
use crate::util::{now_ms, random_hex};

/// One state of a database in its history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct HistoryEntry {
    pub(super) seq: u64,
    pub(super) bookmark: String,
    /// When this state began (Unix ms).
    pub(super) started_at: u64,
    /// A copy of the database in this state, taken before it was first written over.
    pub(super) snapshot: Option<PathBuf>,
}

/// A bookmark in D1's style: `<seq>-<zeros>-<time>-<random>` in hex, ordered by `seq`.
pub(super) fn make_bookmark(seq: u64, now: u64) -> String {
    format!(
        "{seq:08x}-00000000-{:08x}-{}",
        (now / 1000) & 0xffff_ffff,
        random_hex(32)
    )
}

impl Database {
    /// The bookmark of the current state.
    pub fn bookmark(&self) -> String {
        self.meta
            .history
            .last()
            .map(|h| h.bookmark.clone())
            .unwrap_or_default()
    }

    /// Copies the current state aside (once per state) so a later restore can return to it.
    pub(super) fn ensure_snapshot(&mut self) -> Result<(), ApiError> {
        let Some(last) = self.meta.history.last() else {
            return Err(ApiError::internal("empty history"));
        };
        if last.snapshot.as_ref().is_some_and(|p| p.exists()) {
            return Ok(());
        }
        let dir = self.dir.join("history").join(&self.id);
        fs::create_dir_all(&dir).map_err(self.internal("creating the history directory"))?;
        let path = dir.join(format!("{}.sqlite", last.seq));
        let _ = fs::remove_file(&path);
        self.conn
            .backup(MAIN_DB, &path, None)
            .map_err(self.internal("snapshotting"))?;
        if let Some(last) = self.meta.history.last_mut() {
            last.snapshot = Some(path);
        }
        self.save_meta().map_err(self.internal("saving metadata"))?;
        Ok(())
    }

    /// Records that the content changed: a new state with a new bookmark.
    pub(super) fn advance(&mut self) -> Result<String, ApiError> {
        let seq = self.meta.history.last().map(|h| h.seq + 1).unwrap_or(1);
        let now = now_ms();
        let bookmark = make_bookmark(seq, now);
        self.meta.history.push(HistoryEntry {
            seq,
            bookmark: bookmark.clone(),
            started_at: now,
            snapshot: None,
        });
        self.save_meta().map_err(self.internal("saving metadata"))?;
        Ok(bookmark)
    }

    /// Runs every statement of `sql` in one transaction; nothing applies unless all succeed.
    /// The bookmark of the state the database was in at `ts` (Unix ms); before its creation,
    /// its first state.
    pub fn bookmark_at(&self, ts: u64) -> String {
        self.meta
            .history
            .iter()
            .rev()
            .find(|h| h.started_at <= ts)
            .or_else(|| self.meta.history.first())
            .map(|h| h.bookmark.clone())
            .unwrap_or_default()
    }

    /// Replaces the content with the state named by `bookmark`; returns the previous bookmark.
    pub fn restore(&mut self, bookmark: &str) -> Result<String, ApiError> {
        let Some(target) = self
            .meta
            .history
            .iter()
            .find(|h| h.bookmark == bookmark)
            .cloned()
        else {
            return Err(ApiError::new(
                400,
                7400,
                format!("Invalid bookmark: {bookmark} is not a bookmark of this database"),
            ));
        };
        let previous = self.bookmark();
        self.ensure_snapshot()?;
        let source = if target.bookmark == previous {
            self.meta.history.last().and_then(|h| h.snapshot.clone())
        } else {
            target.snapshot.clone()
        };
        let Some(source) = source.filter(|p| p.exists()) else {
            return Err(ApiError::new(
                400,
                7400,
                format!("The state at bookmark {bookmark} is no longer available"),
            ));
        };
        self.conn
            .restore(MAIN_DB, &source, None::<fn(rusqlite::backup::Progress)>)
            .map_err(self.internal("restoring"))?;
        self.conn
            .execute_batch("PRAGMA foreign_keys=ON;")
            .map_err(self.internal("configuring"))?;
        self.advance()?;
        Ok(previous)
    }
}
