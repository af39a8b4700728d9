//! Email verification codes: 6 digits, short-lived, single use, few guesses,
//! stored only as an HMAC.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;

use crate::auth::Keys;
use crate::config::AccountSettings;
use crate::db::{self, DbConn};
use crate::mail::{Email, MailError, Mailer, OutgoingEmail, outbox};
use crate::models::verification_code::{self, NewVerificationCode};
use crate::models::{User, user};

/// A new random code, to be mailed and then stored with [`store_code`].
fn generate_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000))
}

/// A new code and the mail that carries it to `email`, greeting `name`.
pub fn new_code_mail(
    mailer: &Mailer,
    email: &str,
    name: &str,
) -> Result<(String, OutgoingEmail), MailError> {
    let code = generate_code();
    let mail = mailer.compose(
        email,
        &Email::VerificationCode {
            name: name.to_owned(),
            code: code.clone(),
        },
    )?;
    Ok((code, mail))
}

/// Whether the text is shaped like a code (six digits), before any lookup.
pub fn is_code_shaped(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Makes `code` the user's only valid code and queues its mail, in the caller's
/// transaction.
pub fn store_code(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    user_id: i64,
    code: &str,
    mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<()> {
    verification_code::retire_codes(conn, user_id, now)?;
    verification_code::insert_code(
        conn,
        &NewVerificationCode {
            user_id,
            code_hash: &keys.code_hash(user_id, code),
            created_at: now,
            expires_at: now + settings.code_lifetime,
        },
    )?;
    outbox::enqueue(conn, Some(user_id), mail, now)
}

/// The account with `email` if it still waits for verification.
fn unverified_account(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    Ok(user::get_user_by_email(conn, email)?.filter(|account| account.email_verified_at.is_none()))
}

/// What became of a code a visitor typed.
#[derive(Debug)]
pub enum VerifyOutcome {
    Verified(User),
    /// Wrong code; the code still has guesses left.
    Wrong,
    /// No usable code: expired, used, or out of guesses. A new one must be sent.
    Expired,
}

/// Checks `code` for the account with `email`. Unknown and already verified
/// addresses answer `Wrong`, exactly like a wrong guess, so this reveals nothing.
pub fn verify(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    email: &str,
    code: &str,
    now: NaiveDateTime,
) -> QueryResult<VerifyOutcome> {
    db::write_transaction(conn, |conn| {
        let Some(account) = unverified_account(conn, email)? else {
            return Ok(VerifyOutcome::Wrong);
        };
        let Some(latest) = verification_code::latest_code(conn, account.id)? else {
            return Ok(VerifyOutcome::Expired);
        };
        if !verification_code::record_attempt(conn, latest.id, settings.code_max_attempts, now)? {
            return Ok(VerifyOutcome::Expired);
        }
        if !keys.code_matches(account.id, code, &latest.code_hash) {
            return Ok(VerifyOutcome::Wrong);
        }
        if !verification_code::consume_code(conn, latest.id, now)? {
            return Ok(VerifyOutcome::Expired);
        }
        user::mark_email_verified(conn, account.id, now)?;
        Ok(user::get_user(conn, account.id)?
            .map_or(VerifyOutcome::Expired, VerifyOutcome::Verified))
    })
}

/// Whether a new code may be sent now.
#[derive(Debug, PartialEq, Eq)]
pub enum ResendOutcome {
    Sent,
    /// The last code is too recent; try again after this many seconds.
    TooSoon(i64),
    /// The hourly allowance of codes is used up.
    HourlyLimit,
}

/// Sends `code` to the unverified account with `email`, within the cooldown and
/// the hourly cap. Unknown or verified addresses answer `Sent` and get nothing.
pub fn resend(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    email: &str,
    code: &str,
    mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<ResendOutcome> {
    db::write_transaction(conn, |conn| {
        let Some(account) = unverified_account(conn, email)? else {
            return Ok(ResendOutcome::Sent);
        };
        send_code_within_limits(conn, keys, settings, account.id, code, mail, now)
    })
}

/// Sends a code unless the cooldown or the hourly cap says no.
pub fn send_code_within_limits(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    user_id: i64,
    code: &str,
    mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<ResendOutcome> {
    if let Some(latest) = verification_code::latest_code(conn, user_id)? {
        let next_allowed = latest.created_at + settings.code_cooldown;
        if next_allowed > now {
            let wait = (next_allowed - now).num_seconds().max(1);
            return Ok(ResendOutcome::TooSoon(wait));
        }
    }
    let sent =
        verification_code::count_codes_since(conn, user_id, now - chrono::Duration::hours(1))?;
    if sent >= settings.codes_per_hour {
        return Ok(ResendOutcome::HourlyLimit);
    }
    store_code(conn, keys, settings, user_id, code, mail, now)?;
    Ok(ResendOutcome::Sent)
}
