//! Signing in: password check, per-account lockout, and the answers that must
//! not tell an attacker which accounts exist.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::AccountSettings;
use crate::accounts::email::EmailAddress;
use crate::accounts::passkeys::Verified;
use crate::accounts::password;
use crate::accounts::two_factor::SecondFactor;
use crate::db::{self, DbConn};
use crate::mail::{Email, MailError, Mailer, OutgoingEmail, outbox};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::trusted_device::{self, TrustedDevice};
use crate::models::{User, two_factor as second_factors, user};

/// Who tried to sign in, for the audit log.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The address typed, normalised.
    pub email: String,
    /// The client's address.
    pub ip: String,
    /// The hash of the browser's device token (`keys::token_hash`).
    pub device: String,
    /// The browser, as a sign-in notice names it ("Firefox on Windows 10").
    pub browser: String,
}

/// What a login attempt leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(User),
    /// The password is right but the address is not verified yet.
    Unverified(User),
    /// The password is right; the account signs in with a second factor too, so
    /// nothing counts as a sign-in yet (see [`record_second_factor`]).
    SecondFactor(User),
    /// Wrong password, unknown address, locked or disabled account: one answer for all.
    Failed,
}

/// The user a login names, read before the (slow) password check so no database
/// connection is held while bcrypt runs.
pub fn find_account(conn: &mut DbConn, email: &EmailAddress) -> QueryResult<Option<User>> {
    user::get_user_by_email(conn, email.as_str())
}

/// A bcrypt hash of nothing, at the configured cost, made once at start-up:
/// checking a password against it takes as long as against a real one.
pub struct DummyHash(String);

impl DummyHash {
    /// Slow (one bcrypt hash): call it on the blocking pool.
    pub fn new(cost: u32) -> Result<Self, bcrypt::BcryptError> {
        password::hash_password("not a real password", cost).map(Self)
    }
}

/// Checks the password against the account's hash, or against the dummy hash when
/// there is no account, so both take the same time. Slow: run on the blocking pool.
pub fn password_matches(account: Option<&User>, password: &str, dummy: &DummyHash) -> bool {
    match account {
        Some(account) => password::verify_password(password, &account.password_hash),
        None => {
            password::verify_password(password, &dummy.0);
            false
        }
    }
}

/// Records the outcome of a checked password, in the account and in the audit log.
/// A browser (`attempt.device`) that signed in to this account before, and is not
/// locked itself, is trusted: a lock strangers caused does not keep it out, and its
/// wrong passwords lock only it. Any other failure counts toward the account's lockout
/// (see [`record_failure`]). A success is finished by `finish_sign_in`, unless the
/// account has a second factor to ask for. An unknown address runs the same
/// statements against no row, so its answer takes as long as a wrong password's.
pub fn record_attempt(
    conn: &mut DbConn,
    settings: &AccountSettings,
    mailer: &Mailer,
    attempt: &Attempt,
    account: Option<&User>,
    password_matched: bool,
    now: NaiveDateTime,
) -> QueryResult<LoginOutcome> {
    db::write_transaction(conn, |conn| {
        let id = account.map_or(user::NO_USER_ID, |account| account.id);
        let trusted = trusted_device::find_usable(conn, &attempt.device, id, now)?;
        let Some(account) = account.filter(|_| password_matched) else {
            count_failure(conn, settings, mailer, attempt, account, trusted, now)?;
            return Ok(LoginOutcome::Failed);
        };
        // With a second factor to come, the right password must not wipe the count
        // of failures: wrong codes count toward the same lockout.
        let second_factor = second_factors::is_enabled(conn, account.id)?;
        let accepted = if second_factor {
            user::may_sign_in(conn, account, trusted.is_some(), now)?
        } else {
            user::accept_password(conn, account, trusted.is_some(), now)?
        };
        if !accepted {
            audit(conn, attempt, Some(account), "login.failure", now)?;
            return Ok(LoginOutcome::Failed);
        }
        if account.email_verified_at.is_none() {
            return Ok(LoginOutcome::Unverified(account.clone()));
        }
        if second_factor {
            return Ok(LoginOutcome::SecondFactor(account.clone()));
        }
        finish_sign_in(conn, settings, mailer, attempt, account, trusted, now)?;
        Ok(LoginOutcome::SignedIn(account.clone()))
    })
}

