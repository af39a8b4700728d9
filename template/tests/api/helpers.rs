//! Test harness: a running application with its own fresh database.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use tempfile::TempDir;

use {{crate_name}}::clock::ManualClock;
use {{crate_name}}::config::Settings;
use {{crate_name}}::db::schema::{outbox_messages, users};
use {{crate_name}}::db::{self, DbPool};
use {{crate_name}}::models::outbox::OutboxMessage;
use {{crate_name}}::startup::Application;

pub use crate::backend::TestDatabase;
use crate::mailbox::{ReceivedEmail, emails_to};

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    /// The default browser; [`TestApp::new_browser`] makes more.
    pub browser: Browser,
    pub settings: Settings,
    /// A pool of the test's own, for arranging and checking rows directly.
    pub pool: DbPool,
    pub database: TestDatabase,
    /// The app's clock; tests move it instead of sleeping.
    pub clock: ManualClock,
    /// Where the app writes the mail it sends (`MAIL_TRANSPORT=file`).
    pub mail_dir: TempDir,
    /// Mails `wait_for_mail` already returned, by Message-ID.
    read_mail: Mutex<HashSet<String>>,
}

impl std::ops::Deref for TestApp {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl TestApp {
    /// Another browser on the same app, with cookies of its own.
    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// Another browser that names itself with this User-Agent.
    pub fn new_browser_as(&self, user_agent: &str) -> Browser {
        Browser::with_user_agent(&self.address, user_agent)
    }

    /// Another instance of the app on the same database and mail folder, with a clock
    /// of its own, as behind a load balancer. Runs until the test ends.
    pub async fn another_instance(&self) -> Instance {
        let clock = ManualClock::new();
        let application =
            Application::build_with_clock(self.settings.clone(), Arc::new(clock.clone()))
                .await
                .expect("the second instance failed to build");
        let address = format!("http://127.0.0.1:{}", application.port());
        tokio::spawn(application.run_until_stopped(std::future::pending()));
        Instance { address, clock }
    }

    /// Signs up, reads the code from the mail and enters it: a verified, signed-in user.
    pub async fn signed_up_user(&self, email: &str) -> TestUser {
        self.signed_up_user_in(&self.browser, email).await
    }

    /// Like [`TestApp::signed_up_user`], in `browser`.
    pub async fn signed_up_user_in(&self, browser: &Browser, email: &str) -> TestUser {
        let response = browser.signup("Ada Lovelace", email, PASSWORD).await;
        assert_eq!(response.status(), 303, "signup failed");
        let code = self.latest_code_for(email).await;
        let response = browser.post_form("/verify", &[("code", &code)]).await;
        assert_eq!(response.status(), 303, "verification failed");
        TestUser {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
        }
    }

    /// The code in the newest unread verification mail to `email`.
    pub async fn latest_code_for(&self, email: &str) -> String {
        let mail = self.wait_for_mail(email, "code").await;
        code_in(&mail.text).expect("no 6-digit code in the mail")
    }

    /// Waits for a mail to `email` whose subject contains `subject_part`
    /// (case-insensitive) that this test has not read yet.
    pub async fn wait_for_mail(&self, email: &str, subject_part: &str) -> ReceivedEmail {
        let needle = subject_part.to_lowercase();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let unread = emails_to(self.mail_dir.path(), email)
                .into_iter()
                .filter(|mail| mail.subject.to_lowercase().contains(&needle))
                .find(|mail| {
                    let id = mail.header("message-id").unwrap_or_default().to_owned();
                    self.read_mail.lock().unwrap().insert(id)
                });
            if let Some(mail) = unread {
                return mail;
            }
            assert!(
                Instant::now() < deadline,
                "no new mail to {email} about {subject_part:?} arrived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The outbox record of the (only) message to `recipient`, if one was queued.
    pub fn outbox_row(&self, recipient: &str) -> Option<OutboxMessage> {
        let mut conn = self
            .pool
            .get()
            .expect("cannot connect to the test database");
        outbox_messages::table
            .filter(outbox_messages::recipient.eq(recipient))
            .select(OutboxMessage::as_select())
            .first(&mut conn)
            .optional()
            .expect("cannot read the outbox")
    }

    /// Gives or takes the admin rights of the user with `email`, behind the app's back.
    pub fn set_admin(&self, email: &str, is_admin: bool) {
        let mut conn = self
            .pool
            .get()
            .expect("cannot connect to the test database");
        diesel::update(users::table.filter(users::email.eq(email)))
            .set(users::is_admin.eq(is_admin))
            .execute(&mut conn)
            .expect("cannot update the user");
    }

    /// Every mail to `email` delivered so far.
    pub fn mails_to(&self, email: &str) -> Vec<ReceivedEmail> {
        emails_to(self.mail_dir.path(), email)
    }
}

/// An HTTP client with its own cookie jar, like one browser.
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
}

/// A second instance of a [`TestApp`]; see [`TestApp::another_instance`].
pub struct Instance {
    pub address: String,
    pub clock: ManualClock,
}

impl Browser {
    /// The same browser, cookies and all, talking to the instance at `address`.
    pub fn on(&self, address: &str) -> Self {
        Self {
            address: address.to_owned(),
            client: self.client.clone(),
        }
    }

