//! Signed-in sessions, stored server-side in the application's database.

pub mod client;
pub mod store;

pub use client::Client;
pub use store::{
    CLIENT_KEY, DbSessionStore, PASSKEY_CEREMONY_KEY, PENDING_SIGN_IN_KEY, REMEMBER_ME_KEY,
    SESSION_ID_KEY, SessionUser, USER_KEY,
};

/// How long a signed-in session lasts (checked on the server, not by the cookie).
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Ends a session nobody has used for this long (`SESSION_IDLE_MINUTES`, default 30).
    pub idle_timeout: chrono::Duration,
    /// Ends a session this long after login (`SESSION_MAX_HOURS`, default 12).
    pub absolute_timeout: chrono::Duration,
    /// Ends a "remember me" session this long after login (`SESSION_REMEMBER_DAYS`, default 14).
    pub remember_timeout: chrono::Duration,
    /// How long a password entered (at sign-in or to confirm) unlocks sensitive actions
    /// (`SUDO_MINUTES`, default 10).
    pub sudo_timeout: chrono::Duration,
}
