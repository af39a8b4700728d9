//! Moving a signed-in user to a new address: a code goes to the new address, and the
//! account takes it only when the code comes back. The codes are rows beside the
//! signup codes (with the new address), so they have the same guesses and lifetime
//! and count toward the same hourly cap; their cooldown is their own, so a user who
//! just signed up need not wait to correct their address.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::accounts::AccountSettings;
use crate::accounts::email::EmailAddress;
use crate::accounts::verification::{self, CodeMail, CodePurpose, ResendOutcome, VerificationCode};
use crate::db::{self, DbConn};
use crate::keys::Keys;
use crate::mail::{OutgoingEmail, outbox};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::verification_code::{self, NewVerificationCode};
use crate::models::{password_reset, session, user};

/// A change the user asked for: the address, and the mails it may send, composed in
/// advance.
pub struct ChangeRequest<'a> {
    pub new_email: &'a EmailAddress,
    /// The code, and the mail that carries it to the new address.
    pub code: &'a CodeMail,
    /// The notice for the owner of the new address, if it has an account.
    pub attempt_mail: &'a OutgoingEmail,
}

/// Starts moving `user_id` to `request.new_email`, within the code limits. A free
/// address is sent the code; an address with an account gets the notice for its
/// owner instead, and the code is stored all the same, never sent, so the limits and
/// the page that follows are the same either way and nobody learns whose address it is.
pub fn request_change(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    user_id: i64,
    request: &ChangeRequest<'_>,
    now: NaiveDateTime,
) -> QueryResult<ResendOutcome> {
    db::write_transaction(conn, |conn| {
        let new_email = request.new_email.as_str();
        let owner = user::get_user_by_email(conn, new_email)?;
        // Both rows, in id order: two users asking for each other's address at once
        // must not each hold one row and wait for the other.
        let mut rows = [Some(user_id), owner.as_ref().map(|owner| owner.id)];
        rows.sort_unstable();
        for id in rows.into_iter().flatten() {
            db::lock_user_row(conn, id)?;
        }
        let purpose = CodePurpose::ChangeEmail;
        if let Some(refused) =
            verification::code_limits_refuse(conn, settings, user_id, purpose, now)?
        {
            return Ok(refused);
        }
        verification_code::retire_email_changes(conn, user_id, now)?;
        verification_code::insert_code(
            conn,
            &NewVerificationCode {
                user_id,
                code_hash: &request.code.hash(keys, user_id),
                created_at: now,
                expires_at: now + settings.code_lifetime,
                browser_hash: None,
                new_email: Some(new_email),
            },
        )?;
        match owner {
            None => outbox::enqueue(conn, Some(user_id), request.code.mail(), now)?,
            Some(owner) => {
                let notice = request.attempt_mail;
                outbox::enqueue_within_limits(conn, owner.id, notice, settings.mail_limits, now)?;
            }
        }
        Ok(ResendOutcome::Sent)
    })
}

/// The address the user is moving to, while its code can still be entered.
pub fn pending_change(
    conn: &mut DbConn,
    settings: &AccountSettings,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    Ok(verification_code::latest_email_change(conn, user_id)?
        .filter(|code| {
            code.consumed_at.is_none()
                && code.expires_at > now
                && code.attempts < settings.code_max_attempts
        })
        .and_then(|code| code.new_email))
}

/// Whether the user's latest change is done: its code is used and the account has the
/// address it asked for. A form sent twice (a double click) finds it so.
pub fn latest_change_done(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    let Some(latest) = verification_code::latest_email_change(conn, user_id)? else {
        return Ok(false);
    };
    let account = user::get_user(conn, user_id)?;
    Ok(latest.consumed_at.is_some()
        && account.is_some_and(|account| latest.new_email.as_deref() == Some(&account.email)))
}

/// What became of a code typed to confirm a new address.
#[derive(Debug, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The account uses the new address now; the old one is told.
    Changed,
    /// Wrong code; the code still has guesses left.
    Wrong,
    /// No usable code: expired, used, out of guesses, or never asked for.
    Expired,
    /// The address has an account (it gained one since the code was sent).
    Taken,
}

/// What the confirmation needs besides the code: who types it, for which address,
/// from where, and the notice for the old address, composed in advance.
pub struct Confirmation<'a> {
    pub user_id: i64,
    /// The address the page asked the code for (see [`pending_change`]); a newer
    /// request since then makes the code typed for it void.
    pub new_email: &'a str,
    /// The row id of the session the code is typed in: it stays signed in, the others end.
    pub keep_session: i64,
    pub ip: &'a str,
    pub changed_mail: &'a OutgoingEmail,
}

/// Checks `code` against the user's pending change and, if right, moves the account:
/// in one transaction the address changes, reset links sent to the old one stop
/// working, every other session ends, the old address is sent the notice and the
/// audit log records both addresses.
pub fn confirm_change(
    conn: &mut DbConn,
    keys: &Keys,
    settings: &AccountSettings,
    confirmation: &Confirmation<'_>,
    code: &VerificationCode,
    now: NaiveDateTime,
) -> QueryResult<ChangeOutcome> {
    let user_id = confirmation.user_id;
    let outcome = db::write_transaction(conn, |conn| {
        db::lock_user_row(conn, user_id)?;
        let Some(account) = user::get_user(conn, user_id)? else {
            return Ok(ChangeOutcome::Expired);
        };
        let Some(latest) = verification_code::latest_email_change(conn, user_id)? else {
            return Ok(ChangeOutcome::Expired);
        };
        let new_email = confirmation.new_email;
        if latest.new_email.as_deref() != Some(new_email) {
            return Ok(ChangeOutcome::Expired);
        }
        if !verification_code::record_attempt(conn, latest.id, settings.code_max_attempts, now)? {
            return Ok(ChangeOutcome::Expired);
        }
        if !keys.code_matches(user_id, code.as_str(), &latest.code_hash) {
            return Ok(ChangeOutcome::Wrong);
        }
        if !verification_code::consume_code(conn, latest.id, now)? {
            return Ok(ChangeOutcome::Expired);
        }
        if user::get_user_by_email(conn, new_email)?.is_some() {
            return Ok(ChangeOutcome::Taken);
        }
        user::set_email(conn, user_id, new_email, now)?;
        password_reset::retire_tokens(conn, user_id, now)?;
        session::delete_other_sessions(conn, user_id, confirmation.keep_session)?;
        outbox::enqueue(conn, Some(user_id), confirmation.changed_mail, now)?;
        audit_event::record(
            conn,
            &NewAuditEvent {
                actor_id: Some(user_id),
                actor_email: &account.email,
                action: "account.email_change",
                target_id: Some(user_id),
                target_email: Some(new_email),
                ip: confirmation.ip,
                created_at: now,
            },
        )?;
        Ok(ChangeOutcome::Changed)
    });
    match outcome {
        // A signup with the same address committed between the check and the change.
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(ChangeOutcome::Taken)
        }
        other => other,
    }
}

/// Drops the pending change: its code stops working.
pub fn cancel_change(conn: &mut DbConn, user_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    verification_code::retire_email_changes(conn, user_id, now).map(drop)
}
