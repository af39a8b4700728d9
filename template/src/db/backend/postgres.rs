//! What only PostgreSQL does: the connection type, the development database's address
//! and row locks.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{Builder, ConnectionManager, CustomizeConnection};

use crate::db::Timeouts;
use crate::db::schema::{outbox_messages, rate_limit_hits, user_counts, users};

/// A connection to the application's database.
pub type DbConn = PgConnection;

/// Used when `DATABASE_URL` is not set outside production.
pub const DEFAULT_DEVELOPMENT_URL: &str = concat!(
    "postgres://postgres@localhost:5432/",
    env!("CARGO_CRATE_NAME"),
    "_development"
);

/// Every pooled connection gets the time limits of its statements.
pub fn customize_pool(
    builder: Builder<ConnectionManager<DbConn>>,
    timeouts: Timeouts,
) -> Builder<ConnectionManager<DbConn>> {
    builder.connection_customizer(Box::new(StatementLimits(timeouts)))
}

#[derive(Debug)]
struct StatementLimits(Timeouts);

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for StatementLimits {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        let Timeouts { lock, statement } = self.0;
        conn.batch_execute(&format!(
            "SET lock_timeout = {}; SET statement_timeout = {};",
            lock.as_millis(),
            statement.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens a single connection, outside any pool.
pub fn establish(url: &str) -> ConnectionResult<DbConn> {
    DbConn::establish(&connection_url(url))
}

/// TCP settings a connection gets unless `DATABASE_URL` names its own: a server that
/// vanishes without closing the connection (a cut network, a frozen host) is noticed
/// within about a minute instead of the system's two hours, so no pooled connection
/// waits on it that long. (Lock and statement timeouts are the server's: they cannot
/// end a wait for a server that is gone.)
const KEEPALIVE: [(&str, &str); 4] = [
    ("keepalives_idle", "30"),
    ("keepalives_interval", "10"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "60000"),
];

/// `url` with the [`KEEPALIVE`] settings it does not name itself, in its own form (a
/// URL or `key=value` pairs).
pub fn connection_url(url: &str) -> String {
    let mut url = url.to_owned();
    for (name, value) in KEEPALIVE {
        if url.contains(&format!("{name}=")) {
            continue;
        }
        let separator = if !url.contains("://") {
            " "
        } else if url.contains('?') {
            "&"
        } else {
            "?"
        };
        url.push_str(&format!("{separator}{name}={value}"));
    }
    url
}

/// Whether an error's `message` says a time limit ended the statement (SQLSTATE
/// 55P03 and 57014, which diesel does not name), rather than that it was wrong.
pub fn is_unavailable(message: &str) -> bool {
    message.contains("due to lock timeout") || message.contains("due to statement timeout")
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

/// Inside a transaction: holds the outbox row `id` until it ends, unless another
/// transaction holds it; false then, at once (`SKIP LOCKED`): the row is being claimed
/// by another worker, which the caller leaves it to instead of waiting in line.
pub fn lock_outbox_row(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    outbox_messages::table
        .find(id)
        .select(outbox_messages::id)
        .for_update()
        .skip_locked()
        .first::<i64>(conn)
        .optional()
        .map(|row| row.is_some())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_notice_a_vanished_server_unless_the_url_says_otherwise() {
        assert_eq!(
            connection_url("postgres://app@db/app"),
            "postgres://app@db/app?keepalives_idle=30&keepalives_interval=10\
             &keepalives_count=3&tcp_user_timeout=60000"
        );
        assert_eq!(
            connection_url("postgres://app@db/app?sslmode=require&keepalives_idle=5"),
            "postgres://app@db/app?sslmode=require&keepalives_idle=5&keepalives_interval=10\
             &keepalives_count=3&tcp_user_timeout=60000"
        );
        assert_eq!(
            connection_url("host=db dbname=app"),
            "host=db dbname=app keepalives_idle=30 keepalives_interval=10 \
             keepalives_count=3 tcp_user_timeout=60000"
        );
    }
}
