//! Logging. `RUST_LOG` picks what is logged (default: info); every request's log
//! lines carry its request id. `LOG_FORMAT=json` writes one JSON object per line, for
//! log aggregators; the default is text for people.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// `LOG_FORMAT`, read before the settings because the log starts first; a value
    /// that is neither is reported with the settings' problems.
    pub fn from_env() -> Self {
        std::env::var("LOG_FORMAT")
            .ok()
            .and_then(|value| Self::parse(&value))
            .unwrap_or_default()
    }
}

/// Installs the global log subscriber; call once, at start-up.
pub fn init(format: LogFormat) {
    // The WebAuthn library logs a malformed passkey answer, anyone's to send, as an
    // error; the app logs its refusals itself (`accounts::passkeys`), as info.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,webauthn_rs_core=off"));
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // One line per request when its span closes: method, path, status, request id
        // and how long it took.
        .with_span_events(FmtSpan::CLOSE);
    match format {
        LogFormat::Text => logger.with_ansi(std::io::stderr().is_terminal()).init(),
        // The request's span (its id, route, status) as one object beside the event's
        // own fields, not the list of every span around it.
        LogFormat::Json => logger
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// An error with all its causes on one line, for the log.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
