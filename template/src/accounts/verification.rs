//! Email verification codes: 6 digits, short-lived, single use, few guesses,
//! stored only as an HMAC.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;

use crate::accounts::AccountSettings;
use crate::accounts::email::EmailAddress;
use crate::db::{self, DbConn};
use crate::keys::Keys;
use crate::mail::{Email, MailError, Mailer, OutgoingEmail, outbox};
use crate::models::verification_code::{self, NewVerificationCode};
use crate::models::{User, user};

/// A code as a person typed it, checked for shape (six digits) before any lookup.
/// Never printed: it is a secret until used.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCode(..)")
    }
}

impl VerificationCode {
    /// The code in `input`; spaces and dashes are how people copy codes, so they go.
    pub fn parse(input: &str) -> Option<Self> {
        let code: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new random code and the mail that carries it, composed before the transaction
/// that stores it.
pub struct CodeMail {
    code: String,
    mail: OutgoingEmail,
}

impl CodeMail {
    /// A new code for `email`, greeting `name`.
    pub fn new(mailer: &Mailer, email: &str, name: &str) -> Result<Self, MailError> {
        let code = new_code();
        let mail = mailer.compose(
            email,
            &Email::VerificationCode {
                name: name.to_owned(),
                code: code.clone(),
            },
        )?;
        Ok(Self { code, mail })
    }

    /// A new code confirming that `email` is the address `name` is moving to.
    pub fn for_new_address(mailer: &Mailer, email: &str, name: &str) -> Result<Self, MailError> {
        let code = new_code();
        let mail = mailer.compose(
            email,
            &Email::EmailChangeCode {
                name: name.to_owned(),
                code: code.clone(),
            },
        )?;
        Ok(Self { code, mail })
    }

    /// The code as stored for `user_id`: its HMAC.
    pub fn hash(&self, keys: &Keys, user_id: i64) -> String {
        keys.code_hash(user_id, &self.code)
    }

    pub fn mail(&self) -> &OutgoingEmail {
        &self.mail
    }
}

fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000))
}

/// Makes `code` the user's only valid code for `browser` (the hash of its pending
/// nonce; `None`: any browser) and queues its mail, in the caller's transaction.
pub fn store_code(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    user_id: i64,
    code: &CodeMail,
    browser: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    verification_code::retire_codes(conn, user_id, browser, now)?;
    verification_code::insert_code(
        conn,
        &NewVerificationCode {
            user_id,
            code_hash: &code.hash(keys, user_id),
            created_at: now,
            expires_at: now + settings.code_lifetime,
            browser_hash: browser,
            new_email: None,
        },
    )?;
    outbox::enqueue(conn, Some(user_id), &code.mail, now)
}

/// The account with `email` if it still waits for verification.
fn unverified_account(conn: &mut DbConn, email: &EmailAddress) -> QueryResult<Option<User>> {
    Ok(user::get_user_by_email(conn, email.as_str())?
        .filter(|account| account.email_verified_at.is_none()))
}

/// What became of a code a visitor typed.
#[derive(Debug)]
pub enum VerifyOutcome {
    Verified(User),
    /// Wrong code; the code still has guesses left.
    Wrong,
    /// No usable code: expired, used, or out of guesses. A new one must be sent.
    Expired,
    /// No code was sent for this browser: the address is unknown, verified already,
    /// or waiting in another browser. The caller answers as if there were one
    /// (`web::pending` keeps the count), so the page tells nothing.
    NoCode,
}

