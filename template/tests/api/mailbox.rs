//! Reads the mail the app wrote to its `MAIL_TRANSPORT=file` folder, the way a mail
//! client would: parsed and decoded, not string-matched in the raw file.

use std::path::Path;
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders, PartType};

/// How long the outbox worker gets to deliver a message.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// One delivered message.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    /// The sender's address.
    pub from: String,
    /// The recipient's address.
    pub to: String,
    /// Decoded.
    pub subject: String,
    /// The `text/plain` part, decoded.
    pub text: String,
    /// The `text/html` part, decoded (still HTML: entities are as written).
    pub html: String,
    /// `type/subtype; charset=...` of every part, the multipart container first.
    pub content_types: Vec<String>,
    /// Every top-level header: name and raw (undecoded) value.
    pub headers: Vec<(String, String)>,
}

impl ReceivedEmail {
    /// The raw value of the first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }

    /// True when the HTML links to `url`: an `href` that a browser reads as `url`.
    pub fn html_links_to(&self, url: &str) -> bool {
        self.html
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .any(|href| href.replace("&amp;", "&") == url)
    }
}

/// Waits until a message to `to` is in `dir` and returns it (the first one found, if
/// several are).
pub async fn wait_for_email(dir: &Path, to: &str) -> ReceivedEmail {
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        if let Some(email) = emails_to(dir, to).into_iter().next() {
            return email;
        }
        assert!(
            Instant::now() < deadline,
            "no email to {to} arrived in {} within {DELIVERY_TIMEOUT:?}",
            dir.display()
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Every complete message to `to` in `dir`, right now.
pub fn emails_to(dir: &Path, to: &str) -> Vec<ReceivedEmail> {
    let entries = std::fs::read_dir(dir).expect("cannot read the mail folder");
    entries
        .map(|entry| entry.expect("cannot read the mail folder").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
        .filter_map(|path| read_email(&path))
        .filter(|email| email.to == to)
        .collect()
}

/// `None` while the file is still being written. Every message the app sends is
/// multipart, so a complete one ends with the closing boundary (`--`).
fn read_email(path: &Path) -> Option<ReceivedEmail> {
    let raw = std::fs::read(path).ok()?;
    if !raw.trim_ascii_end().ends_with(b"--") {
        return None;
    }
    let message = MessageParser::default().parse(&raw)?;

    let address = |address: Option<&mail_parser::Address<'_>>| {
        address
            .and_then(|address| address.first())
            .and_then(|addr| addr.address())
            .unwrap_or_default()
            .to_owned()
    };
    let mut email = ReceivedEmail {
        from: address(message.from()),
        to: address(message.to()),
        subject: message.subject().unwrap_or_default().to_owned(),
        text: String::new(),
        html: String::new(),
        content_types: Vec::new(),
        headers: message
            .headers_raw()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
    };
    for part in &message.parts {
        match &part.body {
            PartType::Text(text) => email.text = text.to_string(),
            PartType::Html(html) => email.html = html.to_string(),
            _ => {}
        }
        if let Some(content_type) = part.content_type() {
            let mut description = format!(
                "{}/{}",
                content_type.ctype(),
                content_type.subtype().unwrap_or_default()
            );
            if let Some(charset) = content_type.attribute("charset") {
                description.push_str(&format!("; charset={charset}"));
            }
            email.content_types.push(description.to_ascii_lowercase());
        }
    }
    Some(email)
}
