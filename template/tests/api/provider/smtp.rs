//! Delivery through a real SMTP server: aiosmtpd, run from tests/support/smtp_server.py.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tempfile::TempDir;

use {{crate_name}}::config::Settings;
use {{crate_name}}::mail::OutgoingEmail;
use {{crate_name}}::mail::delivery::SendError;
use {{crate_name}}::mail::transport::Sender;

use crate::delivery::spawn_app_sending_to;
use crate::helpers::{
    Browser, PASSWORD, TestDatabase, code_in, eventually, path_of, reset_link_in, test_settings,
};
use crate::mailbox::{ReceivedEmail, emails_to};

/// The settings that let this provider deliver in production.
pub fn credentials() -> Vec<(&'static str, &'static str)> {
    vec![("SMTP_HOST", "smtp.example.com")]
}

#[test]
fn production_refuses_plaintext_smtp_except_to_a_relay_on_this_machine() {
    let settings = |host: &str| {
        let vars: std::collections::HashMap<&str, &str> = [
            ("APP_ENV", "production"),
            ("APP_BASE_URL", "https://example.com"),
            ("DATABASE_URL", "configured-elsewhere"),
            (
                "SESSION_SECRET",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
            ("MAIL_FROM", "Example <hello@example.com>"),
            ("SMTP_HOST", host),
            ("SMTP_TLS", "none"),
        ]
        .into_iter()
        .collect();
        Settings::from_lookup(|name| vars.get(name).map(|value| (*value).to_owned()))
    };

    let problems = settings("smtp.example.com")
        .expect_err("plaintext SMTP was accepted")
        .problems;

    assert!(
        problems.iter().any(|p| p.starts_with("SMTP_TLS")),
        "{problems:?}"
    );
    assert!(settings("localhost").is_ok());
    assert!(settings("127.0.0.1").is_ok());
}

#[tokio::test]
async fn mail_arrives_through_a_real_smtp_server_with_both_parts_and_the_code() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;

    let response = app
        .signup("Zoë Ångström", "zoe@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), 303);
    let mail = provider.wait_for_delivery("zoe@example.com").await;

    let from: lettre::message::Mailbox = app.settings.mail.from.parse().unwrap();
    assert_eq!(mail.from, from.email.to_string());
    assert_eq!(mail.to, "zoe@example.com");
    assert_eq!(mail.header("mime-version"), Some("1.0"));
    assert!(mail.header("date").is_some(), "{:?}", mail.headers);
    let message_id = mail.header("message-id").unwrap_or_default();
    assert!(
        message_id.ends_with(&format!("@{}>", from.email.domain())),
        "{message_id}"
    );
    assert_eq!(
        mail.content_types,
        [
            "multipart/alternative",
            "text/plain; charset=utf-8",
            "text/html; charset=utf-8"
        ]
    );
    let code = code_in(&mail.subject).expect("no code in the subject");
    assert!(mail.text.contains("Zoë Ångström") && mail.text.contains(&code));
    assert!(mail.html.contains("Zoë Ångström") && mail.html.contains(&code));

    let verified = app.post_form("/verify", &[("code", &code)]).await;
    assert_eq!(verified.headers()["location"], "/dashboard");
}

#[tokio::test]
async fn a_password_reset_link_arrives_through_the_smtp_server_and_works() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;
    app.signup("Ann", "ann@example.com", PASSWORD).await;
    let code = code_in(&provider.wait_for_delivery("ann@example.com").await.subject).unwrap();
    app.post_form("/verify", &[("code", &code)]).await;

    let visitor = Browser::new(&app.address);
    visitor
        .post_form("/forgot-password", &[("email", "ann@example.com")])
        .await;
    let mail = eventually("the reset mail", || {
        provider
            .delivered_to("ann@example.com")
            .into_iter()
            .find(|mail| mail.subject.contains("Reset"))
    })
    .await;

    let link = reset_link_in(&mail.text).expect("no reset link in the text part");
    assert!(mail.html_links_to(&link), "{}", mail.html);
    assert!(link.starts_with(&app.settings.base_url), "{link}");
    let page = visitor.get(&path_of(&link)).await;
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn the_app_logs_in_to_a_server_that_requires_it() {
    let provider = TestProvider::start_with_login("mailer", "s3cret-password").await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;

    app.signup("Ann", "ann@example.com", PASSWORD).await;

    provider.wait_for_delivery("ann@example.com").await;
}

#[tokio::test]
async fn a_recipient_the_server_refuses_is_given_up_at_once_with_the_reason_kept() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;

    app.signup("Ann", "rejected@example.com", PASSWORD).await;

    let row = eventually("the message to be given up", || {
        app.outbox_row("rejected@example.com")
            .filter(|row| row.failed_at.is_some())
    })
    .await;
    assert_eq!(row.attempts, 1);
    let error = row.last_error.unwrap_or_default();
    assert!(error.contains("550"), "{error}");
}

