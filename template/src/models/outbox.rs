use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::outbox_messages;

/// A message in the outbox: waiting, being sent, sent, or given up on.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = outbox_messages)]
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
}

/// The columns a queued message is created with.
#[derive(Debug, Insertable)]
#[diesel(table_name = outbox_messages)]
pub struct NewOutboxMessage<'a> {
    pub user_id: Option<i64>,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub attempts: i32,
}
