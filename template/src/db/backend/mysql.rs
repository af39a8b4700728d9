//! What only MySQL/MariaDB does: the connection type, the development database's address,
//! row locks and the user directory's search index.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{Builder, ConnectionManager, CustomizeConnection};

use crate::db::Timeouts;
use crate::db::schema::{outbox_messages, rate_limit_hits, user_counts, users};

/// A connection to the application's database.
pub type DbConn = MysqlConnection;

/// Used when `DATABASE_URL` is not set outside production.
pub const DEFAULT_DEVELOPMENT_URL: &str = concat!(
    "mysql://root@localhost:3306/",
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
        // Whole seconds, at least one; MariaDB limits every statement, MySQL only
        // reads (and names the setting in milliseconds).
        let lock = lock.as_secs().max(1);
        conn.batch_execute(&format!(
            "SET SESSION innodb_lock_wait_timeout = {lock}, lock_wait_timeout = {lock};"
        ))
        .and_then(|()| {
            conn.batch_execute(&format!(
                "SET SESSION max_statement_time = {}",
                statement.as_secs_f64()
            ))
            .or_else(|_| {
                conn.batch_execute(&format!(
                    "SET SESSION max_execution_time = {}",
                    statement.as_millis()
                ))
            })
        })
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// `url` as it is: diesel's MySQL connection takes no socket settings from it, so a
/// server that vanishes without closing the connection is noticed by the system's TCP
/// timeouts (lock and statement timeouts are the server's).
pub fn connection_url(url: &str) -> String {
    url.to_owned()
}

/// Opens a single connection, outside any pool.
pub fn establish(url: &str) -> ConnectionResult<DbConn> {
    DbConn::establish(url)
}

/// Whether an error's `message` says the server could not be reached, the connection
/// broke or a time limit ended the statement, rather than that it was wrong: the codes
/// (2002, 2006, 2013, 1205, 1969, 3024) reach diesel as messages only.
pub fn is_unavailable(message: &str) -> bool {
    [
        "Lost connection",
        "gone away",
        "Can't connect",
        "Lock wait timeout exceeded",
        "max_statement_time exceeded",
        "maximum statement execution time exceeded",
    ]
    .iter()
    .any(|sign| message.contains(sign))
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
        .on_conflict(diesel::dsl::DuplicatedKeys)
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

/// A search uses at most this many of its text's three-character sequences: more
/// rarely narrow the candidates further, and each is one more join to plan and run.
const MAX_SEARCH_TRIGRAMS: usize = 12;

/// The ids of the users whose email or name may contain `text`, when an index can
/// say so cheaply; `None` means "look through the table" (`models::user_search`
/// filters the candidates exactly either way).
///
/// MySQL has no index for a substring search, so the `user_search_trigrams` table is
/// one: the candidates are the users who have every three-character sequence of
/// `text`. The planner estimates each sequence's users from the index and reads the
/// rarest one's, looking each up in the others', so a rare text costs a few thousand
/// index lookups instead of a read of the whole table. Text under three characters,
/// or matching more than `limit` users, is `None`: reading the table in page order
/// finds the matches of a common text at once.
pub fn user_search_candidates(
    conn: &mut DbConn,
    text: &str,
    limit: i64,
) -> QueryResult<Option<Vec<i64>>> {
    #[derive(QueryableByName)]
    struct Candidate {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        user_id: i64,
    }

    // Lower-cased as the search's LIKE pattern is.
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    let mut trigrams: Vec<String> = Vec::new();
    for window in chars.windows(3) {
        let trigram: String = window.iter().collect();
        if !trigrams.contains(&trigram) {
            trigrams.push(trigram);
        }
    }
    let Some(last) = trigrams.len().checked_sub(1) else {
        return Ok(None);
    };
    if trigrams.len() > MAX_SEARCH_TRIGRAMS {
        // Spread over the whole text, its first and last sequence included.
        trigrams = (0..MAX_SEARCH_TRIGRAMS)
            .map(|n| trigrams[n * last / (MAX_SEARCH_TRIGRAMS - 1)].clone())
            .collect();
    }
    let mut sql = String::from("SELECT t0.user_id FROM user_search_trigrams AS t0");
    for n in 1..trigrams.len() {
        sql.push_str(&format!(
            " JOIN user_search_trigrams AS t{n} ON t{n}.user_id = t0.user_id AND t{n}.trigram = ?"
        ));
    }
    sql.push_str(" WHERE t0.trigram = ? LIMIT ?");
    let mut query = diesel::sql_query(sql).into_boxed();
    for trigram in trigrams[1..].iter().chain(&trigrams[..1]) {
        query = query.bind::<diesel::sql_types::Text, _>(trigram.clone());
    }
    let found: Vec<Candidate> = query
        .bind::<diesel::sql_types::BigInt, _>(limit + 1)
        .load(conn)?;
    Ok((found.len() as i64 <= limit).then(|| {
        found
            .into_iter()
            .map(|candidate| candidate.user_id)
            .collect()
    }))
}

/// After a bulk load: fresh index statistics, as InnoDB recalculates them in the background.
pub fn refresh_statistics(conn: &mut DbConn) -> QueryResult<()> {
    diesel::sql_query("ANALYZE TABLE users, user_search_trigrams")
        .execute(conn)
        .map(drop)
}
