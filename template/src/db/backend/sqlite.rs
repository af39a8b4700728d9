//! What only SQLite does: the connection type, per-connection pragmas, the write lock
//! taken up front, and the full-text index behind the admin search.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{Builder, ConnectionManager, CustomizeConnection};

use crate::db::Timeouts;
use crate::db::schema::{rate_limit_hits, users};

/// A connection to the application's database.
pub type DbConn = SqliteConnection;

/// Used when `DATABASE_URL` is not set outside production: a file under `data/`.
pub const DEFAULT_DEVELOPMENT_URL: &str = "data/development.db";

/// Every pooled connection gets the pragmas; a writer waits `timeouts.lock` for
/// another's write to end. (No statement timeout: queries run in this process.)
/// No test at checkout: a connection is an open file that no server can drop, and
/// the test (a `SELECT 1` that SQLite parses anew each time) cost every request.
pub fn customize_pool(
    builder: Builder<ConnectionManager<DbConn>>,
    timeouts: Timeouts,
) -> Builder<ConnectionManager<DbConn>> {
    builder
        .test_on_check_out(false)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout: timeouts.lock,
        }))
}

/// The database file named by `url`: a file has no connection to lose.
pub fn connection_url(url: &str) -> String {
    url.to_owned()
}

/// Opens a single connection, outside any pool, with the pool's pragmas.
pub fn establish(url: &str) -> ConnectionResult<DbConn> {
    create_parent_dir(url);
    let mut conn = SqliteConnection::establish(url)?;
    apply_pragmas(&mut conn, Timeouts::default().lock)
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Whether an error's `message` says another connection held the write lock past the
/// lock timeout (SQLite's busy timeout), rather than that the query was wrong.
pub fn is_unavailable(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

/// Runs `work` in a transaction that will write; not for use inside another
/// transaction. It takes the write lock up front (`BEGIN IMMEDIATE`): a transaction
/// that reads first and writes later could otherwise fail with "database is locked"
/// when another one wrote meanwhile.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.immediate_transaction(work)
}

/// Inside a `write_transaction`: nothing to do, as SQLite runs one write
/// transaction at a time, from its start.
pub fn lock_user_row(_conn: &mut DbConn, _id: i64) -> QueryResult<()> {
    Ok(())
}

/// Inside a transaction: nothing to do, as SQLite runs one write transaction at a
/// time; true.
pub fn lock_outbox_row(_conn: &mut DbConn, _id: i64) -> QueryResult<bool> {
    Ok(true)
}

/// Counts one more attempt from `bucket` in the window starting at `window_start`
/// (the window's row made on its first).
pub fn add_rate_limit_hit(
    conn: &mut DbConn,
    bucket: &str,
    window_start: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(rate_limit_hits::table)
        .values((
            rate_limit_hits::bucket.eq(bucket),
            rate_limit_hits::window_start.eq(window_start),
            rate_limit_hits::hits.eq(1),
        ))
        .on_conflict((rate_limit_hits::bucket, rate_limit_hits::window_start))
        .do_update()
        .set(rate_limit_hits::hits.eq(rate_limit_hits::hits + 1))
        .execute(conn)
        .map(drop)
}

/// Inside a `write_transaction`: the number of active administrators, which cannot
/// change before the transaction ends (one write transaction at a time).
pub fn lock_active_admins(conn: &mut DbConn) -> QueryResult<i64> {
    users::table
        .filter(users::is_admin.eq(true))
        .filter(users::is_active.eq(true))
        .count()
        .get_result(conn)
}

/// The ids of the users whose email or name may contain `text`, when an index can
/// say so cheaply and there are at most `limit` of them; `None` means "look through
/// the table" (`models::user_search` filters the candidates exactly either way).
///
/// The FTS5 trigram index `users_search` answers a text of three characters or more.
/// A common text is left to the table walk, which stops as soon as a page is full.
pub fn user_search_candidates(
    conn: &mut DbConn,
    text: &str,
    limit: i64,
) -> QueryResult<Option<Vec<i64>>> {
    #[derive(QueryableByName)]
    struct Candidate {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rowid: i64,
    }

    if text.chars().count() < 3 {
        return Ok(None);
    }
    // A quoted phrase, in which nothing but a (doubled) quote is special.
    let phrase = format!("\"{}\"", text.replace('"', "\"\""));
    let found: Vec<Candidate> =
        diesel::sql_query("SELECT rowid FROM users_search WHERE users_search MATCH ? LIMIT ?")
            .bind::<diesel::sql_types::Text, _>(phrase)
            .bind::<diesel::sql_types::BigInt, _>(limit + 1)
            .load(conn)?;
    Ok((found.len() as i64 <= limit)
        .then(|| found.into_iter().map(|candidate| candidate.rowid).collect()))
}

/// SQLite settings that hold per connection, so every pooled connection gets them.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout: Duration,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        apply_pragmas(conn, self.busy_timeout).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// busy_timeout makes a writer wait for the lock instead of failing, so it comes first:
/// switching to WAL takes a lock too, and fails at once when another process (a second
/// instance, `migrate`) opens the same new file at the same moment. WAL lets readers
/// work while a write is in progress; SQLite enforces foreign keys only when asked.
fn apply_pragmas(conn: &mut SqliteConnection, busy_timeout: Duration) -> QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
        busy_timeout.as_millis()
    ))
}

/// SQLite creates the file but not its folder (`data/` on a fresh checkout).
fn create_parent_dir(url: &str) {
    let path = std::path::Path::new(url.trim_start_matches("sqlite://"));
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        // A failure here surfaces as a clearer "unable to open database file" right after.
        let _ = std::fs::create_dir_all(parent);
    }
}

/// After a bulk load: fresh statistics for the query planner, as `PRAGMA optimize` keeps them.
pub fn refresh_statistics(conn: &mut DbConn) -> QueryResult<()> {
    diesel::sql_query("ANALYZE").execute(conn).map(drop)
}