/// What the second step of a sign-in led to.
#[derive(Debug)]
pub enum SecondStep {
    /// Signed in, with the authenticator's code or a recovery code.
    SignedIn(User, SecondFactor),
    /// A wrong or used code; it counted toward the lockout.
    Wrong,
    /// The account cannot sign in now (locked, disabled, its password changed, its
    /// second factor turned off or unreadable): the sign-in starts again, and nothing
    /// counted.
    Refused,
}

/// The second step of a sign-in for `account`, whose password was right a few minutes
/// ago: `check` checks the code typed, in this transaction (it is
/// `accounts::two_factor::check_second_factor`); a wrong one counts like a wrong password; a
/// right one signs in as [`record_attempt`] would have, and a recovery code mails the
/// owner how many are left.
pub fn record_second_factor(
    conn: &mut DbConn,
    settings: &AccountSettings,
    mailer: &Mailer,
    attempt: &Attempt,
    account: &User,
    check: impl FnOnce(&mut DbConn) -> QueryResult<SecondFactor>,
    now: NaiveDateTime,
) -> QueryResult<SecondStep> {
    db::write_transaction(conn, |conn| {
        // One second step of an account at a time: a code sent twice (a double click)
        // is checked after the first one trusted the browser, not beside it.
        db::lock_user_row(conn, account.id)?;
        let trusted = trusted_device::find_usable(conn, &attempt.device, account.id, now)?;
        if !user::may_sign_in(conn, account, trusted.is_some(), now)? {
            return Ok(SecondStep::Refused);
        }
        let factor = check(conn)?;
        if matches!(factor, SecondFactor::Off | SecondFactor::Unreadable) {
            return Ok(SecondStep::Refused);
        }
        if factor == SecondFactor::Wrong {
            // From a browser the account signed in from before (even one locked by
            // typos) it is most likely the owner mistyping; from any other, someone
            // else has the password.
            let from_stranger = !trusted_device::is_known(conn, &attempt.device, account.id)?;
            count_failure(conn, settings, mailer, attempt, Some(account), trusted, now)?;
            if from_stranger {
                let mail =
                    second_factor_failed_mail(mailer, attempt, account, now).map_err(|error| {
                        tracing::error!(%error, "cannot compose the second factor failed mail");
                        diesel::result::Error::RollbackTransaction
                    })?;
                // The account's row is locked: parallel wrong codes check the limits
                // one after another.
                outbox::enqueue_within_limits(conn, account.id, &mail, settings.mail_limits, now)?;
            }
            return Ok(SecondStep::Wrong);
        }
        if !user::accept_password(conn, account, trusted.is_some(), now)? {
            return Ok(SecondStep::Refused);
        }
        if let SecondFactor::RecoveryCode { left } = factor {
            let notice = Email::RecoveryCodeUsed {
                name: account.name.clone(),
                left,
            };
            let mail = mailer.compose(&account.email, &notice).map_err(|error| {
                tracing::error!(%error, "cannot compose the recovery code mail");
                diesel::result::Error::RollbackTransaction
            })?;
            outbox::enqueue(conn, Some(account.id), &mail, now)?;
        }
        finish_sign_in(conn, settings, mailer, attempt, account, trusted, now)?;
        Ok(SecondStep::SignedIn(account.clone(), factor))
    })
}

/// A sign-in with a passkey that verified (`accounts::passkeys::check_sign_in`) for
/// `account`: no password and no second step, since the passkey is both something
/// the user has and (user verification) something they know or are. It clears a
/// lock, as a password reset does: strangers' wrong passwords cannot keep out someone
/// who proves who they are. Records the passkey's use. False when the account is
/// disabled or unverified.
pub fn record_passkey_sign_in(
    conn: &mut DbConn,
    settings: &AccountSettings,
    mailer: &Mailer,
    attempt: &Attempt,
    account: &User,
    passkey: &Verified,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    db::write_transaction(conn, |conn| {
        let trusted = trusted_device::find_usable(conn, &attempt.device, account.id, now)?;
        if account.email_verified_at.is_none() || !user::accept_password(conn, account, true, now)?
        {
            audit(conn, attempt, Some(account), "login.failure", now)?;
            return Ok(false);
        }
        passkey.record(conn, now)?;
        finish_sign_in(conn, settings, mailer, attempt, account, trusted, now)?;
        Ok(true)
    })
}

