//! A user's own signed-in sessions: which are live, and ending one or all the others.
//! Each end is in the audit log, with the address it was asked from.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::{self, DbConn};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::session;
use crate::sessions::SessionUser;

/// Ends the session `id` of `user`; false if it was not theirs or is gone already.
pub fn sign_out_session(
    conn: &mut DbConn,
    user: &SessionUser,
    id: i64,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    db::write_transaction(conn, |conn| {
        let ended = session::delete_session_of(conn, user.id, id)?;
        if ended > 0 {
            record(conn, user, "account.sign_out_session", ip, now)?;
        }
        Ok(ended > 0)
    })
}

/// Ends every session of `user` but `keep` (the one asking); returns how many ended.
pub fn sign_out_other_sessions(
    conn: &mut DbConn,
    user: &SessionUser,
    keep: i64,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    db::write_transaction(conn, |conn| {
        let ended = session::delete_other_sessions(conn, user.id, keep)?;
        if ended > 0 {
            record(conn, user, "account.sign_out_others", ip, now)?;
        }
        Ok(ended)
    })
}

fn record(
    conn: &mut DbConn,
    user: &SessionUser,
    action: &str,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let owner = (user.id, user.email.as_str());
    audit_event::record(conn, &NewAuditEvent::by_owner(owner, action, ip, now))
}
