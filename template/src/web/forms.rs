//! Form mistakes, collected per field and shown next to it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::accounts::password::{self, PasswordRule};

/// The messages to show next to each field; empty when the form is fine.
#[derive(Debug, Default, Serialize)]
pub struct FieldErrors(BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks a new password and its confirmation. The broken rules go by id under
    /// `password_rules`, which the form's checklist marks; the field itself gets one
    /// line pointing there, so no rule is listed twice.
    pub fn check_new_password(&mut self, password: &str, confirmation: &str, email: &str) {
        let broken = password::check_password(password, email);
        if !broken.is_empty() {
            self.add(
                "password",
                "This password does not meet the rules marked below.",
            );
        }
        for rule in broken {
            self.add("password_rules", rule.id());
        }
        if password != confirmation {
            self.add("password_confirmation", "The two passwords differ.");
        }
    }
}

/// The password rules as the form's checklist shows them (and its script checks them).
#[derive(Debug, Serialize)]
pub struct RuleView {
    pub id: &'static str,
    pub message: &'static str,
}

/// The password policy as a form shows it: the checklist under a new-password
/// field, and the limits its script checks while the user types.
#[derive(Debug, Serialize)]
pub struct PolicyView {
    pub min_chars: usize,
    pub max_bytes: usize,
    pub rules: Vec<RuleView>,
}

pub fn password_policy() -> PolicyView {
    PolicyView {
        min_chars: password::MIN_PASSWORD_CHARS,
        max_bytes: password::MAX_PASSWORD_BYTES,
        rules: PasswordRule::ALL
            .iter()
            .map(|rule| RuleView {
                id: rule.id(),
                message: rule.message(),
            })
            .collect(),
    }
}
