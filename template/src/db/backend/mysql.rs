//! What only MySQL/MariaDB does: the connection type, the development database's address
//! and row locks.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{Builder, ConnectionManager};

use crate::db::schema::{user_counts, users};

/// A connection to the application's database.
pub type DbConn = MysqlConnection;

/// Used when `DATABASE_URL` is not set outside production.
pub const DEFAULT_DEVELOPMENT_URL: &str = concat!(
    "mysql://root@localhost:3306/",
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

/// Whether `error` says the server could not be reached or the connection broke,
/// rather than that the query was wrong. The client library's codes (2002, 2006,
/// 2013) reach diesel as messages only.
pub fn is_unavailable(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            ["Lost connection", "gone away", "Can't connect"]
                .iter()
                .any(|sign| message.contains(sign))
        }
        _ => false,
    }
}

/// Runs `work` in a transaction that will write; not for use inside another
/// transaction. READ COMMITTED: each statement sees what committed before it, so a
/// check made after taking a lock sees the work of the transaction that held it
/// (InnoDB's default REPEATABLE READ would answer from the snapshot of the
/// transaction's first read).
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.batch_execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")?;
    conn.transaction(work)
}

/// Inside a `write_transaction`: holds the row of user `id` until it ends, so
/// check-then-write steps on one account (a code's cooldown, say) run one at a time.
pub fn lock_user_row(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    users::table
        .find(id)
        .select(users::id)
        .for_update()
        .execute(conn)
        .map(drop)
}

/// Inside a `write_transaction`: the number of active administrators, counted from
/// their rows locked until the transaction ends, so "is this the last admin?" cannot
/// race. The one `user_counts` row is taken first as the guard's mutex: two guards
/// waiting on the admins' rows themselves deadlock on the index's gap locks when one
/// of them then changes `is_admin`. A locking read counts the latest committed rows,
/// not the transaction's snapshot.
pub fn lock_active_admins(conn: &mut DbConn) -> QueryResult<i64> {
    user_counts::table
        .select(user_counts::id)
        .for_update()
        .execute(conn)?;
    let admins = users::table
        .filter(users::is_admin.eq(true))
        .filter(users::is_active.eq(true))
        .select(users::id)
        .for_update()
        .load::<i64>(conn)?;
    Ok(i64::try_from(admins.len()).expect("fewer admins than i64::MAX"))
}

/// The ids of the users whose email or name may contain `text`, when an index can
/// say so cheaply; `None` means "look through the table" (`models::user_search`
/// filters the candidates exactly either way).
///
/// MySQL has no index for a substring search: it reads the table, which stops as
/// soon as a page is full for a common text and reads it all for a rare one.
pub fn user_search_candidates(
    _conn: &mut DbConn,
    _text: &str,
    _limit: i64,
) -> QueryResult<Option<Vec<i64>>> {
    Ok(None)
}

/// After a bulk load: fresh index statistics, as InnoDB recalculates them in the background.
pub fn refresh_statistics(conn: &mut DbConn) -> QueryResult<()> {
    diesel::sql_query("ANALYZE TABLE users")
        .execute(conn)
        .map(drop)
}
