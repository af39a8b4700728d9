//! The database: connection type, pool, per-connection setup and migrations.
//! This is the only module that knows which database the project was generated for.

use std::time::Duration;

{%- if database == "sqlite" %}

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
{%- else %}

use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
{%- endif %}
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseSettings;

pub mod schema;

{%- if database == "sqlite" %}

/// A connection to the application's database.
pub type DbConn = SqliteConnection;

/// Used when `DATABASE_URL` is not set outside production: a file under `data/`.
pub const DEFAULT_DEVELOPMENT_URL: &str = "data/development.db";
{%- elsif database == "postgres" %}

/// A connection to the application's database.
pub type DbConn = PgConnection;

/// Used when `DATABASE_URL` is not set outside production.
pub const DEFAULT_DEVELOPMENT_URL: &str = concat!(
    "postgres://postgres@localhost:5432/",
    env!("CARGO_CRATE_NAME"),
    "_development"
);
{%- else %}

/// A connection to the application's database.
pub type DbConn = MysqlConnection;

/// Used when `DATABASE_URL` is not set outside production.
pub const DEFAULT_DEVELOPMENT_URL: &str = concat!(
    "mysql://root@localhost:3306/",
    env!("CARGO_CRATE_NAME"),
    "_development"
);
{%- endif %}

/// A pool of database connections, shared by all workers.
pub type DbPool = Pool<ConnectionManager<DbConn>>;

/// The SQL migrations under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a request waits for a free connection before it fails.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything that can go wrong while talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
    #[error("database task was cancelled")]
    Cancelled(#[from] actix_web::error::BlockingError),
}

/// Builds the pool without connecting: the application starts even while the
/// database is down, and `/readyz` reports it.
pub fn build_pool(settings: &DatabaseSettings) -> DbPool {
    let manager = ConnectionManager::<DbConn>::new(&settings.url);
    Pool::builder()
        .max_size(settings.pool_size)
        .min_idle(Some(1))
        .connection_timeout(CHECKOUT_TIMEOUT)
{%- if database == "sqlite" %}
        .connection_customizer(Box::new(SqlitePragmas))
{%- endif %}
        .build_unchecked(manager)
}

/// Opens a single connection, outside any pool (for migrations and commands).
pub fn establish(url: &str) -> ConnectionResult<DbConn> {
{%- if database == "sqlite" %}
    create_parent_dir(url);
    let mut conn = SqliteConnection::establish(url)?;
    apply_pragmas(&mut conn).map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
{%- else %}
    DbConn::establish(url)
{%- endif %}
}

/// Applies the migrations that have not run yet and returns their versions.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|error| anyhow::anyhow!("running migrations failed: {error}"))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Connects to `DATABASE_URL` and applies pending migrations.
pub fn migrate(settings: &DatabaseSettings) -> anyhow::Result<Vec<String>> {
    let mut conn = establish(&settings.url).map_err(|error| {
        anyhow::anyhow!("cannot connect to the database at DATABASE_URL: {error}")
    })?;
    run_migrations(&mut conn)
}

/// Runs blocking database work on actix-web's blocking thread pool, so a slow
/// query never stalls the async workers.
pub async fn run_blocking<T, F>(pool: &DbPool, work: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConn) -> QueryResult<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn: PooledConnection<_> = pool.get()?;
        Ok(work(&mut conn)?)
    })
    .await?
}
{%- if database == "sqlite" %}

/// Runs `work` in a transaction that will write; not for use inside another
/// transaction. It takes the write lock up front (`BEGIN IMMEDIATE`): a transaction
/// that reads first and writes later could otherwise fail with "database is locked"
/// when another one wrote meanwhile.
{%- else %}

/// Runs `work` in a transaction that will write; not for use inside another
/// transaction.
{%- endif %}
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
{%- if database == "sqlite" %}
    conn.immediate_transaction(work)
{%- else %}
    conn.transaction(work)
{%- endif %}
}

/// Inside a `write_transaction`: holds the administrators' rows until it ends, so
/// checks like "is this the last admin?" cannot race.
{%- if database == "sqlite" %}
/// SQLite's write transaction already excludes every other writer.
pub fn lock_admin_rows(_conn: &mut DbConn) -> QueryResult<()> {
    Ok(())
}
{%- else %}
pub fn lock_admin_rows(conn: &mut DbConn) -> QueryResult<()> {
    schema::users::table
        .filter(schema::users::is_admin.eq(true))
        .select(schema::users::id)
        .for_update()
        .load::<i64>(conn)
        .map(drop)
}
{%- endif %}

/// The ids of the users whose email or name may contain `text`, when an index can
/// say so cheaply and there are at most `limit` of them; `None` means "look through
/// the table" (`admin::user_search` filters the candidates exactly either way).
{%- if database == "sqlite" %}
/// The FTS5 trigram index `users_search` answers a text of three characters or more.
/// A common text is left to the table walk, which stops as soon as a page is full.
pub fn search_candidates(
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
{%- else %}
{%- if database == "postgres" %}
/// PostgreSQL's planner does this itself: trigram indexes serve the search's LIKE.
{%- else %}
/// MySQL has no index for a substring search: it reads the table, which stops as
/// soon as a page is full for a common text and reads it all for a rare one.
{%- endif %}
pub fn search_candidates(
    _conn: &mut DbConn,
    _text: &str,
    _limit: i64,
) -> QueryResult<Option<Vec<i64>>> {
    Ok(None)
}
{%- endif %}

/// Succeeds when a connection can be checked out and answers a query in time.
pub async fn check_ready(pool: &DbPool, timeout: Duration) -> Result<(), DbError> {
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get_timeout(timeout)?;
        diesel::sql_query("SELECT 1").execute(&mut conn)?;
        Ok(())
    })
    .await?
}
{%- if database == "sqlite" %}

/// SQLite settings that hold per connection, so every pooled connection gets them.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        apply_pragmas(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// busy_timeout makes a writer wait for the lock instead of failing, so it comes first:
/// switching to WAL takes a lock too, and fails at once when another process (a second
/// instance, `migrate`) opens the same new file at the same moment. WAL lets readers
/// work while a write is in progress; SQLite enforces foreign keys only when asked.
fn apply_pragmas(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(
        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
    )
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
{%- endif %}
