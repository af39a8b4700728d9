//! The outbox table: mail waiting to be sent, and what became of it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::outbox_messages as outbox;
use crate::db::{self, DbConn};

/// A message in the outbox: waiting, being sent, sent, or given up on.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: i64,
    /// The account the message is about, if any; its messages go when it is deleted.
    pub user_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: NaiveDateTime,
    /// Not sent before this time; pushed back after each failed attempt.
    pub next_attempt_at: NaiveDateTime,
    /// Delivery attempts so far, successful or not.
    pub attempts: i32,
    /// A worker holds the message until then; after that another may take it over.
    pub locked_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    /// Set when delivery was given up: a permanent error or too many attempts.
    pub failed_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    /// What it is: the template it was rendered from (`password_reset`, say).
    pub kind: String,
    /// Names the lease `locked_until` ends: an outcome is recorded only under the lease
    /// it was sent under.
    pub claim_token: Option<String>,
}

/// What the admin's mail page shows of an unsent message: never its subject or
/// bodies, which carry codes and links.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct UnsentMessage {
    pub id: i64,
    pub user_id: Option<i64>,
    pub recipient: String,
    pub kind: String,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub attempts: i32,
    pub failed_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

/// The columns a queued message is created with.
#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxMessage<'a> {
    pub user_id: Option<i64>,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub attempts: i32,
    /// 0 goes before 1: short-lived codes and links before notices.
    pub priority: i16,
}

/// Queues a message.
pub fn insert(conn: &mut DbConn, message: &NewOutboxMessage<'_>) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values(message)
        .execute(conn)?;
    Ok(())
}

/// Due messages a claim looks at: more than the workers that may be claiming at
/// once, so one of them is left for this one whenever the queue holds that many.
const CLAIM_CANDIDATES: i64 = 32;

/// Takes the next due message (urgent first, then the longest waiting) but those in
/// `besides`, holding it until `until` under `token`; none when nothing is due, or when
/// every due message is being claimed by other workers. Run it outside a transaction:
/// the claim must commit on its own.
pub fn lease_next(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
    token: &str,
    besides: &[i64],
) -> QueryResult<Option<OutboxMessage>> {
    let candidates: Vec<i64> = outbox::table
        .filter(due(now))
        .filter(outbox::id.ne_all(besides))
        .order((
            outbox::priority.asc(),
            outbox::next_attempt_at.asc(),
            outbox::id.asc(),
        ))
        .select(outbox::id)
        .limit(CLAIM_CANDIDATES)
        .load(conn)?;
    for id in candidates {
        // Where the database has row locks, a row another worker is claiming is passed
        // over, not waited for. Repeating the due condition makes the update a
        // compare-and-set besides: it changes nothing if another worker claimed (or
        // sent) the row since the select.
        let claimed = conn.transaction(|conn| {
            if !db::lock_outbox_row(conn, id)? {
                return Ok(false);
            }
            diesel::update(outbox::table.find(id).filter(due(now)))
                .set((
                    outbox::locked_until.eq(until),
                    outbox::claim_token.eq(token),
                ))
                .execute(conn)
                .map(|updated| updated == 1)
        })?;
        if claimed {
            return outbox::table
                .find(id)
                .select(OutboxMessage::as_select())
                .get_result(conn)
                .map(Some);
        }
    }
    Ok(None)
}

/// The message's row while `message`'s lease is still the one on it.
#[diesel::dsl::auto_type(no_type_alias)]
fn still_claimed<'a>(message: &'a OutboxMessage) -> _ {
    let id: i64 = message.id;
    let token: Option<&'a str> = message.claim_token.as_deref();
    outbox::table.find(id).filter(outbox::claim_token.eq(token))
}

/// Records a successful delivery. The bodies are dropped: they carry codes and reset
/// links, which should not outlive their purpose in the database. False when the
/// lease had run out and another worker holds the message now.
pub fn mark_sent(
    conn: &mut DbConn,
    message: &OutboxMessage,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(still_claimed(message))
        .set((
            outbox::sent_at.eq(now),
            outbox::attempts.eq(message.attempts + 1),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            // The subject too: a code's mail names the code in it.
            outbox::subject.eq(""),
            outbox::text_body.eq(""),
            outbox::html_body.eq(""),
            outbox::claim_token.eq(None::<String>),
        ))
        .execute(conn)
        .map(|updated| updated == 1)
}

/// Blanks the subject and bodies of up to `limit` messages given up on before
/// `before` (codes, links); the rows stay, counted on the admin dashboard.
pub fn forget_given_up(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = outbox::table
        .filter(outbox::failed_at.lt(before))
        .filter(outbox::text_body.ne(""))
        .select(outbox::id)
        .limit(limit)
        .load(conn)?;
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::subject.eq(""),
            outbox::text_body.eq(""),
            outbox::html_body.eq(""),
        ))
        .execute(conn)
}

