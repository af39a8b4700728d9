//! The database: connection type, pool, migrations and the blocking-work bridge.
//! What differs between databases lives in `backend.rs`, the one file of this module
//! written for the database the project was generated for.

use std::time::Duration;

use anyhow::Context as _;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

mod backend;
mod connect_errors;
pub mod schema;

pub use backend::{
    DEFAULT_DEVELOPMENT_URL, DbConn, add_rate_limit_hit, establish, lock_active_admins,
    lock_outbox_row, lock_user_row, refresh_statistics, user_search_candidates, write_transaction,
};

/// A pool of database connections, shared by all workers.
pub type DbPool = Pool<ConnectionManager<DbConn>>;

/// The SQL migrations under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a request waits for a free connection before it fails.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the database is and how many connections the pool may hold
/// (`DATABASE_URL`, `DATABASE_POOL_SIZE`).
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub timeouts: Timeouts,
}

/// How long one statement may take, so a stuck query never holds a pooled connection
/// (and its visitor) for minutes: waiting for a lock another transaction holds
/// (`DATABASE_LOCK_TIMEOUT_SECONDS`, default 5), and running in all
/// (`DATABASE_STATEMENT_TIMEOUT_SECONDS`, default 30; for a database server, not for one
/// that runs inside the app's process). Past either, the request gets the 503 page.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub lock: Duration,
    pub statement: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            lock: Duration::from_secs(5),
            statement: Duration::from_secs(30),
        }
    }
}

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

impl DbError {
    /// Whether the database could not be used just now (down, cut off, a lock held
    /// past the lock timeout, a statement past its time), as opposed to a query it
    /// refused: worth trying again soon.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Pool(_) => true,
            Self::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                use diesel::result::DatabaseErrorKind::{ClosedConnection, UnableToSendCommand};
                matches!(kind, ClosedConnection | UnableToSendCommand)
                    || backend::is_unavailable(info.message())
            }
            Self::Query(_) => false,
            Self::Cancelled(_) => false,
        }
    }
}

/// Builds the pool without connecting: the application starts even while the
/// database is down, and `/readyz` reports it.
pub fn build_pool(settings: &DatabaseSettings) -> DbPool {
    let manager = ConnectionManager::<DbConn>::new(backend::connection_url(&settings.url));
    let builder = Pool::builder()
        .max_size(settings.pool_size)
        .min_idle(Some(1))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .error_handler(Box::new(connect_errors::ConnectErrors::default()));
    backend::customize_pool(builder, settings.timeouts).build_unchecked(manager)
}

/// Applies the migrations that have not run yet and returns their versions.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    // The harness's error is a boxed `dyn Error` that `anyhow` cannot wrap with context.
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|error| anyhow::anyhow!(error).context("running migrations failed"))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Connects to `DATABASE_URL` and applies pending migrations.
pub fn migrate(settings: &DatabaseSettings) -> anyhow::Result<Vec<String>> {
    let mut conn = connect(settings)?;
    run_migrations(&mut conn)
}

/// One connection to `DATABASE_URL`, outside the pool (for migrations and commands).
pub fn connect(settings: &DatabaseSettings) -> anyhow::Result<DbConn> {
    establish(&settings.url).context("cannot connect to the database at DATABASE_URL")
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
