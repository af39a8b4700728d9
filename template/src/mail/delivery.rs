//! How a rendered message leaves the application: the log, a folder, or the provider.

use anyhow::Context as _;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::mail::message::OutgoingEmail;
use crate::mail::transport::Sender;
use crate::mail::{MailSettings, MailTransport};

/// Why a message was not delivered; the outbox retries only temporary failures.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: the service is down, slow or rate limiting.
    #[error("{0}")]
    Temporary(String),
    /// Will fail the same way every time: a rejected address, a malformed message.
    #[error("{0}")]
    Permanent(String),
    /// The provider refused our account or credentials (a rotated key, a changed
    /// password): no message can go until someone fixes it, and every one may go
    /// after, so delivery pauses and nothing is given up on.
    #[error("{0}")]
    Account(String),
}

impl SendError {
    /// True when retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

/// Builds the RFC 5322 message: plain text and HTML alternatives, UTF-8 throughout.
pub fn build_message(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, SendError> {
    let to: Mailbox = email.to.parse().map_err(|error| {
        SendError::Permanent(format!("the recipient is not an email address: {error}"))
    })?;
    // Relays and spam filters expect an ID made by the sender, under the sender's
    // domain (lettre's default would use this machine's host name).
    let message_id = format!("<{:032x}@{}>", rand::random::<u128>(), from.email.domain());
    Message::builder()
        .message_id(Some(message_id))
        .from(from.clone())
        .to(to)
        .subject(&email.subject)
        .multipart(MultiPart::alternative_plain_html(
            email.text_body.clone(),
            email.html_body.clone(),
        ))
        .map_err(|error| SendError::Permanent(format!("cannot build the message: {error}")))
}

/// The transport chosen by `MAIL_TRANSPORT`.
pub enum Delivery {
    /// Printed to the log, never delivered.
    Log,
    /// Written as `.eml` files into `MAIL_FILE_DIR`.
    File(AsyncFileTransport<Tokio1Executor>),
    /// Handed to the provider chosen when the project was generated.
    Provider(Sender),
}

impl Delivery {
    /// Prepares the configured transport; the file transport's folder is created here.
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        Ok(match settings.transport {
            MailTransport::Log => Self::Log,
            MailTransport::File => {
                std::fs::create_dir_all(&settings.file_dir).with_context(|| {
                    format!(
                        "cannot create MAIL_FILE_DIR={}",
                        settings.file_dir.display()
                    )
                })?;
                Self::File(AsyncFileTransport::new(&settings.file_dir))
            }
            MailTransport::Provider => Self::Provider(Sender::new(&settings.provider)?),
        })
    }

    /// Sends one message. `idempotency_key` is the same for every attempt at one queued
    /// message, so a provider that supports it can drop a second copy (a retry after a
    /// timeout whose first try did arrive).
    pub async fn send(
        &self,
        from: &Mailbox,
        email: &OutgoingEmail,
        idempotency_key: &str,
    ) -> Result<(), SendError> {
        match self {
            Self::Log => {
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject,
                    "development mail, printed here instead of sent (MAIL_TRANSPORT=log):\n\n{}\n",
                    email.text_body
                );
                Ok(())
            }
            Self::File(transport) => {
                let message = build_message(from, email)?;
                transport
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|error| SendError::Temporary(error.to_string()))
            }
            Self::Provider(sender) => sender.send(from, email, idempotency_key).await,
        }
    }
}
