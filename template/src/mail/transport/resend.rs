//! Delivery through the Resend HTTP API (`MAIL_TRANSPORT=resend`):
//! <https://resend.com/docs/api-reference/emails/send-email>.

use std::time::Duration;

use anyhow::Context as _;
use lettre::message::Mailbox;
use serde::Serialize;

use super::api;
use crate::mail::delivery::SendError;
use crate::mail::message::OutgoingEmail;
use crate::secret::Secret;

/// The `MAIL_TRANSPORT` value that selects this transport.
pub const NAME: &str = "resend";

const DEFAULT_BASE_URL: &str = "https://api.resend.com";

/// Resend API settings (`RESEND_API_KEY`, `RESEND_API_BASE_URL`).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// An API key with sending access.
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
            base_url: api::base_url(&lookup, "RESEND_API_BASE_URL", DEFAULT_BASE_URL, problems),
            api_key: lookup("RESEND_API_KEY").map(Secret::new),
            timeout: api::TIMEOUT,
        }
    }

    /// What is missing for this transport to deliver mail, one line per setting.
    pub fn missing_credentials(&self) -> Vec<String> {
        if self.api_key.is_none() {
            vec!["RESEND_API_KEY is required when MAIL_TRANSPORT=resend (an API key with sending access)".to_owned()]
        } else {
            Vec::new()
        }
    }

    /// Nothing more for production: the API is only reached over HTTPS.
    pub fn production_problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Delivers messages through the Resend API.
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
            endpoint: format!("{}/emails", settings.base_url),
            api_key: settings
                .api_key
                .clone()
                .context("RESEND_API_KEY is not set")?,
        })
    }

    /// Sends one message. Resend keeps `idempotency_key` for a day and sends a
    /// message once however often it is posted with the same key.
    pub async fn send(
        &self,
        from: &Mailbox,
        email: &OutgoingEmail,
        idempotency_key: &str,
    ) -> Result<(), SendError> {
        let from = from.to_string();
        let request = self
            .client
            .post(&self.endpoint)
            .bearer_auth(self.api_key.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(&ResendEmail {
                from: &from,
                to: [&email.to],
                subject: &email.subject,
                text: &email.text_body,
                html: &email.html_body,
            });
        api::send(request, api::refuses_key).await
    }
}

/// The body of `POST /emails`.
#[derive(Serialize)]
struct ResendEmail<'a> {
    from: &'a str,
    to: [&'a str; 1],
    subject: &'a str,
    text: &'a str,
    html: &'a str,
}
