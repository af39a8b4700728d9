//! The test databases: one database per test on the MariaDB/MySQL server at
//! `TEST_DATABASE_URL`, created empty and dropped at the end.

use diesel::prelude::*;
use diesel::sql_query;

#[path = "database_server.rs"]
mod database_server;

pub(crate) use database_server::outbox_row_lock_tests;
pub use database_server::{Outage, RowLock};

type AdminConnection = MysqlConnection;
const DEFAULT_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306/mysql";
const UNREACHABLE_URL: &str = "mysql://root@127.0.0.1:1/unreachable";
/// The server's port when the URL names none.
const DEFAULT_PORT: u16 = 3306;
const SERVER: &str = "MariaDB/MySQL";

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
        sql_query(format!("CREATE DATABASE {name}"))
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
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn);
        }
    }
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

fn admin_connection(url: &str) -> AdminConnection {
    AdminConnection::establish(url).unwrap_or_else(|error| {
        panic!(
            "cannot reach {SERVER} at {url}: {error}\n\
             Start the server, or set TEST_DATABASE_URL to an account that may create databases."
        )
    })
}

/// Waits until `waiters` connections to this test's database wait for a row lock:
/// a locking read still running while the lock's holder is idle.
pub fn wait_for_lock_waiters(conn: &mut {{crate_name}}::db::DbConn, waiters: i64) {
    let query = "SELECT COUNT(*) AS n FROM information_schema.processlist \
         WHERE db = DATABASE() AND info LIKE '%FOR UPDATE'";
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
