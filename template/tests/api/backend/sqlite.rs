//! The test databases: a file of SQLite's in a temporary folder per test.

use tempfile::TempDir;

/// A database file in a temporary folder, deleted with it.
pub struct TestDatabase {
    pub url: String,
    _dir: TempDir,
}

impl TestDatabase {
    pub fn create() -> Self {
        let dir = TempDir::new().expect("cannot create a temporary folder");
        let url = dir.path().join("test.db").to_string_lossy().into_owned();
        Self { url, _dir: dir }
    }

    /// A path below a regular file: no folder can be made there, so opening fails.
    pub fn unreachable() -> Self {
        let dir = TempDir::new().expect("cannot create a temporary folder");
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, b"").expect("cannot create a file");
        let url = blocker.join("test.db").to_string_lossy().into_owned();
        Self { url, _dir: dir }
    }
}

/// Waits until `_waiters` connections wait for a lock another one holds. SQLite lets
/// one write transaction run at a time, from its start, and shows no waiters: a
/// moment is all the others need to reach it.
pub fn wait_for_lock_waiters(_conn: &mut {{crate_name}}::db::DbConn, _waiters: i64) {
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// Makes the database unusable for the app and usable again: SQLite's version of an
/// outage is a database another process keeps locked.
pub struct Outage {
    url: String,
    holder: std::sync::Mutex<Option<diesel::SqliteConnection>>,
}

impl Outage {
    /// Under a write lock, reads go on (write-ahead log); only writes fail.
    pub const READS_FAIL: bool = false;

    pub fn around(database: &mut TestDatabase) -> Self {
        Self {
            url: database.url.clone(),
            holder: std::sync::Mutex::default(),
        }
    }

    /// Another connection takes the write lock and keeps it: every write waits for
    /// the busy timeout, then fails.
    pub fn begin(&self) {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut holder =
            diesel::SqliteConnection::establish(&self.url).expect("cannot open the database");
        holder
            .batch_execute("BEGIN EXCLUSIVE")
            .expect("cannot lock the database");
        *self.holder.lock().unwrap() = Some(holder);
    }

    /// Drops the connection, and its lock with it.
    pub fn end(&self) {
        self.holder.lock().unwrap().take();
    }
}

/// Another connection's write lock on the whole database (SQLite locks no single row),
/// until dropped.
pub struct RowLock {
    _holder: diesel::SqliteConnection,
}

impl RowLock {
    pub fn on_user(url: &str, _email: &str) -> Self {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut holder =
            diesel::SqliteConnection::establish(url).expect("cannot open the database");
        holder
            .batch_execute("BEGIN EXCLUSIVE")
            .expect("cannot lock the database");
        Self { _holder: holder }
    }
}

/// SQLite runs one write transaction at a time: there are no row locks for a claim to
/// pass over, and so no tests of them.
macro_rules! outbox_row_lock_tests {
    () => {};
}
pub(crate) use outbox_row_lock_tests;
