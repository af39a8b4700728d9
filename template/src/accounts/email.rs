//! Email addresses as the application stores and compares them.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::accounts::characters::{is_combining_mark, is_invisible};
use crate::mail;

/// The longest address a mail server must accept (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
const MAX_LOCAL_PART_BYTES: usize = 64;

/// Why an address was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address.")]
    Empty,
    #[error("This email address is too long (at most 254 characters).")]
    TooLong,
    #[error("Enter an email address like name@example.com.")]
    Invalid,
}

/// A checked address, in the one form stored and looked up (see `normalize_email`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        normalize_email(input).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Turns what a user typed into the one form stored and looked up: trimmed,
/// Unicode NFKC-normalised and lower-cased as a whole, so the same address typed two
/// ways finds the same account, and two different stored addresses never merge.
fn normalize_email(input: &str) -> Result<String, EmailError> {
    let email: String = input.trim().nfkc().collect::<String>().to_lowercase();
    // Lower-casing can produce text that NFKC changes again (e.g. the Kelvin sign).
    let email: String = email.nfkc().collect();
    if email.is_empty() {
        return Err(EmailError::Empty);
    }
    if email.len() > MAX_EMAIL_BYTES {
        return Err(EmailError::TooLong);
    }
    let (local, domain) = email.rsplit_once('@').ok_or(EmailError::Invalid)?;
    // A dot-atom (RFC 5322) of letters, digits and the usual symbols: no quoted local
    // parts, whose quotes and backslashes let two accounts share one mailbox, and no
    // invisible characters, which make two addresses look alike.
    let valid_local = !local.is_empty()
        && local.len() <= MAX_LOCAL_PART_BYTES
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            c.is_alphanumeric()
                || "!#$%&'*+-/=?^_`{|}~.".contains(c)
                || (!c.is_ascii() && !c.is_whitespace() && !is_invisible(c))
        })
        && !marks_a_plain_letter(local);
    let valid_domain = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    // The address must also be one the mailer can send to.
    if valid_local && valid_domain && mail::can_address(&email) {
        Ok(email)
    } else {
        Err(EmailError::Invalid)
    }
}

/// A combining mark on an ASCII character. Normalisation has composed every accented
/// Latin letter that has a form of its own (`e` + acute is `é`), so what is left on a
/// plain letter makes it look like another address: `ALİCE` lower-cases to `i` and a
/// combining dot, shown as `alice`. Marks on the letters of other scripts, which spell
/// their words with them, stay allowed.
fn marks_a_plain_letter(local: &str) -> bool {
    local.chars().next().is_some_and(is_combining_mark)
        || local
            .chars()
            .zip(local.chars().skip(1))
            .any(|(base, mark)| base.is_ascii() && is_combining_mark(mark))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Ada@Example.COM "),
            Ok("ada@example.com".to_owned())
        );
    }

    #[test]
    fn the_kelvin_sign_is_folded_like_the_letter_k() {
        assert_eq!(
            normalize_email("\u{212A}im@example.com"),
            normalize_email("kim@example.com")
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for input in [
            "",
            "no-at-sign",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@@b.com",
            "\"bob\"@example.com",
            "\"b\\ob\"@example.com",
            "\"a\\\"b<svg>\"@example.com",
            "alice\u{200b}@example.com",
            ".alice@example.com",
            "al..ice@example.com",
            "a<b>@example.com",
        ] {
            assert!(normalize_email(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn letters_dressed_as_plain_ones_are_refused() {
        // Lower-cased, the dotted capital I is an `i` with a combining dot: the address
        // reads as alice@example.com in the admin directory.
        for input in [
            "ALİCE@example.com",
            "ali\u{307}ce@example.com",
            "bo\u{335}b@example.com",
            "\u{301}bob@example.com",
        ] {
            assert!(normalize_email(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn everyday_and_international_addresses_are_accepted() {
        for input in [
            "o'brien+news@example.com",
            "zoë@example.com",
            "zoe\u{308}@example.com",
            "नमस्ते@example.com",
            "a.b-c_d@mail.example.org",
        ] {
            assert!(normalize_email(input).is_ok(), "{input:?} was refused");
        }
    }

    #[test]
    fn addresses_over_254_bytes_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(normalize_email(&long), Err(EmailError::TooLong));
    }
}
