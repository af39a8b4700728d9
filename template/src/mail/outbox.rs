//! The outbox: mail is written in the same transaction as the change that causes it
//! and sent later by the worker, so a crash or a provider outage loses nothing.
//!
//! A worker claims each message right before sending it (up to
//! `MAIL_CONCURRENT_SENDS` at once), with a lease (`locked_until`) taken by a
//! conditional update, which every supported database applies atomically: of two
//! instances claiming one row, one updates it and the other sees no row changed. Where
//! the database has row locks, a claimer passes over rows another is claiming instead
//! of waiting for them (`FOR UPDATE SKIP LOCKED`). A worker that dies mid-send holds
//! its message only until the lease runs out. Each lease carries a random token that
//! the outcome (sent, failed, paused) must name: a worker that outlived its lease (a
//! frozen process, a clock far behind the others) records nothing over the worker that
//! took the message over. Instances' clocks must agree within `LEASE` less the send
//! timeout (four minutes), which any synchronised clock does. This module holds the
//! policy (lease, order, backoff); the queries are in `models::outbox`.

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

use crate::db::DbConn;
use crate::keys::random_token;
use crate::mail::message::OutgoingEmail;
use crate::models;
use crate::models::outbox::{NewOutboxMessage, OutboxMessage};

/// How long a claimed message stays reserved for its worker. Far longer than a send may
/// take (transports time out after seconds), so a live worker never loses a message to
/// another, while a dead worker's messages are picked up a few minutes later.
pub const LEASE: Duration = Duration::minutes(5);

/// Kinds that carry a code or a link that expires: sent before every other kind, so a
/// backlog of notices never delays one past its use. A new kind of that sort belongs
/// here.
pub const URGENT_KINDS: &[&str] = &["verification_code", "email_change_code", "password_reset"];

/// Attempts before a message is given up on. With the backoff below, the last one comes
/// three to four hours after the first: long enough to ride out a provider outage.
pub const MAX_ATTEMPTS: i32 = 10;

const FIRST_RETRY: Duration = Duration::seconds(30);
const LONGEST_RETRY: Duration = Duration::hours(1);

/// Enough of `last_error` to diagnose; provider errors can carry whole responses.
const MAX_ERROR_CHARS: usize = 1000;

/// What became of a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Tried again at this time.
    RetryAt(NaiveDateTime),
    /// Given up on (dead letter): a permanent error or the last attempt.
    GaveUp,
    /// Nothing recorded: the lease had run out and another worker holds the message.
    LeaseLost,
}