/// Records a failed attempt: the attempt count, when to try next (or when it was given
/// up on) and why; the lease is released. False when the lease had run out and another
/// worker holds the message now.
pub fn record_failed_attempt(
    conn: &mut DbConn,
    message: &OutboxMessage,
    next_attempt_at: NaiveDateTime,
    failed_at: Option<NaiveDateTime>,
    error: &str,
) -> QueryResult<bool> {
    diesel::update(still_claimed(message))
        .set((
            outbox::attempts.eq(message.attempts + 1),
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::failed_at.eq(failed_at),
            outbox::last_error.eq(error),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::claim_token.eq(None::<String>),
        ))
        .execute(conn)
        .map(|updated| updated == 1)
}

/// Deletes the records of messages sent before `before`. Given-up messages stay until
/// someone has looked at them.
pub fn purge_sent(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = outbox::table
        .filter(outbox::sent_at.lt(before))
        .select(outbox::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(outbox::table.filter(outbox::id.eq_any(ids))).execute(conn)
}

/// How many messages of `kind` were queued for user `user_id` since `since`, and when
/// the latest of them was.
pub fn count_of_kind_since(
    conn: &mut DbConn,
    user_id: i64,
    kind: &str,
    since: NaiveDateTime,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    outbox::table
        .filter(outbox::user_id.eq(user_id))
        .filter(outbox::kind.eq(kind))
        .filter(outbox::created_at.ge(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::max(outbox::created_at),
        ))
        .get_result(conn)
}

/// Puts the claimed `message` back in the queue until `next_attempt_at`, with `error`,
/// without counting an attempt. False when the lease had run out meanwhile.
pub fn postpone(
    conn: &mut DbConn,
    message: &OutboxMessage,
    next_attempt_at: NaiveDateTime,
    error: &str,
) -> QueryResult<bool> {
    diesel::update(still_claimed(message))
        .set((
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::last_error.eq(error),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::claim_token.eq(None::<String>),
        ))
        .execute(conn)
        .map(|updated| updated == 1)
}

/// The error recorded on the waiting message due last: the latest word on why mail
/// is waiting, if any.
pub fn latest_unsent_error(conn: &mut DbConn) -> QueryResult<Option<String>> {
    Ok(outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .filter(outbox::last_error.is_not_null())
        .order(outbox::next_attempt_at.desc())
        .select(outbox::last_error)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Messages still to be sent (not sent and not given up on), and when the one waiting
/// longest was queued.
pub fn count_unsent(conn: &mut DbConn) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::created_at),
        ))
        .get_result(conn)
}

/// Messages given up on.
pub fn count_given_up(conn: &mut DbConn) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::failed_at.is_not_null())
        .count()
        .get_result(conn)
}

/// Up to `limit` messages not sent yet, waiting or given up on, the newest first.
pub fn list_unsent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<UnsentMessage>> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .order((outbox::created_at.desc(), outbox::id.desc()))
        .limit(limit)
        .select(UnsentMessage::as_select())
        .load(conn)
}

/// Unsent message `id`, if there is one.
pub fn find_unsent(conn: &mut DbConn, id: i64) -> QueryResult<Option<UnsentMessage>> {
    outbox::table
        .find(id)
        .filter(outbox::sent_at.is_null())
        .select(UnsentMessage::as_select())
        .get_result(conn)
        .optional()
}

/// Unsent message `id`, not held by a worker at `now`.
#[diesel::dsl::auto_type(no_type_alias)]
fn idle(id: i64, now: NaiveDateTime) -> _ {
    outbox::id.eq(id).and(outbox::sent_at.is_null()).and(
        outbox::locked_until
            .is_null()
            .or(outbox::locked_until.le(now)),
    )
}

/// Makes unsent message `id` due at `now` with a fresh count of attempts, given up on
/// or not. False when a worker holds it or its text is forgotten (nothing to send).
pub fn retry_now(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        outbox::table
            .filter(idle(id, now))
            .filter(outbox::text_body.ne("")),
    )
    .set((
        outbox::failed_at.eq(None::<NaiveDateTime>),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Whether message `id` lost its text (given up on over a week ago).
pub fn text_forgotten(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        outbox::table.find(id).filter(outbox::text_body.eq("")),
    ))
    .get_result(conn)
}

/// Deletes unsent message `id`; false when a worker holds it.
pub fn discard(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let deleted = diesel::delete(outbox::table.filter(idle(id, now))).execute(conn)?;
    Ok(deleted == 1)
}

/// Deletes every message about the user `user_id`.
pub fn delete_user_mail(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    diesel::delete(outbox::table.filter(outbox::user_id.eq(user_id))).execute(conn)?;
    Ok(())
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
