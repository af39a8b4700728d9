//! The mail the application sends, rendered from `templates/emails/`.

use std::sync::Arc;

use anyhow::Context as _;
use tera::{Context, Tera};

use crate::templates::Templates;

/// A message to one person. Each variant has `templates/emails/<kind>.html` and `.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Email {
    /// The code that proves a new account's address is real (a six-digit code).
    VerificationCode { name: String, code: String },
    /// Someone tried to sign up with an address that already has an account. Telling the
    /// owner by mail, instead of telling the visitor on the page, keeps addresses private.
    SignupAttempt { name: String },
    /// The code that proves the address a user is moving to is theirs.
    EmailChangeCode { name: String, code: String },
    /// Someone signed in elsewhere asked to move their account to this address, which
    /// has an account already; told by mail for the same reason as `SignupAttempt`.
    EmailChangeAttempt { name: String },
    /// The account moved to `new_email`: sent to the old address, in case it was not
    /// the owner.
    EmailChanged { name: String, new_email: String },
    /// A link that lets the owner choose a new password.
    PasswordReset { name: String, token: String },
    /// The password was changed; a warning in case it was not the owner.
    PasswordChanged { name: String },
    /// Too many failed logins locked the account for a while.
    AccountLocked { name: String, minutes: i64 },
    /// The owner deleted their account: a receipt, and a warning if it was not them.
    AccountDeleted { name: String },
    /// Two-factor sign-in was turned on.
    TwoFactorEnabled { name: String },
    /// Two-factor sign-in was turned off, by the owner or (`by_admin`) an administrator.
    TwoFactorDisabled { name: String, by_admin: bool },
    /// A recovery code was used to sign in; `left` are unused.
    RecoveryCodeUsed { name: String, left: i64 },
    /// A passkey named `passkey` was added to the account.
    PasskeyAdded { name: String, passkey: String },
    /// The passkey named `passkey` was removed from the account.
    PasskeyRemoved { name: String, passkey: String },
    /// Someone gave the account's password and then a wrong second factor: the
    /// password is known to them, so the owner should change it.
    SecondFactorFailed {
        name: String,
        /// "Firefox on Windows 10".
        browser: String,
        ip: String,
        /// "2026-12-06 09:30 UTC".
        at: String,
    },
    /// The account signed in from a browser it never used: where and when, in case it
    /// was not the owner.
    NewSignIn {
        name: String,
        /// "Firefox on Windows 10".
        browser: String,
        ip: String,
        /// "2026-12-06 09:30 UTC".
        at: String,
    },
}

impl Email {
    /// Every kind, so a missing template is found at start-up rather than on first use.
    const KINDS: [&'static str; 16] = [
        "verification_code",
        "signup_attempt",
        "email_change_code",
        "email_change_attempt",
        "email_changed",
        "password_reset",
        "password_changed",
        "account_locked",
        "account_deleted",
        "new_sign_in",
        "two_factor_enabled",
        "two_factor_disabled",
        "recovery_code_used",
        "passkey_added",
        "passkey_removed",
        "second_factor_failed",
    ];

