//! What an administrator can do about mail that was not sent: send it again now, or
//! throw it away. Both are audited; neither touches a message a worker is sending.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::admin::actions::Actor;
use crate::db::{self, DbConn};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::outbox;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailAction {
    /// Due now, with a fresh count of attempts (given up on or not).
    Retry,
    Discard,
}

impl MailAction {
    /// The action named in a URL (`/admin/mail/{id}/{action}`).
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Retry, Self::Discard]
            .into_iter()
            .find(|action| action.name() == name)
    }

    /// The name in URLs and, as `admin.mail_<name>`, in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Discard => "discard",
        }
    }

    /// What was done, for the flash message.
    pub fn done(self, recipient: &str) -> String {
        match self {
            Self::Retry => format!("The mail to {recipient} goes out again now."),
            Self::Discard => format!("The mail to {recipient} is discarded."),
        }
    }
}

/// Why a mail action was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailRefusal {
    #[error("There is no such mail waiting: it was sent or discarded meanwhile.")]
    NotFound,
    #[error("The mail to {0} is being sent right now. Look again in a minute.")]
    Busy(String),
    #[error(
        "The mail to {0} was given up on over a week ago and its text is gone. Send it again from where it started (a new code, a new reset link)."
    )]
    Forgotten(String),
}

/// Carries out `action` on unsent message `id` and writes it to the audit log, in one
/// transaction; the recipient's address on success.
pub fn apply(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    action: MailAction,
    now: NaiveDateTime,
) -> QueryResult<Result<String, MailRefusal>> {
    db::write_transaction(conn, |conn| {
        let Some(message) = outbox::find_unsent(conn, id)? else {
            return Ok(Err(MailRefusal::NotFound));
        };
        let done = match action {
            MailAction::Retry => outbox::retry_now(conn, id, now)?,
            MailAction::Discard => outbox::discard(conn, id, now)?,
        };
        if !done {
            let recipient = message.recipient;
            let forgotten = action == MailAction::Retry && outbox::text_forgotten(conn, id)?;
            return Ok(Err(if forgotten {
                MailRefusal::Forgotten(recipient)
            } else {
                MailRefusal::Busy(recipient)
            }));
        }
        audit_event::record(
            conn,
            &NewAuditEvent {
                actor_id: Some(actor.id),
                actor_email: &actor.email,
                action: &format!("admin.mail_{}", action.name()),
                target_id: message.user_id,
                target_email: Some(&message.recipient),
                ip: &actor.ip,
                created_at: now,
            },
        )?;
        Ok(Ok(message.recipient))
    })
}