    pub fn new(address: &str) -> Self {
        Self::with_user_agent(address, "")
    }

    /// A browser that sends this User-Agent (none when empty).
    pub fn with_user_agent(address: &str, user_agent: &str) -> Self {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true);
        if !user_agent.is_empty() {
            builder = builder.user_agent(user_agent);
        }
        Self {
            address: address.to_owned(),
            client: builder.build().expect("cannot build an HTTP client"),
        }
    }

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

    /// The CSRF token the app gives this browser's current visit or session.
    pub async fn csrf_token(&self) -> String {
        let page = self.get("/").await.text().await.unwrap();
        csrf_token_in(&page).expect("the page carries no CSRF token")
    }

    /// Posts a form the way a browser does: with this browser's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        form.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .expect("request failed")
    }

    pub async fn signup(&self, name: &str, email: &str, password: &str) -> reqwest::Response {
        self.post_form(
            "/signup",
            &[
                ("name", name),
                ("email", email),
                ("password", password),
                ("password_confirmation", password),
            ],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn logout(&self) -> reqwest::Response {
        self.post_form("/logout", &[]).await
    }
}

/// A strong password every test user has.
pub const PASSWORD: &str = "Correct-Horse-Battery-9";

/// The user agent of a browser the tests sign in from as a stranger would.
pub const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// A user a test signed up.
pub struct TestUser {
    pub email: String,
    pub password: String,
}

/// The CSRF token a page carries.
pub fn csrf_token_in(page: &str) -> Option<String> {
    let pattern = regex::Regex::new(r#"name="csrf-token" content="([0-9a-f]+)""#).unwrap();
    pattern
        .captures(page)
        .map(|captures| captures[1].to_owned())
}

/// The first 6-digit number in a text.
pub fn code_in(text: &str) -> Option<String> {
    let pattern = regex::Regex::new(r"\b(\d{6})\b").unwrap();
    pattern
        .captures(text)
        .map(|captures| captures[1].to_owned())
}

/// The password checklist of a page as (rule id, shown, marked broken, text), in order:
/// how a refused form tells which rules the password broke.
pub fn password_checklist_in(page: &str) -> Vec<(String, bool, bool, String)> {
    let item = regex::Regex::new(r#"<li data-rule="([a-z_]+)"([^>]*)>([^<]*)"#).unwrap();
    item.captures_iter(page)
        .map(|captures| {
            let attributes = &captures[2];
            (
                captures[1].to_owned(),
                !attributes.contains(" hidden"),
                attributes.contains("broken"),
                captures[3].to_owned(),
            )
        })
        .collect()
}

/// The ids of the rules a refused password form marks as broken in its checklist.
pub fn broken_rules_in(page: &str) -> Vec<String> {
    password_checklist_in(page)
        .into_iter()
        .filter(|(_, _, broken, _)| *broken)
        .map(|(id, ..)| id)
        .collect()
}

/// Starts the application on a fresh, migrated database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with some settings changed.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_on(TestDatabase::create(), overrides).await
}

/// Like [`spawn_app_with`], on `database`; migrated first, if it is not yet.
pub async fn spawn_app_on(database: TestDatabase, overrides: &[(&str, &str)]) -> TestApp {
    let settings = test_settings(&database.url, overrides);
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

    let clock = ManualClock::new();
    let application = Application::build_with_clock(settings.clone(), Arc::new(clock.clone()))
        .await
        .expect("the application failed to build");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped(std::future::pending()));

    TestApp {
        browser: Browser::new(&address),
        address,
        pool: db::build_pool(&settings.database),
        settings,
        database,
        clock,
        mail_dir,
        read_mail: Mutex::default(),
    }
}

/// Settings for a test run: the test profile, the given database, and `overrides`.
pub fn test_settings(database_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("APP_ENV".to_owned(), "test".to_owned()),
        ("APP_PORT".to_owned(), "0".to_owned()),
        // Not the server's address: tests can tell links come from this setting.
        (
            "APP_BASE_URL".to_owned(),
            "http://app.example.test".to_owned(),
        ),
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("DATABASE_POOL_SIZE".to_owned(), "4".to_owned()),
        ("MAIL_TRANSPORT".to_owned(), "file".to_owned()),
        // Tests post forms from one address far faster than any person; the rate limit
        // tests set their own.
        ("RATE_LIMIT_AUTH_BURST".to_owned(), "100000".to_owned()),
        (
            "RATE_LIMIT_AUTH_WINDOW_LIMIT".to_owned(),
            "100000".to_owned(),
        ),
        ("MAX_REQUESTS_PER_CLIENT".to_owned(), "100000".to_owned()),
    ]);
    for (name, value) in overrides {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    Settings::from_lookup(|name| vars.get(name).cloned()).expect("invalid test settings")
}

/// The compiled application binary, for tests of the command line.
pub fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_demo-app"))
}

