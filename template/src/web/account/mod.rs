//! The account area: `/account` (profile), `/account/email`, `/account/password`,
//! `/account/two-factor`, `/account/passkeys`, `/account/sessions`, `/account/export`, `/account/delete`,
//! and `/account/confirm`, where sudo mode starts (see `web::sudo`).

pub mod confirm;
pub mod delete;
pub mod email;
pub mod export;
pub mod passkeys;
pub mod password;
pub mod profile;
pub mod sessions;
pub mod two_factor;

use actix_web::HttpRequest;

use crate::accounts::login::Attempt;
use crate::accounts::password::MAX_PASSWORD_BYTES;
use crate::accounts::password_change::record_wrong_password;
use crate::models::{User, user};
use crate::secret::Secret;
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::state::State;

/// The answer while wrong passwords keep the account locked.
pub const LOCKED: &str =
    "Too many wrong passwords: your account is locked for now. We have emailed you about it.";

/// What a password typed by the signed-in user turned out to be.
pub enum PasswordCheck {
    Right(User),
    /// Wrong: it counts toward the lockout, as at the login form.
    Wrong,
    /// Not checked: wrong passwords, here or at the login form, locked the account.
    Locked,
}

/// Checks the signed-in user's password, counting a wrong one like a failed sign-in
/// (the lockout and its mail), so no form behind a sign-in guesses more cheaply.
pub async fn check_current_password(
    req: &HttpRequest,
    state: &State,
    user_id: i64,
    password: Secret,
) -> Result<PasswordCheck, AppError> {
    let account = state
        .db(move |conn, _| user::get_user(conn, user_id))
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.now();
    if account.locked_until.is_some_and(|until| until > now) {
        return Ok(PasswordCheck::Locked);
    }
    let right = password.expose().len() <= MAX_PASSWORD_BYTES
        && state
            .hashing
            .verify(password.into_exposed(), account.password_hash.clone())
            .await?;
    if right {
        return Ok(PasswordCheck::Right(account));
    }
    let attempt = Attempt {
        email: account.email.clone(),
        ip: client_ip::of_request(req, &state.settings.trusted_proxies).to_string(),
        // Not a sign-in: no browser's trust is at stake.
        device: String::new(),
        browser: String::new(),
    };
    state
        .db(move |conn, state| {
            let settings = &state.settings.accounts;
            record_wrong_password(conn, settings, &state.mailer, &attempt, &account, now)
        })
        .await?;
    Ok(PasswordCheck::Wrong)
}
