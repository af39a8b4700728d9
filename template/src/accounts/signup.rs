//! Creating an account.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::accounts::AccountSettings;
use crate::accounts::email::EmailAddress;
use crate::accounts::name::DisplayName;
use crate::accounts::verification::{self, CodeMail};
use crate::db::{self, DbConn};
use crate::keys::Keys;
use crate::mail::{OutgoingEmail, outbox};
use crate::models::user::{self, NewUser};

/// A checked signup form, with the password already hashed, and both mails it may
/// send, composed in advance.
pub struct Registration<'a> {
    pub name: &'a DisplayName,
    pub email: &'a EmailAddress,
    pub password_hash: &'a str,
    /// The verification code, and the mail that carries it to a new account.
    pub code: &'a CodeMail,
    /// The notice for the owner of an address that already has an account.
    pub attempt_mail: &'a OutgoingEmail,
    /// The browser signing up (the hash of its pending nonce): the code is for it.
    pub browser: &'a str,
}

/// What signup did. Both outcomes look the same to the visitor ("check your inbox"),
/// so signup never reveals whether an address has an account.
#[derive(Debug, PartialEq, Eq)]
pub enum SignupOutcome {
    /// A new unverified account, with its code on the way.
    Created,
    /// The address had an account; its owner is told someone tried to sign up.
    AlreadyRegistered,
}

/// Creates an unverified account with its verification code, and queues the code
/// mail, all in one transaction. An existing address gets the attempt notice instead.
pub fn register(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    registration: &Registration<'_>,
    now: NaiveDateTime,
) -> QueryResult<SignupOutcome> {
    let created = db::write_transaction(conn, |conn| {
        if let Some(existing) = user::get_user_by_email(conn, registration.email.as_str())? {
            db::lock_user_row(conn, existing.id)?;
            let notice = registration.attempt_mail;
            outbox::enqueue_within_limits(conn, existing.id, notice, settings.mail_limits, now)?;
            return Ok(SignupOutcome::AlreadyRegistered);
        }
        let account = user::insert_user(
            conn,
            &NewUser {
                email: registration.email.as_str(),
                password_hash: registration.password_hash,
                name: registration.name.as_str(),
                is_admin: false,
                is_active: true,
                email_verified_at: None,
                created_at: now,
                updated_at: now,
            },
        )?;
        let browser = Some(registration.browser);
        verification::store_code(
            conn,
            keys,
            settings,
            account.id,
            registration.code,
            browser,
            now,
        )?;
        Ok(SignupOutcome::Created)
    });
    match created {
        // A parallel signup with the same address won the race.
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(SignupOutcome::AlreadyRegistered)
        }
        other => other,
    }
}
