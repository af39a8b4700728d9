//! Delivery through the SendGrid v3 Mail Send API (`MAIL_TRANSPORT=sendgrid`):
//! <https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send>.

use std::time::Duration;

use anyhow::Context as _;
use lettre::message::Mailbox;
use serde::Serialize;

use super::api;
use crate::mail::delivery::SendError;
use crate::mail::message::OutgoingEmail;
use crate::secret::Secret;

/// The `MAIL_TRANSPORT` value that selects this transport.
pub const NAME: &str = "sendgrid";

const DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";

/// SendGrid API settings (`SENDGRID_API_KEY`, `SENDGRID_API_BASE_URL`).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// An API key with the "Mail Send" permission.
    pub api_key: Option<Secret>,
    /// Overridable so tests can point the client at a local mock server.
    pub base_url: String,
    pub timeout: Duration,
}

impl ProviderSettings {
    /// Reads the settings through `lookup`, adding a line to `problems` for each bad value.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        problems: &mut Vec<String>,
    ) -> Self {
        Self {
            base_url: api::base_url(&lookup, "SENDGRID_API_BASE_URL", DEFAULT_BASE_URL, problems),
            api_key: lookup("SENDGRID_API_KEY").map(Secret::new),
            timeout: api::TIMEOUT,
        }
    }

    /// What is missing for this transport to deliver mail, one line per setting.
    pub fn missing_credentials(&self) -> Vec<String> {
        if self.api_key.is_none() {
            vec!["SENDGRID_API_KEY is required when MAIL_TRANSPORT=sendgrid (an API key with the Mail Send permission)".to_owned()]
        } else {
            Vec::new()
        }
    }

    /// Nothing more for production: the API is only reached over HTTPS.
    pub fn production_problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Delivers messages through the SendGrid API.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    endpoint: String,
    api_key: Secret,
}

impl Sender {
    /// Prepares delivery; no connection is opened until the first message.
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        Ok(Self {
            client: api::client(settings.timeout)?,
            endpoint: format!("{}/v3/mail/send", settings.base_url),
            api_key: settings
                .api_key
                .clone()
                .context("SENDGRID_API_KEY is not set")?,
        })
    }

    /// Sends one message. SendGrid takes no idempotency key: a retry after a timeout
    /// whose first try did arrive sends a second copy.
    pub async fn send(
        &self,
        from: &Mailbox,
        email: &OutgoingEmail,
        _idempotency_key: &str,
    ) -> Result<(), SendError> {
        let request = self
            .client
            .post(&self.endpoint)
            .bearer_auth(self.api_key.expose())
            .json(&SendgridEmail {
                personalizations: [Personalization {
                    to: [Address {
                        email: &email.to,
                        name: None,
                    }],
                }],
                from: Address {
                    email: from.email.as_ref(),
                    name: from.name.as_deref(),
                },
                subject: &email.subject,
                // SendGrid requires text/plain first, then text/html.
                content: [
                    Content {
                        kind: "text/plain",
                        value: &email.text_body,
                    },
                    Content {
                        kind: "text/html",
                        value: &email.html_body,
                    },
                ],
            });
        api::send(request, api::refuses_key).await
    }
}

/// The body of `POST /v3/mail/send`.
#[derive(Serialize)]
struct SendgridEmail<'a> {
    personalizations: [Personalization<'a>; 1],
    from: Address<'a>,
    subject: &'a str,
    content: [Content<'a>; 2],
}

#[derive(Serialize)]
struct Personalization<'a> {
    to: [Address<'a>; 1],
}

#[derive(Serialize)]
struct Address<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    value: &'a str,
}
