//! Two-factor sign-in with an authenticator app (TOTP, RFC 6238: six digits, 30-second
//! steps, one step of drift either way) and ten single-use recovery codes.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use rand::Rng;
use totp_rs::Builder;

use crate::db::{self, DbConn};
use crate::keys::Keys;
use crate::mail::{OutgoingEmail, outbox};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::{recovery_code, session, two_factor};

/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;

/// Letters and digits of recovery codes: none that read like another (0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Characters in a recovery code, shown in two groups of five (49 bits).
const RECOVERY_LENGTH: usize = 10;

/// What an enrolling user copies into their authenticator app.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Setup {
    /// The secret in base32, in groups of four, for typing it in.
    pub key: String,
    /// The `otpauth://` address the QR code holds.
    pub url: String,
    /// The QR code, an SVG drawing.
    pub qr_svg: String,
}

/// What the code at the second sign-in step turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// The authenticator's code for this or a neighbouring time step, not used before.
    Totp,
    /// An unused recovery code; this many are left.
    RecoveryCode { left: i64 },
    /// One of the user's passkeys (`accounts::passkeys::check_second_factor`).
    Passkey,
    /// None of these: wrong, or used already.
    Wrong,
    /// Two-factor sign-in is off (turned off since the password step).
    Off,
    /// The stored secret does not open under this `SESSION_SECRET`: no code can be
    /// checked, so none counts as wrong.
    Unreadable,
}

/// The authenticator for `secret`: six digits, 30-second steps, and a code of the
/// step before or after accepted too (a phone's clock drifts, a user types slowly).
fn authenticator(secret: Vec<u8>) -> Builder {
    Builder::new()
        .with_secret(secret)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
}

/// Seconds since 1970: the clock TOTP counts steps with.
fn unix_seconds(now: NaiveDateTime) -> u64 {
    u64::try_from(now.and_utc().timestamp()).unwrap_or_default()
}

/// Starts (or restarts) enrolment for user `user_id` with a new secret; false when
/// two-factor sign-in is on already.
pub fn start_enrolment(
    conn: &mut DbConn,
    keys: &Keys,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let mut secret = [0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
    let sealed = keys.seal_two_factor_secret(user_id, &secret);
    two_factor::start_enrolment(conn, user_id, &sealed, now)
}

/// The key, address and QR code of the unfinished enrolment `row`, or `None` when
/// it is finished (the secret is never shown again) or its secret does not open.
pub fn setup(
    keys: &Keys,
    row: &two_factor::TwoFactor,
    issuer: &str,
    account: &str,
) -> Option<Setup> {
    if row.enabled_at.is_some() {
        return None;
    }
    let secret = keys.open_two_factor_secret(row.user_id, &row.secret_sealed)?;
    // The `otpauth://` label separates issuer and account with a colon.
    let label = |text: &str| text.replace(':', " ");
    let totp = authenticator(secret)
        .with_issuer(Some(label(issuer)))
        .with_account_name(label(account))
        .build()
        .ok()?;
    let url = totp.to_url().ok()?;
    let qr_svg = QrCode::with_error_correction_level(&url, EcLevel::M)
        .ok()?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // In groups of four, as people copy it.
    let key = totp.secret().to_base32();
    let key = key
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group))
        .collect::<Vec<_>>()
        .join(" ");
    // Inline in HTML: the XML declaration before `<svg` has no place there.
    let qr_svg = qr_svg
        .find("<svg")
        .map(|start| qr_svg[start..].to_owned())?;
    Some(Setup { key, url, qr_svg })
}

/// The app's code in what was typed: six digits, "123 456" and "123-456" too.
fn six_digits(typed: &str) -> Option<String> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The time step `code` is valid for at `now` (±1 step), under `secret`.
fn matching_step(secret: Vec<u8>, code: &str, now: NaiveDateTime) -> Option<i64> {
    let code = six_digits(code)?;
    let totp = authenticator(secret).build().ok()?;
    totp.check(&code, unix_seconds(now))
        .and_then(|step| i64::try_from(step).ok())
}

