//! The outbox: mail is written in the same transaction as the change that causes it
//! and sent later by the worker, so a crash or a provider outage loses nothing.
//!
//! Rows are claimed with a lease (`locked_until`) taken by a conditional update, which
//! every supported database applies atomically: of two instances claiming one row, one
//! updates it and the other sees no row changed. A worker that dies mid-send holds its
//! rows only until the lease runs out.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::outbox_messages as outbox;
use crate::mail::message::OutgoingEmail;
use crate::models::outbox::{NewOutboxMessage, OutboxMessage};

/// How long a claimed message stays reserved for its worker. Far longer than a send may
/// take (transports time out after seconds), so a live worker never loses a message to
/// another, while a dead worker's messages are picked up a few minutes later.
pub const LEASE: Duration = Duration::minutes(5);

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
}

/// Queues `email` for delivery. Call it inside the transaction that makes the change
/// the message is about, so the two are committed (or rolled back) together.
pub fn enqueue(
    conn: &mut DbConn,
    user_id: Option<i64>,
    email: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values(NewOutboxMessage {
            user_id,
            recipient: &email.to,
            subject: &email.subject,
            text_body: &email.text_body,
            html_body: &email.html_body,
            created_at: now,
            next_attempt_at: now,
            attempts: 0,
        })
        .execute(conn)?;
    Ok(())
}

/// Takes up to `limit` due messages for this worker until `now + LEASE`, oldest first.
/// Run it outside a transaction: each claim must commit on its own.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxMessage>> {
    let candidates: Vec<i64> = outbox::table
        .filter(due(now))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .limit(limit)
        .select(outbox::id)
        .load(conn)?;

    let mut claimed = Vec::with_capacity(candidates.len());
    for id in candidates {
        // Repeating the due condition makes the update a compare-and-set: it changes
        // nothing if another worker claimed (or sent) the row since the select.
        let updated = diesel::update(outbox::table.find(id).filter(due(now)))
            .set(outbox::locked_until.eq(now + LEASE))
            .execute(conn)?;
        if updated == 1 {
            claimed.push(id);
        }
    }
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    outbox::table
        .filter(outbox::id.eq_any(claimed))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .select(OutboxMessage::as_select())
        .load(conn)
}

/// Records a successful delivery. The bodies are dropped: they carry codes and reset
/// links, which should not outlive their purpose in the database.
pub fn mark_sent(
    conn: &mut DbConn,
    message: &OutboxMessage,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(outbox::table.find(message.id))
        .set((
            outbox::sent_at.eq(now),
            outbox::attempts.eq(message.attempts + 1),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::text_body.eq(""),
            outbox::html_body.eq(""),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes the records of messages sent before `before`. Given-up messages stay until
/// someone has looked at them.
pub fn purge_sent(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(outbox::table.filter(outbox::sent_at.lt(before))).execute(conn)
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
    let failure = if permanent || attempts >= MAX_ATTEMPTS {
        Failure::GaveUp
    } else {
        Failure::RetryAt(now + with_jitter(retry_delay(attempts)))
    };
    let (next_attempt_at, failed_at) = match failure {
        Failure::RetryAt(at) => (at, None),
        Failure::GaveUp => (message.next_attempt_at, Some(now)),
    };
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    diesel::update(outbox::table.find(message.id))
        .set((
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::failed_at.eq(failed_at),
            outbox::last_error.eq(error),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(failure)
}

/// Gives back claimed messages that were not attempted (the worker is stopping), so
/// another instance need not wait for the lease to run out.
pub fn release(conn: &mut DbConn, ids: &[i64]) -> QueryResult<()> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::sent_at.is_null()),
    )
    .set(outbox::locked_until.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
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

/// Unsent, not given up on, due, and not held by a live lease.
#[diesel::dsl::auto_type(no_type_alias)]
fn due(now: NaiveDateTime) -> _ {
    outbox::sent_at
        .is_null()
        .and(outbox::failed_at.is_null())
        .and(outbox::next_attempt_at.le(now))
        .and(
            outbox::locked_until
                .is_null()
                .or(outbox::locked_until.lt(now)),
        )
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
