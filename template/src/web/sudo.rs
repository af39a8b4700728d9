//! Sudo mode: sensitive account actions need a password entered within the last
//! `SUDO_MINUTES`, at sign-in or on the confirm page. The time lives in the session,
//! which is stored on the server, so a browser cannot claim it.

use actix_session::Session;
use chrono::NaiveDateTime;

use crate::web::auth::insert;
use crate::web::error::AppError;
use crate::web::paths;
use crate::web::state::State;

/// When the password was last entered in this session, in seconds since 1970 (UTC).
const CONFIRMED_AT_KEY: &str = "confirmed_at";

/// Starts (or renews) sudo mode: the password was entered just now.
pub fn start(session: &Session, now: NaiveDateTime) -> Result<(), AppError> {
    insert(session, CONFIRMED_AT_KEY, now.and_utc().timestamp())
}

/// Whether the password was entered within `timeout` of `now`.
pub fn is_on(session: &Session, now: NaiveDateTime, timeout: chrono::Duration) -> bool {
    let now = now.and_utc().timestamp();
    session
        .get::<i64>(CONFIRMED_AT_KEY)
        .ok()
        .flatten()
        .is_some_and(|at| at <= now && now - at < timeout.num_seconds())
}

/// Lets a sensitive action go ahead in sudo mode (`SUDO_MINUTES`); otherwise sends the
/// user to confirm their password, then to `back` (the page the action is on).
pub fn require(session: &Session, state: &State, back: &str) -> Result<(), AppError> {
    if is_on(session, state.now(), state.settings.sessions.sudo_timeout) {
        Ok(())
    } else {
        Err(AppError::ConfirmationRequired {
            next: back.to_owned(),
        })
    }
}

/// The confirm page's address, bringing the user back to `next` afterwards.
pub fn confirm_href(next: &str) -> String {
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("{}?{query}", paths::ACCOUNT_CONFIRM)
}
