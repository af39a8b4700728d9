//! Changing the password of a signed-in user.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{self, DbConn};
use crate::mail::{OutgoingEmail, outbox};
use crate::models::{password_reset, session, user};

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
        session::delete_user_sessions(conn, user_id, None)?;
        outbox::enqueue(conn, Some(user_id), changed_mail, now)
    })
}
