//! What administrators see: the dashboard's numbers and the user directory.

pub mod actions;
pub mod stats;
pub mod user_search;
