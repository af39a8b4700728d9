//! Deleting an account and everything of it: by its owner (who is sent a goodbye) or
//! by an administrator. The audit log keeps what happened to it.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::{self, DbConn};
use crate::mail::{OutgoingEmail, outbox};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::{
    passkey, password_reset, recovery_code, session, trusted_device, two_factor, user,
    verification_code,
};

/// What became of an owner's request to delete their account.
#[derive(Debug, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// The account is the last active administrator's: the site would have none.
    LastAdmin,
}

/// Deletes the user `id` and every row of theirs. The foreign keys cascade too;
/// deleting explicitly keeps this correct even where they are not enforced.
pub fn erase_user(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    session::delete_user_sessions(conn, id)?;
    verification_code::delete_user_codes(conn, id)?;
    password_reset::delete_user_tokens(conn, id)?;
    trusted_device::forget_user(conn, id)?;
    two_factor::delete(conn, id)?;
    recovery_code::delete_all(conn, id)?;
    passkey::delete_all(conn, id)?;
    crate::models::outbox::delete_user_mail(conn, id)?;
    user::delete_user(conn, id)
}

/// Deletes the account `user_id` at its owner's request, in one transaction with its
/// audit entry and the goodbye mail (queued for no account: the account is gone).
pub fn delete_own_account(
    conn: &mut DbConn,
    user_id: i64,
    goodbye: &OutgoingEmail,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<Deletion> {
    db::write_transaction(conn, |conn| {
        // Locked before the account is read, so a promotion or another admin's
        // deletion committed meanwhile is seen: two admins deleting themselves at
        // once must not both succeed.
        let active_admins = db::lock_active_admins(conn)?;
        let Some(account) = user::get_user(conn, user_id)? else {
            return Ok(Deletion::Deleted);
        };
        if account.is_admin && account.is_active && active_admins <= 1 {
            return Ok(Deletion::LastAdmin);
        }
        erase_user(conn, account.id)?;
        outbox::enqueue(conn, None, goodbye, now)?;
        audit_event::record(
            conn,
            &NewAuditEvent {
                actor_id: None,
                actor_email: &account.email,
                action: "account.delete",
                target_id: Some(account.id),
                target_email: Some(&account.email),
                ip,
                created_at: now,
            },
        )?;
        Ok(Deletion::Deleted)
    })
}