/// Queues `email` for delivery. Call it inside the transaction that makes the change
/// the message is about, so the two are committed (or rolled back) together.
pub fn enqueue(
    conn: &mut DbConn,
    user_id: Option<i64>,
    email: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<()> {
    models::outbox::insert(
        conn,
        &NewOutboxMessage {
            user_id,
            kind: &email.kind,
            recipient: &email.to,
            subject: &email.subject,
            text_body: &email.text_body,
            html_body: &email.html_body,
            created_at: now,
            next_attempt_at: now,
            attempts: 0,
            priority: if URGENT_KINDS.contains(&email.kind.as_str()) {
                0
            } else {
                1
            },
        },
    )
}

/// How much of one kind of mail a visitor can make the app send to one account: a
/// reset link, a sign-up attempt notice, a lockout notice. Kept in the outbox, so it
/// holds across instances; the recipient's inbox is what it protects.
#[derive(Debug, Clone, Copy)]
pub struct RecipientLimits {
    /// Time between two messages of a kind (`MAIL_COOLDOWN_SECONDS`, default 60).
    pub cooldown: Duration,
    /// Messages of a kind per hour (`MAILS_PER_HOUR`, default 5).
    pub per_hour: i64,
}

/// Queues `email` for user `user_id` unless its kind is over the account's limits;
/// true if queued. Inside the transaction of the change, with the account's row
/// locked (or being updated), so parallel requests cannot all pass the check.
pub fn enqueue_within_limits(
    conn: &mut DbConn,
    user_id: i64,
    email: &OutgoingEmail,
    limits: RecipientLimits,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let (sent, latest) =
        models::outbox::count_of_kind_since(conn, user_id, &email.kind, now - Duration::hours(1))?;
    let cooled_down = latest.is_none_or(|at| at + limits.cooldown <= now);
    if sent >= limits.per_hour || !cooled_down {
        return Ok(false);
    }
    enqueue(conn, Some(user_id), email, now)?;
    Ok(true)
}

/// Claims the next due message for this worker until `now + LEASE`, under a token of
/// its own; none when nothing is due. Run it outside a transaction: the claim must
/// commit on its own.
pub fn claim_next(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Option<OutboxMessage>> {
    claim_next_besides(conn, now, &[])
}

/// [`claim_next`], passing over the messages in `sending`: a worker never takes over
/// a message it is still sending itself, even past its lease (a process suspended
/// mid-send, a clock that jumped).
pub fn claim_next_besides(
    conn: &mut DbConn,
    now: NaiveDateTime,
    sending: &[i64],
) -> QueryResult<Option<OutboxMessage>> {
    models::outbox::lease_next(conn, now, now + LEASE, &random_token(16), sending)
}

/// Records a failed delivery: retried later with exponential backoff and jitter, or
/// given up on when the error is `permanent` or this was attempt [`MAX_ATTEMPTS`].
pub fn record_failure(
    conn: &mut DbConn,
    message: &OutboxMessage,
    error: &str,
    permanent: bool,
    now: NaiveDateTime,
) -> QueryResult<Failure> {
    let attempts = message.attempts + 1;
    let (failure, next_attempt_at, failed_at) = if permanent || attempts >= MAX_ATTEMPTS {
        (Failure::GaveUp, message.next_attempt_at, Some(now))
    } else {
        let at = now + with_jitter(retry_delay(attempts));
        (Failure::RetryAt(at), at, None)
    };
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    if models::outbox::record_failed_attempt(conn, message, next_attempt_at, failed_at, &error)? {
        Ok(failure)
    } else {
        Ok(Failure::LeaseLost)
    }
}

/// How long delivery waits after the provider refused our account or credentials:
/// short, so mail flows again soon after someone fixes them.
pub const PAUSE: Duration = Duration::minutes(1);

/// The start of `last_error` for mail held back by a refused account (the admin
/// dashboard shows why mail is paused).
pub const PAUSED: &str = "paused: ";

/// The provider refused our account or credentials while `message` was sent: it is
/// tried again after [`PAUSE`], without counting as an attempt, as it was never
/// judged; returns when (none when the lease had run out and another worker holds it).
pub fn pause(
    conn: &mut DbConn,
    message: &OutboxMessage,
    error: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    let next_attempt_at = now + PAUSE;
    let error: String = format!("{PAUSED}{error}")
        .chars()
        .take(MAX_ERROR_CHARS)
        .collect();
    let postponed = models::outbox::postpone(conn, message, next_attempt_at, &error)?;
    Ok(postponed.then_some(next_attempt_at))
}

/// The wait after failed attempt number `attempts`: 30 s, 1 min, 2 min, ... up to 1 h.
pub fn retry_delay(attempts: i32) -> Duration {
    // Thirty seconds doubled seven times passes the hour: more doublings change nothing.
    let doublings = (attempts - 1).clamp(0, 7);
    (FIRST_RETRY * (1 << doublings)).min(LONGEST_RETRY)
}

/// `delay` plus up to a quarter more, in whole seconds, so messages that failed together
/// (a provider outage) do not all come back in the same instant.
pub fn with_jitter(delay: Duration) -> Duration {
    let seconds = delay.num_seconds();
    Duration::seconds(seconds + rand::random_range(0..=seconds / 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let delays: Vec<i64> = (1..=MAX_ATTEMPTS)
            .map(|attempt| retry_delay(attempt).num_seconds())
            .collect();

        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn jitter_adds_up_to_a_quarter_and_varies() {
        let delay = Duration::seconds(3600);
        let jittered: Vec<i64> = (0..200).map(|_| with_jitter(delay).num_seconds()).collect();

        assert!(
            jittered
                .iter()
                .all(|seconds| (3600..=4500).contains(seconds))
        );
        let distinct: std::collections::HashSet<_> = jittered.iter().collect();
        assert!(distinct.len() > 50, "{distinct:?}");
    }
}
