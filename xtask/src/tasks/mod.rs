//! The `cargo xtask` jobs beside `migrate`: releasing, building the worker,
//! benchmarking, and the smoke check a release ends with.

pub mod bench;
pub mod build_worker;
pub mod release;
pub mod smoke;
