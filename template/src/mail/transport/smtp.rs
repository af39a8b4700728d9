//! Delivery through an SMTP server (`MAIL_TRANSPORT=smtp`).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::mail::delivery::{self, SendError};
use crate::mail::message::OutgoingEmail;
use crate::secret::Secret;

/// The `MAIL_TRANSPORT` value that selects this transport.
pub const NAME: &str = "smtp";

/// How the connection to the SMTP server is secured (`SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS; usually port 587.
    StartTls,
    /// TLS from the first byte; usually port 465.
    Tls,
    /// No encryption: only for a local development server.
    None,
}

/// SMTP server settings (`SMTP_HOST`, `SMTP_PORT`, `SMTP_USERNAME`, `SMTP_PASSWORD`, `SMTP_TLS`).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub host: Option<String>,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub tls: TlsMode,
    pub timeout: Duration,
}

impl ProviderSettings {
    /// Reads the settings through `lookup`, adding a line to `problems` for each bad value.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        problems: &mut Vec<String>,
    ) -> Self {
        let tls = match lookup("SMTP_TLS").as_deref() {
            None | Some("starttls") => TlsMode::StartTls,
            Some("tls") => TlsMode::Tls,
            Some("none") => TlsMode::None,
            Some(other) => {
                problems.push(format!(
                    "SMTP_TLS={other} is not a mode; use starttls, tls or none"
                ));
                TlsMode::StartTls
            }
        };
        let default_port = match tls {
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        };
        let port = match lookup("SMTP_PORT") {
            None => default_port,
            Some(value) => value.parse().unwrap_or_else(|_| {
                problems.push(format!("SMTP_PORT={value} is not a port number"));
                default_port
            }),
        };
        Self {
            host: lookup("SMTP_HOST"),
            port,
            username: lookup("SMTP_USERNAME"),
            password: lookup("SMTP_PASSWORD").map(Secret::new),
            tls,
            timeout: Duration::from_secs(10),
        }
    }

    /// What is missing for this transport to deliver mail, one line per setting.
    pub fn missing_credentials(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.host.is_none() {
            missing.push("SMTP_HOST is required when MAIL_TRANSPORT=smtp".to_owned());
        }
        if self.username.is_some() != self.password.is_some() {
            missing.push("SMTP_USERNAME and SMTP_PASSWORD must be set together".to_owned());
        }
        missing
    }

    /// What production refuses: a plaintext connection (mail and the SMTP password in
    /// the clear) to anything but a relay on this machine.
    pub fn production_problems(&self) -> Vec<String> {
        let host = self.host.as_deref().unwrap_or("localhost");
        let local = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.tls == TlsMode::None && !local {
            vec![format!(
                "SMTP_TLS=none would send mail and the SMTP password to {host} unencrypted; \
                 use starttls or tls in production (none is for a relay on this machine)"
            )]
        } else {
            Vec::new()
        }
    }

    /// A pooled connection to the server, opened lazily on the first message.
    pub fn transport(
        &self,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
        let host = self.host.as_deref().unwrap_or("localhost");
        let builder = match self.tls {
            TlsMode::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(self.port)
            .timeout(Some(self.timeout))
            .pool_config(PoolConfig::new().max_size(4));
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                password.expose().to_owned(),
            ));
        }
        Ok(builder.build())
    }
}

/// Delivers messages to the SMTP server, reusing pooled connections.
#[derive(Clone)]
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
}

impl Sender {
    /// Prepares delivery; no connection is opened until the first message.
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        Ok(Self {
            transport: settings.transport()?,
            timeout: settings.timeout,
        })
    }

    /// Sends one message. A refused login (530, 534, 535) pauses delivery; any other
    /// 5xx reply is permanent; anything else is worth a retry. SMTP has no idempotency
    /// key: a retry after a timeout whose first try did arrive sends a second copy.
    pub async fn send(
        &self,
        from: &Mailbox,
        email: &OutgoingEmail,
        _idempotency_key: &str,
    ) -> Result<(), SendError> {
        let message = delivery::build_message(from, email)?;
        // lettre's own timeout covers connecting, not a server that accepts the
        // connection and then says nothing: bound the whole exchange.
        let sent = tokio::time::timeout(self.timeout, self.transport.send(message))
            .await
            .map_err(|_| {
                SendError::Temporary(format!(
                    "the SMTP server did not finish within {:?}",
                    self.timeout
                ))
            })?;
        sent.map(drop).map_err(|error| {
            let code = error.status().map(|code| code.to_string());
            if code.as_deref().is_some_and(refuses_the_login) {
                SendError::Account(error.to_string())
            } else if error.is_permanent() {
                SendError::Permanent(error.to_string())
            } else {
                SendError::Temporary(error.to_string())
            }
        })
    }
}

/// Replies about our login, not the message: authentication required (530), a
/// mechanism too weak (534) or credentials refused (535).
fn refuses_the_login(code: &str) -> bool {
    ["530", "534", "535"].contains(&code)
}

#[cfg(test)]
mod tests {
    use super::refuses_the_login;

    #[test]
    fn login_replies_pause_delivery_and_others_do_not() {
        for code in ["530", "534", "535"] {
            assert!(refuses_the_login(code), "{code}");
        }
        for code in ["550", "552", "554", "451", "421"] {
            assert!(!refuses_the_login(code), "{code}");
        }
    }
}
