//! Account rules and flows: who may have an account, with which email and
//! password, and how they sign up, verify, sign in and recover it.

pub mod characters;
pub mod deletion;
pub mod email;
pub mod email_change;
pub mod hashing;
pub mod login;
pub mod name;
pub mod passkeys;
pub mod password;
pub mod password_change;
pub mod password_reset;
pub mod sessions;
pub mod signup;
pub mod two_factor;
pub mod verification;

use crate::mail::MailError;
use crate::mail::outbox::RecipientLimits;

/// What a flow can fail with besides a refusal it reports as an outcome.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("database query failed")]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// Limits that protect accounts; all have defaults from the security requirements.
#[derive(Debug, Clone, Copy)]
pub struct AccountSettings {
    /// Failed logins that lock an account (`LOGIN_MAX_FAILURES`, default 10).
    pub max_failed_logins: i32,
    /// How long a locked account stays locked (`LOGIN_LOCKOUT_MINUTES`, default 15).
    pub lockout: chrono::Duration,
    /// Lifetime of an email verification code (`VERIFICATION_CODE_MINUTES`, default 10).
    pub code_lifetime: chrono::Duration,
    /// Wrong guesses that kill a code (`VERIFICATION_CODE_MAX_ATTEMPTS`, default 5).
    pub code_max_attempts: i32,
    /// Wait between two codes for one account (`VERIFICATION_CODE_COOLDOWN_SECONDS`, default 60).
    pub code_cooldown: chrono::Duration,
    /// Codes one account may be sent per hour (`VERIFICATION_CODES_PER_HOUR`, default 5).
    pub codes_per_hour: i64,
    /// Reset links and notices one account may be sent (per kind).
    pub mail_limits: RecipientLimits,
    /// Lifetime of a password reset link (`PASSWORD_RESET_MINUTES`, default 60).
    pub reset_lifetime: chrono::Duration,
    /// Mail the owner when their account signs in from a browser it never used
    /// (`NEW_SIGN_IN_MAIL`, default true).
    pub new_sign_in_mail: bool,
    /// Administrators must use two-factor sign-in to reach the admin area
    /// (`ADMIN_TWO_FACTOR_REQUIRED`, default false).
    pub admin_two_factor_required: bool,
}