#[tokio::test]
async fn a_busy_server_is_tried_again_later() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;

    app.signup("Ann", "busy@example.com", PASSWORD).await;

    let row = eventually("a failed attempt", || {
        app.outbox_row("busy@example.com")
            .filter(|row| row.attempts == 1)
    })
    .await;
    assert_eq!(row.failed_at, None);
    assert!(row.next_attempt_at > row.created_at, "{row:?}");
    let error = row.last_error.unwrap_or_default();
    assert!(error.contains("451"), "{error}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_and_is_worth_a_retry() {
    // Accepts connections but never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let settings = test_settings(
        "unused",
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &port),
            ("SMTP_TLS", "none"),
        ],
    );
    let mut provider = settings.mail.provider.clone();
    provider.timeout = Duration::from_millis(300);
    let sender = Sender::new(&provider).unwrap();
    let from = settings.mail.from.parse().unwrap();
    let email = OutgoingEmail {
        kind: "hello".to_owned(),
        to: "ann@example.com".to_owned(),
        subject: "Hello".to_owned(),
        text_body: "Hello".to_owned(),
        html_body: "<p>Hello</p>".to_owned(),
    };

    let sent = tokio::time::timeout(Duration::from_secs(10), sender.send(&from, &email, "key"))
        .await
        .expect("the send did not time out by itself");

    assert!(matches!(sent, Err(SendError::Temporary(_))), "{sent:?}");
}

/// The settings that make the app hand its mail to an SMTP server at `address`,
/// without TLS.
pub fn settings_sending_to(address: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("MAIL_TRANSPORT", "smtp".to_owned()),
        ("SMTP_HOST", address.ip().to_string()),
        ("SMTP_PORT", address.port().to_string()),
        ("SMTP_TLS", "none".to_owned()),
    ]
}

/// The SMTP server the app delivers to, in a process of its own so a test can stop
/// and restart it like a real outage.
pub struct TestProvider {
    port: u16,
    login: Option<(String, String)>,
    mail_dir: TempDir,
    server: Mutex<Option<Child>>,
}

impl TestProvider {
    pub async fn start() -> Self {
        Self::start_server(None)
    }

    /// A server that accepts mail only after AUTH with these credentials.
    pub async fn start_with_login(username: &str, password: &str) -> Self {
        Self::start_server(Some((username.to_owned(), password.to_owned())))
    }

    fn start_server(login: Option<(String, String)>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("no free port")
            .port();
        let provider = Self {
            port,
            login,
            mail_dir: TempDir::new().expect("cannot create a mail folder"),
            server: Mutex::new(None),
        };
        provider.come_back();
        provider
    }

    /// The settings that make the app deliver here.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = settings_sending_to(SocketAddr::from(([127, 0, 0, 1], self.port)));
        if let Some((username, password)) = &self.login {
            settings.push(("SMTP_USERNAME", username.clone()));
            settings.push(("SMTP_PASSWORD", password.clone()));
        }
        settings
    }

    /// An outage: the server process is killed.
    pub fn go_down(&self) {
        if let Some(mut server) = self.server.lock().unwrap().take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts the server (again) on the same port and mail folder.
    pub fn come_back(&self) {
        self.run(self.login.as_ref());
    }

    /// The server asks for a login the app does not have: 530 or 535 to every message
    /// until [`TestProvider::accept_credentials`].
    pub fn refuse_credentials(&self) {
        self.go_down();
        self.run(Some(&(
            "someone-else".to_owned(),
            "another-password".to_owned(),
        )));
    }

    pub fn accept_credentials(&self) {
        self.go_down();
        self.come_back();
    }

    fn run(&self, login: Option<&(String, String)>) {
        let mut command = Command::new(python());
        command
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py"))
            .arg(self.port.to_string())
            .arg(self.mail_dir.path());
        if let Some((username, password)) = login {
            command.arg(username).arg(password);
        }
        let mut server = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", python()));
        let mut first_line = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut first_line)
            .expect("cannot read from the SMTP server");
        assert_eq!(
            first_line.trim(),
            "ready",
            "the test SMTP server did not start; its error is above"
        );
        *self.server.lock().unwrap() = Some(server);
    }

    /// Every message to `to` the server accepted.
    pub fn delivered_to(&self, to: &str) -> Vec<ReceivedEmail> {
        emails_to(self.mail_dir.path(), to)
    }

    /// Waits for the first message to `to`.
    pub async fn wait_for_delivery(&self, to: &str) -> ReceivedEmail {
        eventually(&format!("a message to {to}"), || {
            self.delivered_to(to).into_iter().next()
        })
        .await
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        self.go_down();
    }
}

/// The Python that has aiosmtpd: `TEST_SMTP_PYTHON`, or `python3` on the PATH.
fn python() -> String {
    std::env::var("TEST_SMTP_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}
