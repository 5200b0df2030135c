//! The engine: what `cargo migrate` knows about migrations and D1, as a
//! library that prints nothing. Its callers get values (plans, states,
//! outcomes) and a stream of [`events`].

pub mod backup;
pub mod calls;
pub mod config;
pub mod d1;
pub mod events;
pub mod hint;
pub mod history;
pub mod layout;
pub mod local_d1;
pub mod local_reads;
pub mod lock;
pub mod plan;
pub mod project;
pub mod rehearsal;
pub mod renumber;
pub mod run;
pub mod schema;
pub mod source;
pub mod sql;
pub mod sqlite_d1;
pub mod tables;
pub mod tracking;
