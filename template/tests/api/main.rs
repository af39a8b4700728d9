//! Integration tests: each test starts the real server on a free port, with a
//! database of its own.

mod account;
mod account_confirm;
mod account_delete;
mod account_email;
mod account_export;
mod account_profile;
mod account_sessions;
mod admin;
mod admin_mail;
mod backend;
mod cli;
mod config;
mod csrf;
mod delivery;
mod health;
mod helpers;
mod instances;
mod jobs;
mod login;
mod mail;
mod mailbox;
mod migrations;
mod outage;
mod passkeys;
mod password_reset;
mod provider;
mod security;
mod sessions;
mod signup;
mod two_factor;
mod verification;
