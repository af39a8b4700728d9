//! The trusted_devices table: browsers that signed in to an account before.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::trusted_devices as devices;

/// A browser known to an account, by the hash of its device cookie's token.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct TrustedDevice {
    pub id: i64,
}

/// The browser with token hash `token_hash`, if it signed in to user `user_id` before
/// and is not locked at `now`.
pub fn find_usable(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<TrustedDevice>> {
    devices::table
        .filter(devices::token_hash.eq(token_hash))
        .filter(devices::user_id.eq(user_id))
        .filter(
            devices::locked_until
                .is_null()
                .or(devices::locked_until.le(now)),
        )
        .select(TrustedDevice::as_select())
        .get_result(conn)
        .optional()
}

/// Whether the browser with token hash `token_hash` signed in to user `user_id`
/// before, locked or not.
pub fn is_known(conn: &mut DbConn, token_hash: &str, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        devices::table
            .filter(devices::token_hash.eq(token_hash))
            .filter(devices::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Remembers that the browser with `token_hash` signed in to user `user_id` at `now`,
/// with a clean slate.
pub fn trust(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let known = diesel::update(
        devices::table
            .filter(devices::token_hash.eq(token_hash))
            .filter(devices::user_id.eq(user_id)),
    )
    .set((
        devices::failed_login_count.eq(0),
        devices::locked_until.eq(None::<NaiveDateTime>),
        devices::last_used_at.eq(now),
    ))
    .execute(conn)?;
    if known == 0 {
        diesel::insert_into(devices::table)
            .values((
                devices::user_id.eq(user_id),
                devices::token_hash.eq(token_hash),
                devices::failed_login_count.eq(0),
                devices::created_at.eq(now),
                devices::last_used_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets up to `limit` browsers unused since `before`; returns how many.
pub fn purge_unused(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = devices::table
        .filter(devices::last_used_at.lt(before))
        .select(devices::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(devices::table.filter(devices::id.eq_any(ids))).execute(conn)
}

/// Counts a wrong password from device `id`, atomically; the failure that reaches
/// `max_failures` locks the browser until `until` and starts its count again.
pub fn record_failure(
    conn: &mut DbConn,
    id: i64,
    max_failures: i32,
    until: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(devices::table.find(id))
        .set(devices::failed_login_count.eq(devices::failed_login_count + 1))
        .execute(conn)?;
    diesel::update(
        devices::table
            .find(id)
            .filter(devices::failed_login_count.ge(max_failures)),
    )
    .set((
        devices::failed_login_count.eq(0),
        devices::locked_until.eq(until),
    ))
    .execute(conn)?;
    Ok(())
}

/// Forgets every browser of user `user_id`.
pub fn forget_user(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(devices::table.filter(devices::user_id.eq(user_id))).execute(conn)
}
