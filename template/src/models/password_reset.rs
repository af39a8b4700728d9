use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::password_reset_tokens;

/// A password reset link; only the SHA-256 of its token is stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = password_reset_tokens)]
pub struct PasswordResetToken {
    pub id: i64,
    pub user_id: i64,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = password_reset_tokens)]
pub struct NewPasswordResetToken<'a> {
    pub user_id: i64,
    pub token_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert_token(conn: &mut DbConn, token: &NewPasswordResetToken<'_>) -> QueryResult<usize> {
    diesel::insert_into(password_reset_tokens::table)
        .values(token)
        .execute(conn)
}

/// The unused, unexpired token with this hash.
pub fn find_live_token(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<PasswordResetToken>> {
    password_reset_tokens::table
        .filter(password_reset_tokens::token_hash.eq(token_hash))
        .filter(password_reset_tokens::used_at.is_null())
        .filter(password_reset_tokens::expires_at.gt(now))
        .select(PasswordResetToken::as_select())
        .get_result(conn)
        .optional()
}

/// Uses up the live token with this hash; false if there is none: unknown, used,
/// expired, or redeemed by a parallel request first. The conditional update lets
/// exactly one redemption win. Call it before reading anything in the transaction:
/// with some databases a transaction that has read cannot become a writer once
/// another connection has written, and fails instead of waiting.
pub fn redeem_token(conn: &mut DbConn, token_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let redeemed = diesel::update(
        password_reset_tokens::table
            .filter(password_reset_tokens::token_hash.eq(token_hash))
            .filter(password_reset_tokens::used_at.is_null())
            .filter(password_reset_tokens::expires_at.gt(now)),
    )
    .set(password_reset_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(redeemed == 1)
}

/// The token with this hash, live or not.
pub fn find_token(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<PasswordResetToken>> {
    password_reset_tokens::table
        .filter(password_reset_tokens::token_hash.eq(token_hash))
        .select(PasswordResetToken::as_select())
        .get_result(conn)
        .optional()
}

/// Retires every unused token of a user.
pub fn retire_tokens(conn: &mut DbConn, user_id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        password_reset_tokens::table
            .filter(password_reset_tokens::user_id.eq(user_id))
            .filter(password_reset_tokens::used_at.is_null()),
    )
    .set(password_reset_tokens::used_at.eq(now))
    .execute(conn)
}

/// Deletes the reset tokens that expired before `before`; a live one, however long
/// its lifetime, is kept.
pub fn purge_expired_tokens(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        password_reset_tokens::table.filter(password_reset_tokens::expires_at.lt(before)),
    )
    .execute(conn)
}

/// Deletes every reset token of the user `user_id`.
pub fn delete_user_tokens(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    diesel::delete(password_reset_tokens::table.filter(password_reset_tokens::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(())
}