    /// The template file stem.
    fn kind(&self) -> &'static str {
        match self {
            Self::VerificationCode { .. } => "verification_code",
            Self::SignupAttempt { .. } => "signup_attempt",
            Self::EmailChangeCode { .. } => "email_change_code",
            Self::EmailChangeAttempt { .. } => "email_change_attempt",
            Self::EmailChanged { .. } => "email_changed",
            Self::PasswordReset { .. } => "password_reset",
            Self::PasswordChanged { .. } => "password_changed",
            Self::AccountLocked { .. } => "account_locked",
            Self::AccountDeleted { .. } => "account_deleted",
            Self::NewSignIn { .. } => "new_sign_in",
            Self::TwoFactorEnabled { .. } => "two_factor_enabled",
            Self::TwoFactorDisabled { .. } => "two_factor_disabled",
            Self::RecoveryCodeUsed { .. } => "recovery_code_used",
            Self::PasskeyAdded { .. } => "passkey_added",
            Self::PasskeyRemoved { .. } => "passkey_removed",
            Self::SecondFactorFailed { .. } => "second_factor_failed",
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::VerificationCode { name, .. }
            | Self::SignupAttempt { name }
            | Self::EmailChangeCode { name, .. }
            | Self::EmailChangeAttempt { name }
            | Self::EmailChanged { name, .. }
            | Self::PasswordReset { name, .. }
            | Self::PasswordChanged { name }
            | Self::AccountLocked { name, .. }
            | Self::AccountDeleted { name }
            | Self::NewSignIn { name, .. }
            | Self::TwoFactorEnabled { name }
            | Self::TwoFactorDisabled { name, .. }
            | Self::RecoveryCodeUsed { name, .. }
            | Self::PasskeyAdded { name, .. }
            | Self::PasskeyRemoved { name, .. }
            | Self::SecondFactorFailed { name, .. } => name,
        }
    }

    fn subject(&self, app: &str) -> String {
        match self {
            // The code leads so it shows in notifications without opening the mail.
            Self::VerificationCode { code, .. } => {
                format!("{code} is your {app} verification code")
            }
            Self::SignupAttempt { .. } => format!("Someone tried to sign up for {app} as you"),
            Self::EmailChangeCode { code, .. } => {
                format!("{code} is your code to confirm your new {app} address")
            }
            Self::EmailChangeAttempt { .. } => {
                format!("Someone tried to move a {app} account to your address")
            }
            Self::EmailChanged { .. } => format!("Your {app} email address was changed"),
            Self::PasswordReset { .. } => format!("Reset your {app} password"),
            Self::PasswordChanged { .. } => format!("Your {app} password was changed"),
            Self::AccountLocked { .. } => format!("Your {app} account is locked for now"),
            Self::AccountDeleted { .. } => format!("Your {app} account is deleted"),
            Self::NewSignIn { browser, .. } => format!("New sign-in to {app} from {browser}"),
            Self::TwoFactorEnabled { .. } => {
                format!("Two-factor sign-in is on for your {app} account")
            }
            Self::TwoFactorDisabled { .. } => {
                format!("Two-factor sign-in is off for your {app} account")
            }
            Self::RecoveryCodeUsed { .. } => {
                format!("A recovery code was used to sign in to {app}")
            }
            Self::PasskeyAdded { .. } => format!("A passkey was added to your {app} account"),
            Self::PasskeyRemoved { .. } => {
                format!("A passkey was removed from your {app} account")
            }
            Self::SecondFactorFailed { .. } => {
                format!("Someone entered your {app} password but failed the second step")
            }
        }
    }
}

/// Whether the mailer can send to `address` at all; signup refuses what it cannot.
pub fn can_address(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

/// Whether `from` (`Name <address>` or an address) can be the sender of mail.
pub fn can_send_as(from: &str) -> bool {
    from.parse::<lettre::message::Mailbox>().is_ok()
}

/// A sender for development: `name` (quoted as needed) at `noreply@localhost`.
pub fn local_sender(name: &str) -> String {
    let address = lettre::Address::new("noreply", "localhost").expect("a valid address");
    lettre::message::Mailbox::new(Some(name.to_owned()), address).to_string()
}

/// A rendered message, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// What it is: the template it was rendered from (`password_reset`, say).
    pub kind: String,
    /// The recipient's address.
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

/// Why a message could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("cannot render the {kind} email")]
pub struct MailError {
    kind: &'static str,
    #[source]
    source: tera::Error,
}

/// Renders [`Email`]s. Cheap to clone: the templates are shared.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    templates: Templates,
    app_name: String,
    base_url: String,
    /// Lifetimes the messages state, from the same settings that enforce them.
    code_minutes: i64,
    reset_minutes: i64,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

/// Where the links in mail lead and what the mail calls the product.
pub struct Site<'a> {
    pub app_name: &'a str,
    pub base_url: &'a str,
}

impl Mailer {
    /// Loads the templates under `templates/emails/` (again for each message with
    /// `reload`). Links point at the site's `base_url`; the messages state the lifetimes
    /// of codes and reset links that the settings enforce.
    pub fn new(
        site: Site<'_>,
        code_lifetime: chrono::Duration,
        reset_lifetime: chrono::Duration,
        reload: bool,
    ) -> anyhow::Result<Self> {
        let templates = Templates::new(load_templates, reload, Context::new())
            .context("cannot load the mail templates under templates/emails/")?;
        Ok(Self {
            inner: Arc::new(Inner {
                templates,
                app_name: site.app_name.to_owned(),
                base_url: site.base_url.to_owned(),
                code_minutes: code_lifetime.num_minutes(),
                reset_minutes: reset_lifetime.num_minutes(),
            }),
        })
    }

