//! What only PostgreSQL does: the connection type, the development database's address
//! and row locks.

use diesel::prelude::*;
use diesel::r2d2::{Builder, ConnectionManager};

use crate::db::schema::users;

/// A connection to the application's database.
pub type DbConn = PgConnection;

/// Used when `DATABASE_URL` is not set outside production.
pub const DEFAULT_DEVELOPMENT_URL: &str = concat!(
    "postgres://postgres@localhost:5432/",
    env!("CARGO_CRATE_NAME"),
    "_development"
);

/// The pool needs no per-connection setup.
pub fn customize_pool(
    builder: Builder<ConnectionManager<DbConn>>,
) -> Builder<ConnectionManager<DbConn>> {
    builder
}

/// Opens a single connection, outside any pool.
pub fn establish(url: &str) -> ConnectionResult<DbConn> {
    DbConn::establish(url)
}

/// Runs `work` in a transaction that will write; not for use inside another
/// transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.transaction(work)
}

/// Inside a `write_transaction`: holds the administrators' rows until it ends, so
/// checks like "is this the last admin?" cannot race.
pub fn lock_admin_rows(conn: &mut DbConn) -> QueryResult<()> {
    users::table
        .filter(users::is_admin.eq(true))
        .select(users::id)
        .for_update()
        .load::<i64>(conn)
        .map(drop)
}

/// The ids of the users whose email or name may contain `text`, when an index can
/// say so cheaply; `None` means "look through the table" (`models::user_search`
/// filters the candidates exactly either way).
///
/// PostgreSQL's planner does this itself: trigram indexes serve the search's LIKE.
pub fn user_search_candidates(
    _conn: &mut DbConn,
    _text: &str,
    _limit: i64,
) -> QueryResult<Option<Vec<i64>>> {
    Ok(None)
}

/// After a bulk load: fresh statistics and a visibility map, as autovacuum gives a table in service.
pub fn refresh_statistics(conn: &mut DbConn) -> QueryResult<()> {
    diesel::sql_query("VACUUM ANALYZE users")
        .execute(conn)
        .map(drop)
}
