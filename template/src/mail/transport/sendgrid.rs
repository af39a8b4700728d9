//! Delivery through the SendGrid HTTP API (`MAIL_TRANSPORT=sendgrid`).

use std::time::Duration;

use lettre::message::Mailbox;

use crate::config::Secret;
use crate::mail::delivery::SendError;
use crate::mail::message::OutgoingEmail;

/// The `MAIL_TRANSPORT` value that selects this transport.
pub const NAME: &str = "sendgrid";

const DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";

/// SendGrid API settings (`SENDGRID_API_KEY`, `SENDGRID_API_BASE_URL`).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// A SendGrid API key with the Mail Send permission.
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
        let base_url = lookup("SENDGRID_API_BASE_URL")
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        if !base_url.starts_with("https://") && !base_url.starts_with("http://") {
            problems.push(format!(
                "SENDGRID_API_BASE_URL={base_url} must be an absolute http(s) URL"
            ));
        }
        Self {
            api_key: lookup("SENDGRID_API_KEY").map(Secret::new),
            base_url,
            timeout: Duration::from_secs(10),
        }
    }

    /// What is missing for this transport to deliver mail, one line per setting.
    pub fn missing_credentials(&self) -> Vec<String> {
        if self.api_key.is_none() {
            vec!["SENDGRID_API_KEY is required when MAIL_TRANSPORT=sendgrid (a SendGrid API key with the Mail Send permission)".to_owned()]
        } else {
            Vec::new()
        }
    }

    /// An HTTP client for the API; it keeps connections open between messages.
    pub fn client(&self) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
    }
}

/// Delivers messages through the SendGrid API.
#[derive(Debug, Clone)]
pub struct Sender;

impl Sender {
    /// Prepares delivery with `settings`.
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        let _ = settings;
        Ok(Self)
    }

    /// Sends one message.
    pub async fn send(&self, from: &Mailbox, email: &OutgoingEmail) -> Result<(), SendError> {
        // Permanent, so queued mail is parked as failed (and visible) instead of being
        // retried for hours against code that cannot succeed.
        let _ = (from, email);
        Err(SendError::Permanent(format!(
            "{NAME} delivery is not implemented yet"
        )))
    }
}
