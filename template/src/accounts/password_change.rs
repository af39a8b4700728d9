//! Changing the password of a signed-in user.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::AccountSettings;
use crate::accounts::login::{self, Attempt};
use crate::db::{self, DbConn};
use crate::mail::{Mailer, OutgoingEmail, outbox};
use crate::models::{User, password_reset, session, user};

/// Sets the new password, ends every session of the user (the caller renews its
/// own so it stays signed in), retires reset links and queues the notice.
pub fn change_password(
    conn: &mut DbConn,
    user_id: i64,
    new_password_hash: &str,
    changed_mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<()> {
    db::write_transaction(conn, |conn| {
        user::update_password_hash(conn, user_id, new_password_hash, now)?;
        password_reset::retire_tokens(conn, user_id, now)?;
        session::delete_user_sessions(conn, user_id)?;
        outbox::enqueue(conn, Some(user_id), changed_mail, now)
    })
}

/// A wrong current password counts like a failed login, toward the same lockout: a
/// stolen session must not be able to guess the password without limit.
pub fn record_wrong_password(
    conn: &mut DbConn,
    settings: &AccountSettings,
    mailer: &Mailer,
    attempt: &Attempt,
    account: &User,
    now: NaiveDateTime,
) -> QueryResult<()> {
    db::write_transaction(conn, |conn| {
        let locked_mail = login::locked_mail(mailer, settings, account);
        login::record_failure(conn, settings, attempt, Some(account), locked_mail, now)
    })
}
