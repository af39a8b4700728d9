use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::verification_codes;

/// An emailed verification code; only its HMAC is stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = verification_codes)]
pub struct VerificationCode {
    pub id: i64,
    pub user_id: i64,
    pub code_hash: String,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub consumed_at: Option<NaiveDateTime>,
    /// The browser it was sent for; `None` for any (an administrator sent it).
    pub browser_hash: Option<String>,
    /// For an address change: the address the code was sent to, which the account
    /// takes when the code comes back. `None` for a code confirming a new account.
    pub new_email: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = verification_codes)]
pub struct NewVerificationCode<'a> {
    pub user_id: i64,
    pub code_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub browser_hash: Option<&'a str>,
    pub new_email: Option<&'a str>,
}

pub fn insert_code(conn: &mut DbConn, code: &NewVerificationCode<'_>) -> QueryResult<usize> {
    diesel::insert_into(verification_codes::table)
        .values(code)
        .execute(conn)
}

/// Marks every unused signup code of a user for `browser` (or for any browser, with
/// `None`) as used, so only the newest one works there.
pub fn retire_codes(
    conn: &mut DbConn,
    user_id: i64,
    browser: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let codes = verification_codes::table
        .filter(verification_codes::user_id.eq(user_id))
        .filter(verification_codes::new_email.is_null())
        .filter(verification_codes::consumed_at.is_null());
    match browser {
        Some(browser) => diesel::update(codes.filter(verification_codes::browser_hash.eq(browser)))
            .set(verification_codes::consumed_at.eq(now))
            .execute(conn),
        None => diesel::update(codes.filter(verification_codes::browser_hash.is_null()))
            .set(verification_codes::consumed_at.eq(now))
            .execute(conn),
    }
}

/// The user's newest signup code that `browser` may enter: one sent for it, or for
/// any browser; used or not.
pub fn latest_code_for(
    conn: &mut DbConn,
    user_id: i64,
    browser: &str,
) -> QueryResult<Option<VerificationCode>> {
    verification_codes::table
        .filter(verification_codes::user_id.eq(user_id))
        .filter(verification_codes::new_email.is_null())
        .filter(
            verification_codes::browser_hash
                .eq(browser)
                .or(verification_codes::browser_hash.is_null()),
        )
        .order((
            verification_codes::created_at.desc(),
            verification_codes::id.desc(),
        ))
        .select(VerificationCode::as_select())
        .first(conn)
        .optional()
}

/// The user's newest signup code, used or not.
pub fn latest_code(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<VerificationCode>> {
    verification_codes::table
        .filter(verification_codes::user_id.eq(user_id))
        .filter(verification_codes::new_email.is_null())
        .order((
            verification_codes::created_at.desc(),
            verification_codes::id.desc(),
        ))
        .select(VerificationCode::as_select())
        .first(conn)
        .optional()
}

/// The user's newest address-change code, used or not.
pub fn latest_email_change(
    conn: &mut DbConn,
    user_id: i64,
) -> QueryResult<Option<VerificationCode>> {
    verification_codes::table
        .filter(verification_codes::user_id.eq(user_id))
        .filter(verification_codes::new_email.is_not_null())
        .order((
            verification_codes::created_at.desc(),
            verification_codes::id.desc(),
        ))
        .select(VerificationCode::as_select())
        .first(conn)
        .optional()
}

/// Marks the user's unused address-change codes as used: the change is off.
pub fn retire_email_changes(
    conn: &mut DbConn,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        verification_codes::table
            .filter(verification_codes::user_id.eq(user_id))
            .filter(verification_codes::new_email.is_not_null())
            .filter(verification_codes::consumed_at.is_null()),
    )
    .set(verification_codes::consumed_at.eq(now))
    .execute(conn)
}

/// How many codes the user was sent since `since`.
pub fn count_codes_since(
    conn: &mut DbConn,
    user_id: i64,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    verification_codes::table
        .filter(verification_codes::user_id.eq(user_id))
        .filter(verification_codes::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// Counts one guess against a live code, unless it has no guesses left. Returns
/// whether the guess may be checked; the conditional update keeps parallel guesses
/// from exceeding the limit.
pub fn record_attempt(
    conn: &mut DbConn,
    code_id: i64,
    max_attempts: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let counted = diesel::update(
        verification_codes::table
            .find(code_id)
            .filter(verification_codes::consumed_at.is_null())
            .filter(verification_codes::expires_at.gt(now))
            .filter(verification_codes::attempts.lt(max_attempts)),
    )
    .set(verification_codes::attempts.eq(verification_codes::attempts + 1))
    .execute(conn)?;
    Ok(counted == 1)
}

/// Uses up a code; false if another request used it first.
pub fn consume_code(conn: &mut DbConn, code_id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let consumed = diesel::update(
        verification_codes::table
            .find(code_id)
            .filter(verification_codes::consumed_at.is_null()),
    )
    .set(verification_codes::consumed_at.eq(now))
    .execute(conn)?;
    Ok(consumed == 1)
}

/// Deletes the codes that expired before `before`; a code that is still live, however
/// long its lifetime, is kept.
pub fn purge_expired_codes(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(verification_codes::table.filter(verification_codes::expires_at.lt(before)))
        .execute(conn)
}

/// Deletes every code of the user `user_id`.
pub fn delete_user_codes(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    diesel::delete(verification_codes::table.filter(verification_codes::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(())
}
