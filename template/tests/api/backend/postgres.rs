//! The test databases: one database per test on the PostgreSQL server at
//! `TEST_DATABASE_URL`, created empty and dropped at the end.

use diesel::prelude::*;
use diesel::sql_query;

#[path = "database_server.rs"]
mod database_server;

pub(crate) use database_server::outbox_row_lock_tests;
pub use database_server::{Outage, RowLock};

type AdminConnection = PgConnection;
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const UNREACHABLE_URL: &str = "postgres://postgres@127.0.0.1:1/unreachable";
/// The server's port when the URL names none.
const DEFAULT_PORT: u16 = 5432;
const SERVER: &str = "PostgreSQL";

/// A database created for one test on the server at `TEST_DATABASE_URL` and
/// dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    name: Option<String>,
}

impl TestDatabase {
    pub fn create() -> Self {
        let name = format!("test_{:016x}", rand::random::<u64>());
        let admin_url = admin_url();
        let mut conn = admin_connection(&admin_url);
        // From template0, which nobody can connect to: copying template1 fails while
        // anyone (psql, a GUI) is connected to it.
        sql_query(format!("CREATE DATABASE {name} TEMPLATE template0"))
            .execute(&mut conn)
            .unwrap_or_else(|error| panic!("cannot create the test database {name}: {error}"));
        let mut url = reqwest::Url::parse(&admin_url).expect("TEST_DATABASE_URL is not a URL");
        url.set_path(&format!("/{name}"));
        Self {
            url: url.to_string(),
            name: Some(name),
        }
    }

    /// A URL on a port nothing listens on.
    pub fn unreachable() -> Self {
        Self {
            url: UNREACHABLE_URL.to_owned(),
            name: None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.name {
            let mut conn = admin_connection(&admin_url());
            // FORCE ends the connections the app's pool still holds.
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

/// `TEST_DATABASE_URL`, without TLS unless it asks for it (`sslmode=...`): the test
/// server is near, and OpenSSL's clean-up as the test binary exits can crash it
/// (SIGSEGV) while pooled connections of finished tests are still open.
fn admin_url() -> String {
    let url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let mut url = reqwest::Url::parse(&url).expect("TEST_DATABASE_URL is not a URL");
    if !url.query_pairs().any(|(name, _)| name == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    url.to_string()
}

fn admin_connection(url: &str) -> AdminConnection {
    AdminConnection::establish(url).unwrap_or_else(|error| {
        panic!(
            "cannot reach {SERVER} at {url}: {error}\n\
             Start the server, or set TEST_DATABASE_URL to an account that may create databases."
        )
    })
}

/// Waits until `waiters` connections to this test's database wait for a lock.
pub fn wait_for_lock_waiters(conn: &mut {{crate_name}}::db::DbConn, waiters: i64) {
    let query = "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE wait_event_type = 'Lock' AND datname = current_database()";
    wait_for_count(conn, query, waiters);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn wait_for_count(conn: &mut {{crate_name}}::db::DbConn, query: &str, at_least: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let count = sql_query(query)
            .get_result::<Count>(conn)
            .expect("cannot read the server's lock waits")
            .n;
        if count >= at_least {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{at_least} connections never waited for a lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
