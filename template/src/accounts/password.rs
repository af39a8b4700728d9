//! The password policy and password hashing. The policy is defined once, here; forms
//! and the command line show its rules in these words.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Fewer characters than this is too easy to guess.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// bcrypt ignores everything after 72 bytes, so longer passwords are refused
/// rather than silently shortened.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// One rule of the password policy that a password breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    TooShort,
    TooLong,
    NeedsLowercase,
    NeedsUppercase,
    NeedsDigit,
    ContainsEmail,
    TooCommon,
}

impl PasswordRule {
    /// The rule in plain words, as shown next to the password field.
    pub fn message(self) -> &'static str {
        match self {
            Self::TooShort => "Use at least 12 characters.",
            Self::TooLong => "Use at most 72 bytes (fewer if you use accented letters or emoji).",
            Self::NeedsLowercase => "Include a lower-case letter.",
            Self::NeedsUppercase => "Include an upper-case letter.",
            Self::NeedsDigit => "Include a digit.",
            Self::ContainsEmail => "Don't include your email address.",
            Self::TooCommon => "Avoid common passwords and simple variations of them.",
        }
    }

    /// A stable name for the rule, used by the page's script and in tests.
    pub fn id(self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::NeedsLowercase => "needs_lowercase",
            Self::NeedsUppercase => "needs_uppercase",
            Self::NeedsDigit => "needs_digit",
            Self::ContainsEmail => "contains_email",
            Self::TooCommon => "too_common",
        }
    }

    /// Every rule, in the order forms list them.
    pub const ALL: [Self; 7] = [
        Self::TooShort,
        Self::TooLong,
        Self::NeedsLowercase,
        Self::NeedsUppercase,
        Self::NeedsDigit,
        Self::ContainsEmail,
        Self::TooCommon,
    ];
}

/// Passwords attackers try first (the zxcvbn project's list).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect()
    })
}

/// Whether the password is a common one, possibly dressed up with capitals and
/// digits or symbols around it ("Password1234!" is "password").
fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    common_passwords().contains(lower.as_str()) || common_passwords().contains(core)
}

/// Every rule `password` breaks for the account with this (normalised) email;
/// empty when the password is acceptable. Length is checked before anything else
/// looks at a very long input.
pub fn check_password(password: &str, email: &str) -> Vec<PasswordRule> {
    let mut broken = Vec::new();
    let password = &*normalized(password);
    if password.len() > MAX_PASSWORD_BYTES {
        broken.push(PasswordRule::TooLong);
        return broken;
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        broken.push(PasswordRule::TooShort);
    }
    if !password.chars().any(char::is_lowercase) {
        broken.push(PasswordRule::NeedsLowercase);
    }
    if !password.chars().any(char::is_uppercase) {
        broken.push(PasswordRule::NeedsUppercase);
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        broken.push(PasswordRule::NeedsDigit);
    }
    let local_part = email.split('@').next().unwrap_or_default();
    if local_part.chars().count() >= 3 && password.to_lowercase().contains(local_part) {
        broken.push(PasswordRule::ContainsEmail);
    }
    if is_common(password) {
        broken.push(PasswordRule::TooCommon);
    }
    broken
}

/// The password as hashed: NFKC-normalised (NIST SP 800-63B), so "é" typed as one
/// character or as "e" and an accent is the same password on every keyboard.
fn normalized(password: &str) -> Cow<'_, str> {
    if is_nfkc_quick(password.chars()) == IsNormalized::Yes {
        Cow::Borrowed(password)
    } else {
        Cow::Owned(password.nfkc().collect())
    }
}

/// Hashes a password with bcrypt. Slow on purpose: call it through
/// `accounts::hashing::Hashing`, which runs it on the blocking pool.
pub fn hash_password(password: &str, cost: u32) -> Result<String, bcrypt::BcryptError> {
    bcrypt::hash(normalized(password).as_bytes(), cost)
}

/// Whether `password` matches a stored bcrypt hash. A hash stored before passwords
/// were normalised was made of the password exactly as typed, so that is tried too
/// when normalising changed it.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let normal = normalized(password);
    let matches = |candidate: &str| bcrypt::verify(candidate, hash).unwrap_or(false);
    matches(&normal) || (normal != password && matches(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strong_password_breaks_no_rule() {
        assert!(check_password("Correct-Horse-Battery-9", "ada@example.com").is_empty());
    }

    #[test]
    fn every_broken_rule_is_listed() {
        assert_eq!(
            check_password("short", "ada@example.com"),
            vec![
                PasswordRule::TooShort,
                PasswordRule::NeedsUppercase,
                PasswordRule::NeedsDigit
            ]
        );
    }

    #[test]
    fn passwords_over_72_bytes_are_refused_even_when_short_in_characters() {
        // 27 characters, 75 bytes.
        let password = "€".repeat(24) + "Aa1";
        assert_eq!(
            check_password(&password, "ada@example.com"),
            vec![PasswordRule::TooLong]
        );
    }

    #[test]
    fn the_email_local_part_may_not_appear_in_the_password() {
        assert_eq!(
            check_password("MyNameIsAdaLovelace1", "adalovelace@example.com"),
            vec![PasswordRule::ContainsEmail]
        );
    }

    #[test]
    fn common_passwords_are_refused_even_when_dressed_up() {
        for password in ["Password1234", "Qwertyuiop123!", "123Baseball456"] {
            assert!(
                check_password(password, "ada@example.com").contains(&PasswordRule::TooCommon),
                "{password} was accepted"
            );
        }
    }

    #[test]
    fn a_password_typed_in_another_unicode_form_is_the_same_password() {
        let composed = "Crème-Brûlée-Tart-9"; // é and û as one character each
        let decomposed = "Cre\u{300}me-Bru\u{302}le\u{301}e-Tart-9";
        let hash = hash_password(composed, 4).unwrap();
        assert!(verify_password(decomposed, &hash));
        // A hash stored before passwords were normalised still verifies.
        let stored_before = bcrypt::hash(decomposed, 4).unwrap();
        assert!(verify_password(decomposed, &stored_before));
        assert!(!verify_password("Creme-Brulee-Tart-9", &hash));
    }

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("Correct-Horse-Battery-9", 4).unwrap();
        assert!(verify_password("Correct-Horse-Battery-9", &hash));
        assert!(!verify_password("Correct-Horse-Battery-8", &hash));
    }
}
