//! What administrators can do and see: create an administrator (`create-admin`),
//! act on accounts and on mail that was not sent, and the dashboard's numbers. (The user directory's search is
//! `models::user_search`: it is all SQL.)

pub mod actions;
pub mod create;
pub mod mail;
pub mod seed;
pub mod stats;
