//! Delivery through the Resend API, against a local stand-in that records requests.

use std::net::SocketAddr;

use serde_json::json;
use wiremock::{Request, ResponseTemplate};

use crate::delivery::{spawn_app_sending_to, unsent};
use crate::helpers::{PASSWORD, TestDatabase, code_in, eventually};
use crate::mailbox::ReceivedEmail;

mod api_mock;

use api_mock::{ApiMock, header_of, json_of};

const API_KEY: &str = "re_test_key";

/// The settings that let this provider deliver in production.
pub fn credentials() -> Vec<(&'static str, &'static str)> {
    vec![("RESEND_API_KEY", "re_test_key")]
}

#[tokio::test]
async fn mail_is_posted_to_the_resend_api_as_documented() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;

    let response = app.signup("Zoë", "zoe@example.com", PASSWORD).await;
    assert_eq!(response.status(), 303);
    let mail = provider.wait_for_delivery("zoe@example.com").await;

    let request = &provider.api.accepted()[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/emails");
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
    assert_eq!(fields, ["from", "html", "subject", "text", "to"]);
    assert_eq!(body["from"], app.settings.mail.from.as_str());
    assert_eq!(body["to"], json!(["zoe@example.com"]));
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
async fn a_message_the_api_refuses_is_given_up_with_its_reason_kept() {
    let provider = TestProvider::start().await;
    provider.api.refuse(
        422,
        json!({
            "statusCode": 422,
            "name": "validation_error",
            "message": "Invalid `to` field.",
        }),
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
    assert!(error.contains("422"), "{error}");
    assert!(error.contains("Invalid `to` field."), "{error}");
    assert_eq!(provider.api.received().await.len(), 1, "retried");
}

#[tokio::test]
async fn every_attempt_at_a_message_sends_its_idempotency_key_and_other_messages_another() {
    let provider = TestProvider::start().await;
    provider.go_down();
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;
    app.signup("Zoë", "zoe@example.com", PASSWORD).await;
    let keys_to = |to: &'static str, requests: &[Request]| -> Vec<String> {
        requests
            .iter()
            .filter(|request| json_of(request)["to"] == json!([to]))
            .map(|request| header_of(request, "idempotency-key").to_owned())
            .collect()
    };
    // Until the failure is recorded, the retry time is not yet set: moving
    // the clock earlier would leave the message waiting for a real hour.
    eventually("a failed attempt recorded", || {
        unsent(&app.pool)
            .iter()
            .any(|(to, attempts)| to == "zoe@example.com" && *attempts >= 1)
            .then_some(())
    })
    .await;

    provider.come_back();
    app.clock.advance(chrono::Duration::hours(1));
    provider.wait_for_delivery("zoe@example.com").await;
    app.new_browser()
        .signup("Ann", "ann@example.com", PASSWORD)
        .await;
    provider.wait_for_delivery("ann@example.com").await;

    let received = provider.api.received().await;
    let zoe = keys_to("zoe@example.com", &received);
    let ann = keys_to("ann@example.com", &received);
    assert!(zoe.len() >= 2, "{zoe:?}");
    assert!(
        zoe.iter().all(|key| key == &zoe[0] && !key.is_empty()),
        "{zoe:?}"
    );
    assert_eq!(ann.len(), 1);
    assert_ne!(ann[0], zoe[0]);
}

/// The settings that make the app post its mail to an API at `address`.
pub fn settings_sending_to(address: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("MAIL_TRANSPORT", "resend".to_owned()),
        ("RESEND_API_KEY", API_KEY.to_owned()),
        ("RESEND_API_BASE_URL", format!("http://{address}")),
    ]
}

/// The Resend API as the app sees it.
pub struct TestProvider {
    pub api: ApiMock,
}

impl TestProvider {
    pub async fn start() -> Self {
        let accepted = ResponseTemplate::new(200)
            .set_body_json(json!({"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}));
        Self {
            api: ApiMock::start("/emails", accepted, email_in).await,
        }
    }

    /// The settings that make the app deliver here.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        settings_sending_to(self.api.address())
    }

    /// An outage: every request is answered 503 until [`TestProvider::come_back`].
    pub fn go_down(&self) {
        self.api.refuse(
            503,
            json!({"statusCode": 503, "name": "internal_server_error", "message": "Unavailable"}),
        );
    }

    pub fn come_back(&self) {
        self.api.accept();
    }

    /// A revoked key: every request is refused with 401 until
    /// [`TestProvider::accept_credentials`].
    pub fn refuse_credentials(&self) {
        self.api.refuse(
            401,
            json!({"statusCode": 401, "name": "validation_error", "message": "API key is invalid"}),
        );
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
    ReceivedEmail {
        from: address_in(&text(&body["from"])),
        to: text(&body["to"][0]),
        subject: text(&body["subject"]),
        text: text(&body["text"]),
        html: text(&body["html"]),
        content_types: Vec::new(),
        headers: Vec::new(),
    }
}

/// The address in `Name <address>`.
fn address_in(mailbox: &str) -> String {
    let parsed: lettre::message::Mailbox = mailbox.parse().expect("not a mailbox");
    parsed.email.to_string()
}
