//! What administrators can do and see: create an administrator (`create-admin`),
//! act on accounts, the dashboard's numbers and the user directory.

pub mod actions;
pub mod create;
pub mod stats;
pub mod user_search;
