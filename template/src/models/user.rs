use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::DbConn;
use crate::db::schema::users;

/// An id no user has (ids start at 1): decoy statements for unknown addresses run
/// against it, so they cost what real ones do.
pub const NO_USER_ID: i64 = 0;

/// A person with an account.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    /// Normalised: see `accounts::email::EmailAddress`.
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub is_admin: bool,
    pub is_active: bool,
    pub email_verified_at: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Failed logins since the last success; reaching the limit locks the account.
    pub failed_login_count: i32,
    pub locked_until: Option<NaiveDateTime>,
}

/// The columns a new user row is created with.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub name: &'a str,
    pub is_admin: bool,
    pub is_active: bool,
    pub email_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Inserts a user and returns the stored row. Not every database can return the
/// inserted row, so it is read back by its unique email inside the same transaction.
pub fn insert_user(conn: &mut DbConn, new_user: &NewUser<'_>) -> QueryResult<User> {
    conn.transaction(|conn| {
        diesel::insert_into(users::table)
            .values(new_user)
            .execute(conn)?;
        users::table
            .filter(users::email.eq(new_user.email))
            .select(User::as_select())
            .get_result(conn)
    })
}

/// The user with this (normalised) email, if any.
pub fn get_user_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .get_result(conn)
        .optional()
}

/// How many enabled users have admin rights: the ones who can still administer.
pub fn count_active_admins(conn: &mut DbConn) -> QueryResult<i64> {
    users::table
        .filter(users::is_admin.eq(true))
        .filter(users::is_active.eq(true))
        .count()
        .get_result(conn)
}

/// The user with this id, if any.
pub fn get_user(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .get_result(conn)
        .optional()
}

/// Counts a failed login atomically (parallel failures all count) and returns
/// the new count; `None` if there is no such user.
pub fn record_failed_login(
    conn: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<i32>> {
    // A lock that ran out starts the count again: one failure a quarter of an hour
    // must not keep the owner out for good.
    diesel::update(users::table.find(id).filter(users::locked_until.le(now)))
        .set((
            users::failed_login_count.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    diesel::update(users::table.find(id))
        .set(users::failed_login_count.eq(users::failed_login_count + 1))
        .execute(conn)?;
    users::table
        .find(id)
        .select(users::failed_login_count)
        .get_result(conn)
        .optional()
}

/// Locks the account until `until` if it reached `max_failures` and is not locked
/// already. Returns whether this call locked it, so exactly one request mails the owner.
pub fn lock_if_over_limit(
    conn: &mut DbConn,
    id: i64,
    max_failures: i32,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let locked = diesel::update(
        users::table
            .find(id)
            .filter(users::failed_login_count.ge(max_failures))
            .filter(
                users::locked_until
                    .is_null()
                    .or(users::locked_until.le(now)),
            ),
    )
    .set(users::locked_until.eq(until))
    .execute(conn)?;
    Ok(locked == 1)
}

/// A right password clears the failure count and any lock, but only if the account
/// may still sign in as `account` read it before the (slow) check: still active, not
/// locked (unless `despite_lock`: from a browser the account trusts), password
/// unchanged. False means one of those changed
/// meanwhile, and the attempt fails: a guess in flight when the lock or a password
/// change commits must not get in.
pub fn accept_password(
    conn: &mut DbConn,
    account: &User,
    despite_lock: bool,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let accepted = diesel::update(
        users::table
            .find(account.id)
            .filter(users::is_active.eq(true))
            .filter(users::password_hash.eq(&account.password_hash))
            .filter(
                users::locked_until
                    .is_null()
                    .or(users::locked_until.le(now))
                    .or(despite_lock.into_sql::<Bool>()),
            ),
    )
    .set((
        users::failed_login_count.eq(0),
        users::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(accepted == 1)
}

/// Whether `account` could sign in now: active, its password unchanged since it was
/// read, and not locked (unless `despite_lock`). Like [`accept_password`], without
/// clearing the count of failures: for a sign-in with a second step still to come.
pub fn may_sign_in(
    conn: &mut DbConn,
    account: &User,
    despite_lock: bool,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .find(account.id)
            .filter(users::is_active.eq(true))
            .filter(users::password_hash.eq(&account.password_hash))
            .filter(
                users::locked_until
                    .is_null()
                    .or(users::locked_until.le(now))
                    .or(despite_lock.into_sql::<Bool>()),
            ),
    ))
    .get_result(conn)
}

/// Stamps a sign-in.
pub fn record_sign_in(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn mark_email_verified(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified_at.is_null()),
    )
    .set((users::email_verified_at.eq(now), users::updated_at.eq(now)))
    .execute(conn)?;
    Ok(())
}

/// Sets a new password and lifts any lockout: whoever sets it proved who they are.
pub fn update_password_hash(
    conn: &mut DbConn,
    id: i64,
    password_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::failed_login_count.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Renames the user `id`.
pub fn set_name(conn: &mut DbConn, id: i64, name: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::name.eq(name), users::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Moves the user `id` to the address `email`, verified by a code sent there.
pub fn set_email(conn: &mut DbConn, id: i64, email: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Enables or disables the user `id`.
pub fn set_active(
    conn: &mut DbConn,
    id: i64,
    is_active: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::is_active.eq(is_active), users::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Makes the user `id` an administrator, or takes that away.
pub fn set_admin(
    conn: &mut DbConn,
    id: i64,
    is_admin: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::is_admin.eq(is_admin), users::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Deletes the user `id` (their rows in other tables go first: see `admin::actions`).
pub fn delete_user(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::delete(users::table.find(id)).execute(conn)?;
    Ok(())
}

/// Deletes up to `limit` accounts created before `before` and never verified (their
/// codes, sessions and mail go with them: the foreign keys cascade); returns how many.
pub fn purge_unverified(
    conn: &mut DbConn,
    before: NaiveDateTime,
    limit: i64,
) -> QueryResult<usize> {
    let ids: Vec<i64> = users::table
        .filter(users::email_verified_at.is_null())
        .filter(users::created_at.lt(before))
        .select(users::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(users::table.filter(users::id.eq_any(ids))).execute(conn)
}

/// Users whose latest sign-in is in `[from, to)`.
pub fn count_signed_in_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<i64> {
    users::table
        .filter(users::last_login_at.ge(from))
        .filter(users::last_login_at.lt(to))
        .count()
        .get_result(conn)
}
