//! Signing in: password check, per-account lockout, and the answers that must
//! not tell an attacker which accounts exist.

use std::sync::OnceLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::password;
use crate::config::AccountSettings;
use crate::db::DbConn;
use crate::mail::{OutgoingEmail, outbox};
use crate::models::{User, user};

/// What a login attempt leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(User),
    /// The password is right but the address is not verified yet.
    Unverified(User),
    /// Wrong password, unknown address, locked or disabled account: one answer for all.
    Failed,
}

/// The user a login names, read before the (slow) password check so no database
/// connection is held while bcrypt runs.
pub fn find_account(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    user::get_user_by_email(conn, email)
}

/// Checks the password against the account's hash, or against a dummy hash when
/// there is no account, so both take the same time. Slow: run on the blocking pool.
pub fn password_matches(account: Option<&User>, password: &str, cost: u32) -> bool {
    match account {
        Some(account) => password::verify_password(password, &account.password_hash),
        None => {
            password::verify_password(password, dummy_hash(cost));
            false
        }
    }
}

fn dummy_hash(cost: u32) -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        password::hash_password("not a real password", cost).expect("bcrypt works with a valid cost")
    })
}

/// Records the outcome of a checked password. A failure is counted atomically;
/// the failure that reaches the limit locks the account and queues `locked_mail`
/// for its owner (exactly once per lockout).
pub fn record_attempt(
    conn: &mut DbConn,
    settings: &AccountSettings,
    account: &User,
    password_matched: bool,
    locked_mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<LoginOutcome> {
    conn.transaction(|conn| {
        let locked = account.locked_until.is_some_and(|until| until > now);
        if !password_matched {
            user::record_failed_login(conn, account.id)?;
            let until = now + settings.lockout;
            if user::lock_if_over_limit(conn, account.id, settings.max_failed_logins, now, until)? {
                outbox::enqueue(conn, Some(account.id), locked_mail, now)?;
            }
            return Ok(LoginOutcome::Failed);
        }
        if locked || !account.is_active {
            return Ok(LoginOutcome::Failed);
        }
        if account.email_verified_at.is_none() {
            return Ok(LoginOutcome::Unverified(account.clone()));
        }
        user::record_successful_login(conn, account.id, now)?;
        Ok(LoginOutcome::SignedIn(account.clone()))
    })
}