/// The app's own binary serving on a free port, for tests of the process itself: its
/// signals, a crash. Killed when dropped.
pub struct AppProcess {
    pub address: String,
    process: Child,
    log: Arc<Mutex<Vec<String>>>,
    _workdir: TempDir,
}

impl AppProcess {
    /// Runs `serve` in a folder of its own (the binary finds its pages and mail
    /// templates wherever it starts) with `APP_PORT=0` and `env`, and waits until it
    /// listens.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let workdir = TempDir::new().expect("cannot create a working folder");
        let mut process = Command::new(app_binary())
            .arg("serve")
            .current_dir(workdir.path())
            .env("APP_PORT", "0")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the app binary");
        let mut lines = BufReader::new(process.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let address = lines.by_ref().map_while(Result::ok).find_map(|line| {
            // The address ends the line, or the message's JSON string (LOG_FORMAT=json).
            let address = line.split_once("listening on ").map(|(_, address)| {
                address
                    .split('"')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            });
            log.lock().unwrap().push(line);
            address
        });
        let Some(address) = address else {
            let _ = process.kill();
            panic!(
                "the app exited before listening:\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        // Keep reading, so a full pipe never blocks the app's logging.
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Self {
            address,
            process,
            log,
            _workdir: workdir,
        }
    }

    /// SIGTERM, as a service manager stops it; the exit status once it has stopped.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        self.send_sigterm();
        self.wait(timeout)
    }

    /// SIGTERM, without waiting for the app to stop.
    pub fn send_sigterm(&self) {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status()
            .expect("cannot run kill");
        assert!(signalled.success());
    }

    /// The exit status once the app has stopped; fails after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the app did not stop within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no graceful shutdown, no chance to release anything.
    pub fn kill(self) {
        drop(self);
    }

    /// What the app logged so far, one line per entry.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A server that takes connections and never answers a word: a mail provider that
/// hangs. The connections close when it is dropped.
pub struct SilentServer {
    address: SocketAddr,
    connections: Arc<Mutex<Vec<tokio::net::TcpStream>>>,
    accepting: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("cannot bind the silent server");
        let address = listener.local_addr().expect("no local address");
        let connections = Arc::<Mutex<Vec<_>>>::default();
        let held = Arc::clone(&connections);
        let accepting = tokio::spawn(async move {
            while let Ok((connection, _)) = listener.accept().await {
                held.lock().unwrap().push(connection);
            }
        });
        Self {
            address,
            connections,
            accepting,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Connections taken so far.
    pub fn connections(&self) -> usize {
        self.connections.lock().unwrap().len()
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.accepting.abort();
        self.connections.lock().unwrap().clear();
    }
}

/// Polls `probe` until it returns something; fails the test after ten seconds.
pub async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The password reset link in a mail's text, as written.
pub fn reset_link_in(text: &str) -> Option<String> {
    let pattern = regex::Regex::new(r"https?://\S+/reset-password\?token=\S+").unwrap();
    pattern.find(text).map(|found| found.as_str().to_owned())
}

/// The path and query of a link, to follow it on the test server.
pub fn path_of(link: &str) -> String {
    let url = reqwest::Url::parse(link).expect("not a URL");
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}
