//! Database rows and the queries that read and write them. Query functions are plain
//! and synchronous; call them through `db::run_blocking`.

pub mod audit_event;
pub mod outbox;
pub mod password_reset;
pub mod session;
pub mod user;
pub mod user_counts;
pub mod verification_code;

pub use user::{NewUser, User};
