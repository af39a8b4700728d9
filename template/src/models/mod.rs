//! Database rows and all the SQL that reads and writes them, one module per table
//! (`user_search` is the directory's search on `users`). Query functions are plain and
//! synchronous: handlers call them through `State::db`, everything else through
//! `db::run_blocking`.
//!
//! A query that can match one row at most (a unique key, an aggregate) ends in
//! `get_result`, not `first`: `first` adds `LIMIT ?`, and a database may prepare a
//! statement with a bound LIMIT again at every run (one did, and the session lookup
//! of every signed-in request cost as much as the rest of the request).

pub mod audit_event;
pub mod daily_user_counts;
pub mod outbox;
pub mod passkey;
pub mod passkey_challenge;
pub mod password_reset;
pub mod rate_limit;
pub mod recovery_code;
pub mod session;
pub mod trusted_device;
pub mod two_factor;
pub mod user;
pub mod user_counts;
pub mod user_search;
pub mod verification_code;

pub use user::{NewUser, User};
