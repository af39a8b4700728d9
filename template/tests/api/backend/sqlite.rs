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
