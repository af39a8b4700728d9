//! Test harness: a running application with its own fresh database.

use std::collections::HashMap;
use std::path::PathBuf;

{%- if database != "sqlite" %}

use diesel::prelude::*;
use diesel::sql_query;
{%- endif %}
use tempfile::TempDir;

use {{crate_name}}::config::Settings;
use {{crate_name}}::db::{self, DbPool};
use {{crate_name}}::startup::Application;

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// A pool of the test's own, for arranging and checking rows directly.
    pub pool: DbPool,
    pub database: TestDatabase,
    _mail_dir: TempDir,
}

impl TestApp {
    /// The absolute URL of `path` on this app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }
}

/// Starts the application on a fresh, migrated database.
pub async fn spawn_app() -> TestApp {
    let database = TestDatabase::create();
    let settings = test_settings(&database.url, &[]);
    db::migrate(&settings.database).expect("migrations failed");
    start(settings, database).await
}

/// Starts the application against a database URL that nothing answers.
pub async fn spawn_app_without_database() -> TestApp {
    let database = TestDatabase::unreachable();
    let settings = test_settings(&database.url, &[]);
    start(settings, database).await
}

async fn start(settings: Settings, database: TestDatabase) -> TestApp {
    let mail_dir = TempDir::new().expect("cannot create a mail folder");
    let mut settings = settings;
    settings.mail.file_dir = mail_dir.path().to_owned();

    let application = Application::build(settings.clone())
        .await
        .expect("the application failed to build");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped(std::future::pending()));

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("cannot build an HTTP client");
    TestApp {
        address,
        client,
        pool: db::build_pool(&settings.database),
        settings,
        database,
        _mail_dir: mail_dir,
    }
}

/// Settings for a test run: the test profile, the given database, and `overrides`.
pub fn test_settings(database_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("APP_ENV".to_owned(), "test".to_owned()),
        ("APP_PORT".to_owned(), "0".to_owned()),
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("DATABASE_POOL_SIZE".to_owned(), "4".to_owned()),
        ("MAIL_TRANSPORT".to_owned(), "file".to_owned()),
    ]);
    for (name, value) in overrides {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    Settings::from_lookup(|name| vars.get(name).cloned()).expect("invalid test settings")
}

/// The compiled application binary, for tests of the command line.
pub fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_{{project-name}}"))
}

/// The settings that let the chosen mail provider deliver in production.
pub fn provider_credentials() -> Vec<(&'static str, &'static str)> {
{%- if mail == "smtp" %}
    vec![("SMTP_HOST", "smtp.example.com")]
{%- elsif mail == "postmark" %}
    vec![("POSTMARK_SERVER_TOKEN", "test-server-token")]
{%- elsif mail == "sendgrid" %}
    vec![("SENDGRID_API_KEY", "SG.test-key")]
{%- else %}
    vec![("RESEND_API_KEY", "re_test_key")]
{%- endif %}
}
{%- if database == "sqlite" %}

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
{%- else %}
{%- if database == "postgres" %}

type AdminConnection = PgConnection;
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const UNREACHABLE_URL: &str = "postgres://postgres@127.0.0.1:1/unreachable";
const SERVER: &str = "PostgreSQL";
{%- else %}

type AdminConnection = MysqlConnection;
const DEFAULT_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306/mysql";
const UNREACHABLE_URL: &str = "mysql://root@127.0.0.1:1/unreachable";
const SERVER: &str = "MariaDB/MySQL";
{%- endif %}

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
            .expect("cannot create the test database");
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
{%- if database == "postgres" %}
            // FORCE ends the connections the app's pool still holds.
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
{%- else %}
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn);
{%- endif %}
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
{%- endif %}
