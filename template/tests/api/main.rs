//! Integration tests: each test starts the real server on a free port, with a
//! database of its own.

mod cli;
mod config;
mod health;
mod helpers;
mod mail;
mod mailbox;
mod migrations;
mod signup;
