//! The name a person gives: shown on their pages and quoted in the mail they get.

use crate::accounts::characters::is_invisible;

/// The longest name accepted, in characters (the `users.name` column holds 100).
pub const MAX_NAME_CHARS: usize = 100;

/// Why a name was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Enter your name.")]
    Empty,
    #[error("Use at most 100 characters.")]
    TooLong,
    #[error("Leave web addresses out of your name.")]
    LooksLikeALink,
    #[error("Use letters, spaces and punctuation only: no line breaks or invisible characters.")]
    Invisible,
}

/// A checked display name: trimmed, not empty, at most [`MAX_NAME_CHARS`] characters,
/// no web address and no invisible characters (the name is quoted in mail sent to
/// the address typed, so a link there would serve phishers, and a line break would
/// write lines of the attacker's into the mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let name = input.trim();
        if name.is_empty() {
            Err(NameError::Empty)
        } else if name.chars().count() > MAX_NAME_CHARS {
            Err(NameError::TooLong)
        } else if looks_like_a_link(name) {
            Err(NameError::LooksLikeALink)
        } else if name.chars().any(is_invisible) {
            Err(NameError::Invisible)
        } else {
            Ok(Self(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn looks_like_a_link(name: &str) -> bool {
    let name = name.to_lowercase();
    name.contains("://") || name.contains("www.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
    }

    #[test]
    fn empty_long_and_link_names_are_refused() {
        assert_eq!(DisplayName::parse("   "), Err(NameError::Empty));
        assert_eq!(
            DisplayName::parse(&"é".repeat(MAX_NAME_CHARS + 1)),
            Err(NameError::TooLong)
        );
        assert!(DisplayName::parse(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert_eq!(
            DisplayName::parse("Visit https://evil.example"),
            Err(NameError::LooksLikeALink)
        );
        assert_eq!(
            DisplayName::parse("WWW.evil.example"),
            Err(NameError::LooksLikeALink)
        );
    }

    #[test]
    fn control_and_invisible_characters_are_refused() {
        for name in [
            "Ada\nBcc: eve@example.com",
            "Ada\rLovelace",
            "Ada\tLovelace",
            "Ada\u{200b}Lovelace",
            "Ada\u{202e}ecalevoL",
            "Ada\u{0}",
        ] {
            assert_eq!(
                DisplayName::parse(name),
                Err(NameError::Invisible),
                "{name:?}"
            );
        }
        assert!(DisplayName::parse("Zoë Ó'Brien-Łukasz 李").is_ok());
    }
}
