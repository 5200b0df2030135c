//! The `cargo xtask` jobs beside `migrate`: releasing, building the worker,
//! benchmarking, the smoke check a release ends with, and the tests' set-up.

pub mod bench;
pub mod build_worker;
pub mod release;
pub mod smoke;
pub mod test;
