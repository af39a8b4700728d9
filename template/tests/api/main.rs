//! Integration tests: each test starts the real server on a free port, with a
//! database of its own.

mod account;
mod cli;
mod config;
mod health;
mod helpers;
mod login;
mod mail;
mod mailbox;
mod migrations;
mod password_reset;
mod sessions;
mod signup;
mod verification;
