//! Delivery through the Postmark API, against a local stand-in that records requests.

use std::net::SocketAddr;

use serde_json::json;
use wiremock::{Request, ResponseTemplate};

use crate::delivery::{PAST_EVERY_RETRY, paused_reason, spawn_app_sending_to};
use crate::helpers::{PASSWORD, TestDatabase, code_in, eventually};
use crate::mailbox::ReceivedEmail;

mod api_mock;

use api_mock::{ApiMock, header_of, json_of};

const SERVER_TOKEN: &str = "test-server-token";

/// The settings that let this provider deliver in production.
pub fn credentials() -> Vec<(&'static str, &'static str)> {
    vec![("POSTMARK_SERVER_TOKEN", "test-server-token")]
}

#[tokio::test]
async fn mail_is_posted_to_the_postmark_api_as_documented() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;

    let response = app.signup("Zoë", "zoe@example.com", PASSWORD).await;
    assert_eq!(response.status(), 303);
    let mail = provider.wait_for_delivery("zoe@example.com").await;

    let request = &provider.api.accepted()[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/email");
    assert_eq!(header_of(request, "x-postmark-server-token"), SERVER_TOKEN);
    assert_eq!(header_of(request, "accept"), "application/json");
    assert_eq!(header_of(request, "content-type"), "application/json");
    let body = json_of(request);
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "From",
            "HtmlBody",
            "MessageStream",
            "Subject",
            "TextBody",
            "To"
        ]
    );
    assert_eq!(body["From"], app.settings.mail.from.as_str());
    assert_eq!(body["MessageStream"], "outbound");
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
async fn a_message_postmark_refuses_is_given_up_with_its_reason_kept() {
    let provider = TestProvider::start().await;
    provider.api.refuse(
        422,
        json!({"ErrorCode": 300, "Message": "Invalid 'To' address: 'zoe@example.com'."}),
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
    assert!(error.contains("Invalid 'To' address"), "{error}");
    assert_eq!(provider.api.received().await.len(), 1, "retried");
}

#[tokio::test]
async fn an_account_postmark_will_not_send_for_pauses_delivery_and_loses_nothing() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;
    // Postmark answers 422 both for one message and for the whole account; its
    // ErrorCode tells them apart.
    for (code, reason) in [
        (401, "Sender signature not confirmed"),
        (405, "Not allowed to send: you have run out of credits"),
        (412, "Account is pending approval"),
    ] {
        provider
            .api
            .refuse(422, json!({"ErrorCode": code, "Message": reason}));
        let to = format!("user{code}@example.com");
        app.signup("Zoë", &to, PASSWORD).await;

        eventually("delivery paused", || paused_reason(&app.pool)).await;
        let row = app.outbox_row(&to).expect("the message is queued");
        assert_eq!((row.attempts, row.failed_at), (0, None), "{reason}");

        provider.api.accept();
        app.clock.advance(PAST_EVERY_RETRY);
        provider.wait_for_delivery(&to).await;
    }
}

/// The settings that make the app post its mail to an API at `address`.
pub fn settings_sending_to(address: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("MAIL_TRANSPORT", "postmark".to_owned()),
        ("POSTMARK_SERVER_TOKEN", SERVER_TOKEN.to_owned()),
        ("POSTMARK_API_BASE_URL", format!("http://{address}")),
    ]
}

/// The Postmark API as the app sees it.
pub struct TestProvider {
    pub api: ApiMock,
}

impl TestProvider {
    pub async fn start() -> Self {
        let accepted = ResponseTemplate::new(200).set_body_json(json!({
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
        }));
        Self {
            api: ApiMock::start("/email", accepted, email_in).await,
        }
    }

    /// The settings that make the app deliver here.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        settings_sending_to(self.api.address())
    }

    /// An outage: every request is answered 503 until [`TestProvider::come_back`].
    pub fn go_down(&self) {
        self.api
            .refuse(503, json!({"ErrorCode": 100, "Message": "Maintenance"}));
    }

    pub fn come_back(&self) {
        self.api.accept();
    }

    /// A revoked key: every request is refused with 401 until
    /// [`TestProvider::accept_credentials`].
    pub fn refuse_credentials(&self) {
        self.api.refuse(401, json!({"ErrorCode": 10, "Message": "The Server Token you provided in the X-Postmark-Server-Token request header was invalid."}));
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
    let text = |field: &str| body[field].as_str().unwrap_or_default().to_owned();
    ReceivedEmail {
        from: address_in(&text("From")),
        to: text("To"),
        subject: text("Subject"),
        text: text("TextBody"),
        html: text("HtmlBody"),
        content_types: Vec::new(),
        headers: Vec::new(),
    }
}

/// The address in `Name <address>`.
fn address_in(mailbox: &str) -> String {
    let parsed: lettre::message::Mailbox = mailbox.parse().expect("not a mailbox");
    parsed.email.to_string()
}