/// Finishes enrolment with the authenticator's first code: two-factor sign-in is on,
/// ten recovery codes are made, the owner gets `enabled_mail`, and every session of the
/// user ends (the caller renews its own), so none that only had the password stays. Returns the recovery
/// codes (to show once), or `None` when the code is wrong or there is no enrolment.
pub fn finish_enrolment(
    conn: &mut DbConn,
    keys: &Keys,
    account: (i64, &str),
    code: &str,
    ip: &str,
    enabled_mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<Option<Vec<String>>> {
    let (user_id, _) = account;
    db::write_transaction(conn, |conn| {
        let Some(row) = two_factor::find(conn, user_id)? else {
            return Ok(None);
        };
        let secret = keys.open_two_factor_secret(user_id, &row.secret_sealed);
        let Some(step) = secret.and_then(|secret| matching_step(secret, code, now)) else {
            return Ok(None);
        };
        if !two_factor::enable(conn, &row, step, now)? {
            return Ok(None);
        }
        let codes = replace_recovery_codes(conn, keys, user_id, now)?;
        session::delete_user_sessions(conn, user_id)?;
        outbox::enqueue(conn, Some(user_id), enabled_mail, now)?;
        let event = NewAuditEvent::by_owner(account, "account.two_factor_enable", ip, now);
        audit_event::record(conn, &event)?;
        Ok(Some(codes))
    })
}

/// New recovery codes for user `user_id`, replacing the old ones; `None` when
/// two-factor sign-in is off.
pub fn regenerate_recovery_codes(
    conn: &mut DbConn,
    keys: &Keys,
    account: (i64, &str),
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Vec<String>>> {
    let (user_id, _) = account;
    db::write_transaction(conn, |conn| {
        if !two_factor::is_enabled(conn, user_id)? {
            return Ok(None);
        }
        let codes = replace_recovery_codes(conn, keys, user_id, now)?;
        let event = NewAuditEvent::by_owner(account, "account.recovery_codes", ip, now);
        audit_event::record(conn, &event)?;
        Ok(Some(codes))
    })
}

fn replace_recovery_codes(
    conn: &mut DbConn,
    keys: &Keys,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let mut rng = rand::rng();
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_LENGTH)
                .map(|_| {
                    char::from(RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())])
                })
                .collect();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|code| keys.recovery_code_hash(user_id, &normalise_recovery_code(code)))
        .collect();
    recovery_code::replace(conn, user_id, &hashes, now)?;
    Ok(codes)
}

/// A recovery code as typed, reduced to what it is made of: case, spaces and the
/// dash do not matter.
fn normalise_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Checks the code typed at the second sign-in step: six digits are the
/// authenticator's code, anything else a recovery code. Either works once. Call it
/// inside the sign-in's transaction.
pub fn check_second_factor(
    conn: &mut DbConn,
    keys: &Keys,
    user_id: i64,
    typed: &str,
    now: NaiveDateTime,
) -> QueryResult<SecondFactor> {
    let Some(row) = two_factor::find(conn, user_id)?.filter(|row| row.enabled_at.is_some()) else {
        return Ok(SecondFactor::Off);
    };
    // Recovery codes are keyed from the same secret: none would match either.
    let Some(secret) = keys.open_two_factor_secret(user_id, &row.secret_sealed) else {
        tracing::error!(
            user_id,
            "the two-factor secret does not open: was SESSION_SECRET changed? \
             An administrator can reset the user's second factor"
        );
        return Ok(SecondFactor::Unreadable);
    };
    if six_digits(typed).is_some() {
        let accepted = match matching_step(secret, typed, now) {
            Some(step) => two_factor::accept_step(conn, user_id, step)?,
            None => false,
        };
        return Ok(if accepted {
            SecondFactor::Totp
        } else {
            SecondFactor::Wrong
        });
    }
    let code = normalise_recovery_code(typed);
    if code.len() != RECOVERY_LENGTH {
        return Ok(SecondFactor::Wrong);
    }
    let hash = keys.recovery_code_hash(user_id, &code);
    if !recovery_code::use_code(conn, user_id, &hash, now)? {
        return Ok(SecondFactor::Wrong);
    }
    let left = recovery_code::count_unused(conn, user_id)?;
    Ok(SecondFactor::RecoveryCode { left })
}

/// Turns two-factor sign-in off for user `target` (or drops an unfinished
/// enrolment), with its recovery codes. When it was on: queues `off_mail` and writes
/// `action` to the audit log for `actor` (the owner, or an administrator). Says
/// whether it was on.
pub fn turn_off(
    conn: &mut DbConn,
    target: (i64, &str),
    actor: (i64, &str),
    action: &str,
    ip: &str,
    off_mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    db::write_transaction(conn, |conn| {
        turn_off_within(conn, target, actor, action, ip, off_mail, now)
    })
}

/// [`turn_off`], inside a write transaction the caller holds.
pub fn turn_off_within(
    conn: &mut DbConn,
    target: (i64, &str),
    actor: (i64, &str),
    action: &str,
    ip: &str,
    off_mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let (user_id, email) = target;
    let was_on = two_factor::delete(conn, user_id)?;
    recovery_code::delete_all(conn, user_id)?;
    if was_on {
        outbox::enqueue(conn, Some(user_id), off_mail, now)?;
        audit_event::record(
            conn,
            &NewAuditEvent {
                actor_id: Some(actor.0),
                actor_email: actor.1,
                action,
                target_id: Some(user_id),
                target_email: Some(email),
                ip,
                created_at: now,
            },
        )?;
    }
    Ok(was_on)
}
