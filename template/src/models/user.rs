use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::users;

/// A person with an account.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    /// Normalised: see `accounts::email::normalize_email`.
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub is_admin: bool,
    pub is_active: bool,
    pub email_verified_at: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
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
            .first(conn)
    })
}

/// The user with this (normalised) email, if any.
pub fn get_user_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// How many users have admin rights.
pub fn count_admins(conn: &mut DbConn) -> QueryResult<i64> {
    users::table
        .filter(users::is_admin.eq(true))
        .count()
        .get_result(conn)
}
