//! How mail leaves the application, as configured (`MAIL_*` and the provider's settings).

use std::path::PathBuf;
use std::time::Duration;

use crate::mail::transport::{self, ProviderSettings};

/// Where and how the outbox worker delivers.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub from: String,
    /// Where the `file` transport writes one `.eml` file per message.
    pub file_dir: PathBuf,
    /// How often the outbox worker looks for mail to send.
    pub poll_interval: Duration,
    /// Messages one instance sends at once (`MAIL_CONCURRENT_SENDS`, default 4, at most
    /// 16): a backlog drains that many times faster than one by one, and the provider
    /// sees no more connections than that from an instance.
    pub concurrent_sends: usize,
    pub provider: ProviderSettings,
}

/// How outgoing mail leaves the application (`MAIL_TRANSPORT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    /// Print each message to the log; for development.
    Log,
    /// Write each message to `MAIL_FILE_DIR`; for development and tests.
    File,
    /// Deliver through the provider chosen when the project was generated.
    Provider,
}

impl MailTransport {
    /// The transport a `MAIL_TRANSPORT` value names.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "log" => Some(Self::Log),
            "file" => Some(Self::File),
            _ if value == transport::NAME => Some(Self::Provider),
            _ => None,
        }
    }
}
