//! Delivery through the Postmark HTTP API (`MAIL_TRANSPORT=postmark`):
//! <https://postmarkapp.com/developer/user-guide/send-email-with-api>.

use std::time::Duration;

use anyhow::Context as _;
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

use super::api;
use crate::mail::delivery::SendError;
use crate::mail::message::OutgoingEmail;
use crate::secret::Secret;

/// The `MAIL_TRANSPORT` value that selects this transport.
pub const NAME: &str = "postmark";

const DEFAULT_BASE_URL: &str = "https://api.postmarkapp.com";

/// Postmark API settings (`POSTMARK_SERVER_TOKEN`, `POSTMARK_API_BASE_URL`).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// The Server API token of a Postmark server.
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
            base_url: api::base_url(&lookup, "POSTMARK_API_BASE_URL", DEFAULT_BASE_URL, problems),
            api_key: lookup("POSTMARK_SERVER_TOKEN").map(Secret::new),
            timeout: api::TIMEOUT,
        }
    }

    /// What is missing for this transport to deliver mail, one line per setting.
    pub fn missing_credentials(&self) -> Vec<String> {
        if self.api_key.is_none() {
            vec!["POSTMARK_SERVER_TOKEN is required when MAIL_TRANSPORT=postmark (the Server API token of a Postmark server)".to_owned()]
        } else {
            Vec::new()
        }
    }

    /// Nothing more for production: the API is only reached over HTTPS.
    pub fn production_problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Delivers messages through the Postmark API.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    endpoint: String,
    server_token: Secret,
}

impl Sender {
    /// Prepares delivery; no connection is opened until the first message.
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        Ok(Self {
            client: api::client(settings.timeout)?,
            endpoint: format!("{}/email", settings.base_url),
            server_token: settings
                .api_key
                .clone()
                .context("POSTMARK_SERVER_TOKEN is not set")?,
        })
    }

    /// Sends one message. Postmark takes no idempotency key: a retry after a timeout
    /// whose first try did arrive sends a second copy.
    pub async fn send(
        &self,
        from: &Mailbox,
        email: &OutgoingEmail,
        _idempotency_key: &str,
    ) -> Result<(), SendError> {
        let from = from.to_string();
        let request = self
            .client
            .post(&self.endpoint)
            .header("X-Postmark-Server-Token", self.server_token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&PostmarkEmail {
                from: &from,
                to: &email.to,
                subject: &email.subject,
                text_body: &email.text_body,
                html_body: &email.html_body,
                // The stream for transactional mail; broadcasts go through another.
                message_stream: "outbound",
            });
        api::send(request, refuses_account).await
    }
}

/// Postmark's `ErrorCode`s that refuse the sender or the account, not one message
/// (<https://postmarkapp.com/developer/api/overview#error-codes>): bad token, sender
/// signature not found or not confirmed, not allowed to send (out of credits), account
/// pending approval, account may not send. They come with 422, like a bad address.
const ACCOUNT_ERROR_CODES: [u32; 6] = [10, 400, 401, 405, 412, 413];

fn refuses_account(status: reqwest::StatusCode, body: &str) -> bool {
    api::refuses_key(status, body)
        || serde_json::from_str::<PostmarkError>(body)
            .is_ok_and(|error| ACCOUNT_ERROR_CODES.contains(&error.error_code))
}

/// The body of an error answer.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkError {
    error_code: u32,
}

/// The body of `POST /email`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkEmail<'a> {
    from: &'a str,
    to: &'a str,
    subject: &'a str,
    text_body: &'a str,
    html_body: &'a str,
    message_stream: &'a str,
}