/// Checks `code`, typed in `browser` (the hash of its pending nonce), for the account
/// with `email`. Only a code sent for that browser (or an administrator's) counts: a
/// stranger's guesses neither use up the owner's code nor sign the stranger in.
pub fn verify(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    email: &EmailAddress,
    code: &VerificationCode,
    browser: &str,
    now: NaiveDateTime,
) -> QueryResult<VerifyOutcome> {
    db::write_transaction(conn, |conn| {
        let Some(account) = unverified_account(conn, email)? else {
            return Ok(VerifyOutcome::NoCode);
        };
        let Some(latest) = verification_code::latest_code_for(conn, account.id, browser)? else {
            return Ok(VerifyOutcome::NoCode);
        };
        if !verification_code::record_attempt(conn, latest.id, settings.code_max_attempts, now)? {
            return Ok(VerifyOutcome::Expired);
        }
        if !keys.code_matches(account.id, code.as_str(), &latest.code_hash) {
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

/// Sends `code` to the unverified account with `email`, for `browser`, within the
/// cooldown and the hourly cap. `None` when the address waits for no code (unknown or
/// verified): nothing is sent, and the caller answers as the limits kept in the
/// pending cookie say, so the page tells nothing.
pub fn resend(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    email: &EmailAddress,
    code: &CodeMail,
    browser: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ResendOutcome>> {
    db::write_transaction(conn, |conn| {
        let Some(account) = unverified_account(conn, email)? else {
            return Ok(None);
        };
        send_code_within_limits(conn, keys, settings, account.id, code, Some(browser), now)
            .map(Some)
    })
}

/// Inside a `write_transaction`: sends a code unless the cooldown or the hourly cap
/// says no (see [`code_limits_refuse`]).
pub fn send_code_within_limits(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    user_id: i64,
    code: &CodeMail,
    browser: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<ResendOutcome> {
    let purpose = CodePurpose::ConfirmSignup;
    if let Some(refused) = code_limits_refuse(conn, settings, user_id, purpose, now)? {
        return Ok(refused);
    }
    store_code(conn, keys, settings, user_id, code, browser, now)?;
    Ok(ResendOutcome::Sent)
}

/// What a code confirms; each purpose has a cooldown of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// The address an account signed up with.
    ConfirmSignup,
    /// The address a signed-in user is moving to.
    ChangeEmail,
}

/// Inside a `write_transaction`: why no code for `purpose` may be sent to the user now
/// (the cooldown since the last code for it, or the hourly cap, which counts codes of
/// every purpose), if so. The account's row is locked first, so parallel requests take
/// turns and only the first within the cooldown sends.
pub fn code_limits_refuse(
    conn: &mut DbConn,
    settings: &AccountSettings,
    user_id: i64,
    purpose: CodePurpose,
    now: NaiveDateTime,
) -> QueryResult<Option<ResendOutcome>> {
    db::lock_user_row(conn, user_id)?;
    let latest = match purpose {
        CodePurpose::ConfirmSignup => verification_code::latest_code(conn, user_id)?,
        CodePurpose::ChangeEmail => verification_code::latest_email_change(conn, user_id)?,
    };
    if let Some(latest) = latest {
        let next_allowed = latest.created_at + settings.code_cooldown;
        if next_allowed > now {
            let wait = whole_seconds(next_allowed - now).max(1);
            return Ok(Some(ResendOutcome::TooSoon(wait)));
        }
    }
    let sent =
        verification_code::count_codes_since(conn, user_id, now - chrono::Duration::hours(1))?;
    Ok((sent >= settings.codes_per_hour).then_some(ResendOutcome::HourlyLimit))
}

/// `wait` in whole seconds, rounded up: a page must never offer a new code early, and
/// the same wait counted from a timestamp the database stored to the microsecond says
/// the same number.
pub fn whole_seconds(wait: chrono::Duration) -> i64 {
    let micros = wait.num_microseconds().unwrap_or(i64::MAX);
    micros.div_euclid(1_000_000) + i64::from(micros.rem_euclid(1_000_000) > 0)
}

impl ResendOutcome {
    /// When the visitor may ask for the next code, if they may this hour.
    pub fn next_allowed(
        &self,
        settings: &AccountSettings,
        now: NaiveDateTime,
    ) -> Option<NaiveDateTime> {
        match self {
            Self::Sent => Some(now + settings.code_cooldown),
            Self::TooSoon(seconds) => Some(now + chrono::Duration::seconds(*seconds)),
            Self::HourlyLimit => None,
        }
    }
}

/// An account whose password was right tried to sign in before verifying: sends a
/// fresh code for `browser` within the usual limits, and says what became of it.
pub fn send_login_code(
    conn: &mut DbConn,
    mailer: &Mailer,
    keys: &Keys,
    settings: &AccountSettings,
    account: &User,
    browser: &str,
    now: NaiveDateTime,
) -> Result<ResendOutcome, super::FlowError> {
    let code = CodeMail::new(mailer, &account.email, &account.name)?;
    let sent = db::write_transaction(conn, |conn| {
        send_code_within_limits(conn, keys, settings, account.id, &code, Some(browser), now)
    })?;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_six_digits_however_it_was_copied() {
        assert_eq!(
            VerificationCode::parse(" 123-456 ").map(|code| code.as_str().to_owned()),
            Some("123456".to_owned())
        );
        for input in ["12345", "1234567", "12a456", ""] {
            assert!(VerificationCode::parse(input).is_none(), "{input:?}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_code() {
        let code = VerificationCode::parse("123456").unwrap();
        assert_eq!(format!("{code:?}"), "VerificationCode(..)");
    }
}
