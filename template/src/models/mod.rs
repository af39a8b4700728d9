//! Database rows and the queries that read and write them. Query functions are plain
//! and synchronous; call them through `db::run_blocking`.

pub mod user;

pub use user::{NewUser, User};
