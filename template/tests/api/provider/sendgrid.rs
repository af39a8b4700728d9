//! Delivery through the SendGrid API, against a local stand-in that records requests.

use std::net::SocketAddr;

use serde_json::json;
use wiremock::{Request, ResponseTemplate};

use crate::delivery::spawn_app_sending_to;
use crate::helpers::{PASSWORD, TestDatabase, code_in, eventually};
use crate::mailbox::ReceivedEmail;

mod api_mock;

use api_mock::{ApiMock, header_of, json_of};

const API_KEY: &str = "SG.test-key";

/// The settings that let this provider deliver in production.
pub fn credentials() -> Vec<(&'static str, &'static str)> {
    vec![("SENDGRID_API_KEY", "SG.test-key")]
}

#[tokio::test]
async fn mail_is_posted_to_the_sendgrid_api_as_documented() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;

    let response = app.signup("Zoë", "zoe@example.com", PASSWORD).await;
    assert_eq!(response.status(), 303);
    let mail = provider.wait_for_delivery("zoe@example.com").await;

    let request = &provider.api.accepted()[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/v3/mail/send");
    assert_eq!(
        header_of(request, "authorization"),
        format!("Bearer {API_KEY}")
    );
    assert_eq!(header_of(request, "content-type"), "application/json");
    let body = json_of(request);
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["content", "from", "personalizations", "subject"]);
    let from: lettre::message::Mailbox = app.settings.mail.from.parse().unwrap();
    assert_eq!(body["from"]["email"], from.email.to_string());
    assert_eq!(body["from"]["name"], from.name.unwrap());
    assert_eq!(body["personalizations"].as_array().unwrap().len(), 1);
    // SendGrid requires the plain text first.
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert_eq!(body["content"][1]["type"], "text/html");
    assert_eq!(mail.to, "zoe@example.com");
    let code = code_in(&mail.subject).expect("no code in the subject");
    assert!(
        mail.text.contains("Zoë") && mail.text.contains(&code),
        "{}",
        mail.text
    );
    assert!(
        mail.html.contains("Zoë") && mail.html.contains(&code),
        "{}",
        mail.html
    );
    assert!(mail.html.contains("<html"), "{}", mail.html);

    let verified = app.post_form("/verify", &[("code", &code)]).await;
    assert_eq!(verified.headers()["location"], "/dashboard");
}

#[tokio::test]
async fn a_message_sendgrid_refuses_is_given_up_with_its_reason_kept() {
    let provider = TestProvider::start().await;
    provider.api.refuse(
        400,
        json!({"errors": [{
            "message": "The from address does not match a verified Sender Identity.",
            "field": "from",
        }]}),
    );
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;

    app.signup("Zoë", "zoe@example.com", PASSWORD).await;

    let row = eventually("the message to be given up", || {
        app.outbox_row("zoe@example.com")
            .filter(|row| row.failed_at.is_some())
    })
    .await;
    assert_eq!(row.attempts, 1);
    let error = row.last_error.unwrap_or_default();
    assert!(error.contains("400"), "{error}");
    assert!(error.contains("verified Sender Identity"), "{error}");
    assert_eq!(provider.api.received().await.len(), 1, "retried");
}

/// The settings that make the app post its mail to an API at `address`.
pub fn settings_sending_to(address: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("MAIL_TRANSPORT", "sendgrid".to_owned()),
        ("SENDGRID_API_KEY", API_KEY.to_owned()),
        ("SENDGRID_API_BASE_URL", format!("http://{address}")),
    ]
}

/// The SendGrid API as the app sees it.
pub struct TestProvider {
    pub api: ApiMock,
}

impl TestProvider {
    pub async fn start() -> Self {
        // SendGrid accepts with an empty 202.
        let accepted = ResponseTemplate::new(202);
        Self {
            api: ApiMock::start("/v3/mail/send", accepted, email_in).await,
        }
    }

    /// The settings that make the app deliver here.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        settings_sending_to(self.api.address())
    }

    /// An outage: every request is answered 503 until [`TestProvider::come_back`].
    pub fn go_down(&self) {
        self.api
            .refuse(503, json!({"errors": [{"message": "Service Unavailable"}]}));
    }

    pub fn come_back(&self) {
        self.api.accept();
    }

    /// A revoked key: every request is refused with 401 until
    /// [`TestProvider::accept_credentials`].
    pub fn refuse_credentials(&self) {
        self.api.refuse(401, json!({"errors": [{"message": "The provided authorization grant is invalid, expired, or revoked"}]}));
    }

    pub fn accept_credentials(&self) {
        self.api.accept();
    }
}

impl std::ops::Deref for TestProvider {
    type Target = ApiMock;

    fn deref(&self) -> &ApiMock {
        &self.api
    }
}

fn email_in(request: &Request) -> ReceivedEmail {
    let body = json_of(request);
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    let content = |kind: &str| {
        body["content"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|part| part["type"] == kind)
            .map(|part| text(&part["value"]))
            .unwrap_or_default()
    };
    ReceivedEmail {
        from: text(&body["from"]["email"]),
        to: text(&body["personalizations"][0]["to"][0]["email"]),
        subject: text(&body["subject"]),
        text: content("text/plain"),
        html: content("text/html"),
        content_types: Vec::new(),
        headers: Vec::new(),
    }
}