    /// Renders `email` for the address `to`: subject, plain text and HTML.
    pub fn compose(&self, to: &str, email: &Email) -> Result<OutgoingEmail, MailError> {
        let kind = email.kind();
        let context = self.context(email);
        let render = |extension: &str| {
            self.inner
                .templates
                .render(&format!("emails/{kind}.{extension}"), &context)
                .map_err(|source| MailError { kind, source })
        };
        Ok(OutgoingEmail {
            kind: kind.to_owned(),
            to: to.to_owned(),
            subject: email.subject(&self.inner.app_name),
            text_body: render("txt")?,
            html_body: render("html")?,
        })
    }

    fn context(&self, email: &Email) -> Context {
        let base_url = &self.inner.base_url;
        let mut context = Context::new();
        context.insert("app_name", &self.inner.app_name);
        context.insert("base_url", base_url);
        context.insert("name", email.name());
        context.insert("login_url", &format!("{base_url}/login"));
        context.insert(
            "forgot_password_url",
            &format!("{base_url}/forgot-password"),
        );
        match email {
            Email::VerificationCode { code, .. } | Email::EmailChangeCode { code, .. } => {
                context.insert("code", code);
                context.insert("minutes", &self.inner.code_minutes);
            }
            Email::EmailChanged { new_email, .. } => context.insert("new_email", new_email),
            Email::PasswordReset { token, .. } => {
                let token = encode_query_value(token);
                context.insert(
                    "reset_url",
                    &format!("{base_url}/reset-password?token={token}"),
                );
                context.insert("minutes", &self.inner.reset_minutes);
            }
            Email::AccountLocked { minutes, .. } => context.insert("minutes", minutes),
            Email::NewSignIn {
                browser, ip, at, ..
            }
            | Email::SecondFactorFailed {
                browser, ip, at, ..
            } => {
                context.insert("browser", browser);
                context.insert("ip", ip);
                context.insert("at", at);
                context.insert("sessions_url", &format!("{base_url}/account/sessions"));
            }
            Email::TwoFactorDisabled { by_admin, .. } => {
                context.insert("by_admin", by_admin);
                context.insert("two_factor_url", &format!("{base_url}/account/two-factor"));
            }
            Email::RecoveryCodeUsed { left, .. } => {
                context.insert("left", left);
                context.insert("two_factor_url", &format!("{base_url}/account/two-factor"));
            }
            Email::PasskeyAdded { passkey, .. } | Email::PasskeyRemoved { passkey, .. } => {
                context.insert("passkey", passkey);
                context.insert("passkeys_url", &format!("{base_url}/account/passkeys"));
            }
            Email::SignupAttempt { .. }
            | Email::EmailChangeAttempt { .. }
            | Email::TwoFactorEnabled { .. }
            | Email::PasswordChanged { .. }
            | Email::AccountDeleted { .. } => {}
        }
        context
    }
}

/// The templates under `emails/`; the pages load them too, under the same names, so
/// `extends "emails/layout.html"` resolves in both. Tera escapes only the `.html`
/// ones, which is what plain text needs. Every kind must have both parts.
fn load_templates() -> tera::Result<Tera> {
    let mut templates = crate::templates::load(|name| name.starts_with("emails/"))?;
    templates.set_escape_fn(escape_html);
    let loaded: Vec<&str> = templates.get_template_names().collect();
    let missing: Vec<String> = Email::KINDS
        .iter()
        .flat_map(|kind| [format!("emails/{kind}.html"), format!("emails/{kind}.txt")])
        .filter(|name| !loaded.contains(&name.as_str()))
        .collect();
    if missing.is_empty() {
        Ok(templates)
    } else {
        Err(tera::Error::msg(format!("missing {}", missing.join(", "))))
    }
}

/// Tera's escaping minus `/`, which it writes as `&#x2F;`: harmless to browsers, but it
/// mangles every link for the naive link checkers and HTML-to-text converters that read
/// mail source as written. In text and quoted attributes, these five are enough.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a token can
/// never break out of its query parameter (or of the HTML attribute around the link).
fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_percent_encoded_in_links() {
        assert_eq!(encode_query_value("aZ9-._~"), "aZ9-._~");
        assert_eq!(encode_query_value("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
