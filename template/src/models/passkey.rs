//! The passkeys table: each user's WebAuthn credentials.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::passkeys;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The id the authenticator keeps for the user (a UUID).
    pub user_handle: String,
    /// The WebAuthn library's credential, as JSON.
    pub credential: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = passkeys)]
pub struct NewPasskey<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub credential_key: &'a str,
    pub user_handle: &'a str,
    pub credential: &'a str,
    pub created_at: NaiveDateTime,
}

/// Adds a passkey; false when its credential is registered already (to anyone).
pub fn insert(conn: &mut DbConn, passkey: &NewPasskey<'_>) -> QueryResult<bool> {
    let taken = diesel::select(diesel::dsl::exists(
        passkeys::table.filter(passkeys::credential_key.eq(passkey.credential_key)),
    ))
    .get_result::<bool>(conn)?;
    if taken {
        return Ok(false);
    }
    diesel::insert_into(passkeys::table)
        .values(passkey)
        .execute(conn)?;
    Ok(true)
}

/// User `user_id`'s passkeys, oldest first.
pub fn of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order(passkeys::id.asc())
        .select(PasskeyRow::as_select())
        .load(conn)
}

/// Whether user `user_id` has a passkey.
pub fn exists_for(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        passkeys::table.filter(passkeys::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// The passkey with credential key `credential_key` (`keys::credential_key`).
pub fn find_by_credential(
    conn: &mut DbConn,
    credential_key: &str,
) -> QueryResult<Option<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::credential_key.eq(credential_key))
        .select(PasskeyRow::as_select())
        .get_result(conn)
        .optional()
}

/// Records a sign-in with passkey `id`, and its credential with the new counter.
pub fn record_use(
    conn: &mut DbConn,
    id: i64,
    credential: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let row = passkeys::table.find(id);
    match credential {
        Some(credential) => diesel::update(row)
            .set((
                passkeys::credential.eq(credential),
                passkeys::last_used_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(row)
            .set(passkeys::last_used_at.eq(now))
            .execute(conn)?,
    };
    Ok(())
}

/// Removes user `user_id`'s passkey `id`; the name it had, if there was one.
pub fn delete(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<Option<String>> {
    let row = passkeys::table
        .find(id)
        .filter(passkeys::user_id.eq(user_id));
    let Some(name) = row
        .select(passkeys::name)
        .get_result::<String>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let deleted = diesel::delete(row).execute(conn)?;
    Ok((deleted == 1).then_some(name))
}

/// Removes all of user `user_id`'s passkeys; how many there were.
pub fn delete_all(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(conn)
}

/// Of `user_ids`, those with a passkey.
pub fn owners_among(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<Vec<i64>> {
    passkeys::table
        .filter(passkeys::user_id.eq_any(user_ids))
        .select(passkeys::user_id)
        .distinct()
        .load(conn)
}
