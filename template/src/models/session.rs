use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{sessions, users};
use crate::models::User;

/// A signed-in session, stored on the server. `key_hash` is the SHA-256 of the
/// cookie's session key.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i64,
    pub key_hash: String,
    pub user_id: Option<i64>,
    /// The session's values, as a JSON object.
    pub state: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub idle_expires_at: NaiveDateTime,
    pub absolute_expires_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub key_hash: &'a str,
    pub user_id: Option<i64>,
    pub state: &'a str,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub idle_expires_at: NaiveDateTime,
    pub absolute_expires_at: NaiveDateTime,
}

/// The live session with this key hash and its user, in one indexed read.
pub fn find_live_session(
    conn: &mut DbConn,
    key_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(Session, Option<User>)>> {
    sessions::table
        .left_join(users::table)
        .filter(sessions::key_hash.eq(key_hash))
        .filter(sessions::idle_expires_at.gt(now))
        .filter(sessions::absolute_expires_at.gt(now))
        .select((Session::as_select(), Option::<User>::as_select()))
        .get_result(conn)
        .optional()
}

pub fn insert_session(conn: &mut DbConn, session: &NewSession<'_>) -> QueryResult<usize> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)
}

/// Replaces a session's values; returns how many rows changed (0 if it is gone).
pub fn update_session_state(
    conn: &mut DbConn,
    key_hash: &str,
    user_id: Option<i64>,
    state: &str,
) -> QueryResult<usize> {
    diesel::update(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .set((sessions::user_id.eq(user_id), sessions::state.eq(state)))
        .execute(conn)
}

/// Records activity, pushing the idle deadline (never past the absolute one).
pub fn touch_session(
    conn: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
    idle_expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::idle_expires_at.eq(idle_expires_at),
        ))
        .execute(conn)
}

pub fn delete_session(conn: &mut DbConn, key_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::key_hash.eq(key_hash))).execute(conn)
}

/// Ends every session of a user (see [`delete_other_sessions`] to keep one).
pub fn delete_user_sessions(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// The live signed-in sessions of a user, the most recently used first.
pub fn live_sessions_of(
    conn: &mut DbConn,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::idle_expires_at.gt(now))
        .filter(sessions::absolute_expires_at.gt(now))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .select(Session::as_select())
        .load(conn)
}

/// How many live sessions each of `user_ids` has; users with none are left out.
pub fn live_session_counts(
    conn: &mut DbConn,
    user_ids: &[i64],
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, i64)>> {
    sessions::table
        .filter(sessions::user_id.eq_any(user_ids))
        .filter(sessions::idle_expires_at.gt(now))
        .filter(sessions::absolute_expires_at.gt(now))
        .group_by(sessions::user_id)
        .select((
            sessions::user_id.assume_not_null(),
            diesel::dsl::count_star(),
        ))
        .load(conn)
}

/// Ends the session `id` if it belongs to `user_id`; returns how many rows went (0 or 1).
pub fn delete_session_of(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::user_id.eq(user_id)),
    )
    .execute(conn)
}

/// Ends every session of `user_id` but the one with id `keep`; returns how many went.
pub fn delete_other_sessions(conn: &mut DbConn, user_id: i64, keep: i64) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep)),
    )
    .execute(conn)
}

/// Deletes sessions past either deadline.
pub fn purge_expired_sessions(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::idle_expires_at
                .le(now)
                .or(sessions::absolute_expires_at.le(now)),
        ),
    )
    .execute(conn)
}