/// A wrong password or code: from a trusted browser it counts toward that browser's
/// own lock, from any other toward the account's (see [`record_failure`]).
fn count_failure(
    conn: &mut DbConn,
    settings: &AccountSettings,
    mailer: &Mailer,
    attempt: &Attempt,
    account: Option<&User>,
    trusted: Option<TrustedDevice>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    match trusted {
        Some(trusted) => {
            let until = now + settings.lockout;
            trusted_device::record_failure(conn, trusted.id, settings.max_failed_logins, until)?;
            audit(conn, attempt, account, "login.failure", now)
        }
        None => {
            let locked_mail = || {
                let account = account.expect("only known accounts are locked");
                locked_mail(mailer, settings, account)()
            };
            record_failure(conn, settings, attempt, account, locked_mail, now)
        }
    }
}

/// What makes a checked sign-in one: the time, the notice of a new browser (when
/// `NEW_SIGN_IN_MAIL` is on; never held back by the mail limits, which would let a
/// thief hide behind the owner's own sign-in a minute before), trust in the browser
/// and the audit log.
fn finish_sign_in(
    conn: &mut DbConn,
    settings: &AccountSettings,
    mailer: &Mailer,
    attempt: &Attempt,
    account: &User,
    trusted: Option<TrustedDevice>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    user::record_sign_in(conn, account.id, now)?;
    if trusted.is_none() && settings.new_sign_in_mail {
        let mail = new_sign_in_mail(mailer, attempt, account, now).map_err(|error| {
            tracing::error!(%error, "cannot compose the new sign-in mail");
            diesel::result::Error::RollbackTransaction
        })?;
        outbox::enqueue(conn, Some(account.id), &mail, now)?;
    }
    trusted_device::trust(conn, &attempt.device, account.id, now)?;
    audit(conn, attempt, Some(account), "login.success", now)
}

/// The "account locked" mail for `account`, composed only when a failure locks it.
pub fn locked_mail<'a>(
    mailer: &'a Mailer,
    settings: &AccountSettings,
    account: &'a User,
) -> impl FnOnce() -> Result<OutgoingEmail, MailError> + 'a {
    let minutes = settings.lockout.num_minutes();
    move || {
        mailer.compose(
            &account.email,
            &Email::AccountLocked {
                name: account.name.clone(),
                minutes,
            },
        )
    }
}

/// The notice of a sign-in from a browser the account never used.
fn new_sign_in_mail(
    mailer: &Mailer,
    attempt: &Attempt,
    account: &User,
    now: NaiveDateTime,
) -> Result<OutgoingEmail, MailError> {
    mailer.compose(
        &account.email,
        &Email::NewSignIn {
            name: account.name.clone(),
            browser: attempt.browser.clone(),
            ip: attempt.ip.clone(),
            at: mail_time(now),
        },
    )
}

/// The notice that someone gave the password and then a wrong second factor.
fn second_factor_failed_mail(
    mailer: &Mailer,
    attempt: &Attempt,
    account: &User,
    now: NaiveDateTime,
) -> Result<OutgoingEmail, MailError> {
    mailer.compose(
        &account.email,
        &Email::SecondFactorFailed {
            name: account.name.clone(),
            browser: attempt.browser.clone(),
            ip: attempt.ip.clone(),
            at: mail_time(now),
        },
    )
}

/// A time as mail states it: "2026-12-06 09:30 UTC".
fn mail_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Inside a transaction: counts a wrong password for `account` (or for no row, when
/// the address is unknown), and locks the account when that reaches the limit. Used
/// by every form that checks a password, so each wrong one counts the same.
pub fn record_failure(
    conn: &mut DbConn,
    settings: &AccountSettings,
    attempt: &Attempt,
    account: Option<&User>,
    locked_mail: impl FnOnce() -> Result<OutgoingEmail, MailError>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let id = account.map_or(user::NO_USER_ID, |account| account.id);
    user::record_failed_login(conn, id, now)?;
    audit(conn, attempt, account, "login.failure", now)?;
    let until = now + settings.lockout;
    if user::lock_if_over_limit(conn, id, settings.max_failed_logins, now, until)? {
        audit(conn, attempt, account, "login.lockout", now)?;
        let mail = locked_mail().map_err(|error| {
            tracing::error!(%error, "cannot compose the account locked mail");
            diesel::result::Error::RollbackTransaction
        })?;
        // The row is locked by the update that locked the account.
        outbox::enqueue_within_limits(conn, id, &mail, settings.mail_limits, now)?;
    }
    Ok(())
}

fn audit(
    conn: &mut DbConn,
    attempt: &Attempt,
    account: Option<&User>,
    action: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    audit_event::record(
        conn,
        &NewAuditEvent {
            actor_id: account.map(|account| account.id),
            actor_email: &attempt.email,
            action,
            target_id: None,
            target_email: None,
            ip: &attempt.ip,
            created_at: now,
        },
    )
}
