//! What an administrator can do to an account, and the guards that keep the site
//! administrable: nobody disables, demotes or deletes themself, and the last active
//! administrator stays.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::verification::{self, CodeMail, ResendOutcome};
use crate::accounts::{AccountSettings, FlowError};
use crate::db::schema::{outbox_messages, password_reset_tokens, users, verification_codes};
use crate::db::{self, DbConn};
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::session;
use crate::models::user::{self, User};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Enable,
    Disable,
    Promote,
    Demote,
    Delete,
}

impl Action {
    /// The action named in a URL (`/admin/users/{id}/{action}`).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Enable,
            Self::Disable,
            Self::Promote,
            Self::Demote,
            Self::Delete,
        ]
        .into_iter()
        .find(|action| action.name() == name)
    }

    /// The name in URLs and, as `admin.<name>`, in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Enable => "enable",
            Self::Disable => "disable",
            Self::Promote => "promote",
            Self::Demote => "demote",
            Self::Delete => "delete",
        }
    }

    /// True when it can leave the site with one administrator fewer.
    fn removes_admin_rights(self) -> bool {
        matches!(self, Self::Disable | Self::Demote | Self::Delete)
    }

    /// What was done to `email`, for the flash message.
    pub fn done(self, email: &str) -> String {
        match self {
            Self::Enable => format!("{email} can sign in again."),
            Self::Disable => format!("{email} is disabled and signed out everywhere."),
            Self::Promote => format!("{email} is now an administrator."),
            Self::Demote => format!("{email} is no longer an administrator."),
            Self::Delete => format!("{email} and everything of theirs is deleted."),
        }
    }
}

/// Why an action was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("There is no such user.")]
    NotFound,
    #[error("You cannot disable, demote or delete your own account. Ask another administrator.")]
    Yourself,
    #[error("{0} is the last active administrator. Promote someone else first.")]
    LastAdmin(String),
}

/// The administrator acting, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub email: String,
    pub ip: String,
}

/// Carries out `action` on user `target_id` for `actor`, and writes it to the audit
/// log, in one transaction: the guards and the change see the same state.
pub fn apply(
    conn: &mut DbConn,
    actor: &Actor,
    target_id: i64,
    action: Action,
    now: NaiveDateTime,
) -> QueryResult<Result<User, Refusal>> {
    db::write_transaction(conn, |conn| {
        let Some(target) = user::get_user(conn, target_id)? else {
            return Ok(Err(Refusal::NotFound));
        };
        if action.removes_admin_rights() {
            if target.id == actor.id {
                return Ok(Err(Refusal::Yourself));
            }
            if target.is_admin && target.is_active {
                // Two admins removing each other at once must not both succeed.
                db::lock_admin_rows(conn)?;
                if user::count_active_admins(conn)? <= 1 {
                    return Ok(Err(Refusal::LastAdmin(target.email)));
                }
            }
        }
        let row = users::table.find(target.id);
        match action {
            Action::Enable => set_flags(conn, target.id, Some(true), None, now)?,
            Action::Disable => {
                set_flags(conn, target.id, Some(false), None, now)?;
                session::delete_user_sessions(conn, target.id, None)?;
            }
            Action::Promote => set_flags(conn, target.id, None, Some(true), now)?,
            Action::Demote => set_flags(conn, target.id, None, Some(false), now)?,
            Action::Delete => {
                // The foreign keys cascade too; deleting explicitly keeps this
                // correct even where they are not enforced.
                session::delete_user_sessions(conn, target.id, None)?;
                diesel::delete(
                    verification_codes::table.filter(verification_codes::user_id.eq(target.id)),
                )
                .execute(conn)?;
                diesel::delete(
                    password_reset_tokens::table
                        .filter(password_reset_tokens::user_id.eq(target.id)),
                )
                .execute(conn)?;
                diesel::delete(
                    outbox_messages::table.filter(outbox_messages::user_id.eq(target.id)),
                )
                .execute(conn)?;
                diesel::delete(row).execute(conn)?;
            }
        }
        record(
            conn,
            actor,
            &format!("admin.{}", action.name()),
            &target,
            now,
        )?;
        Ok(Ok(target))
    })
}

/// What became of an administrator's "resend verification".
#[derive(Debug)]
pub enum Resent {
    NotFound,
    /// The address is verified already; nothing was sent. Holds the address.
    AlreadyVerified(String),
    /// A code was due (or refused by the limits) for this address.
    Code(String, ResendOutcome),
}

/// Mails the unverified user `target_id` a new code, as if they had asked for it
/// themself (the cooldown and the hourly cap hold for administrators too), and when
/// it went, writes that to the audit log.
pub fn resend_verification(
    conn: &mut DbConn,
    mailer: &Mailer,
    keys: &Keys,
    settings: &AccountSettings,
    actor: &Actor,
    target_id: i64,
    now: NaiveDateTime,
) -> Result<Resent, FlowError> {
    let Some(target) = user::get_user(conn, target_id)? else {
        return Ok(Resent::NotFound);
    };
    if target.email_verified_at.is_some() {
        return Ok(Resent::AlreadyVerified(target.email));
    }
    let code = CodeMail::new(mailer, &target.email, &target.name)?;
    let outcome = db::write_transaction(conn, |conn| {
        let outcome =
            verification::send_code_within_limits(conn, keys, settings, target.id, &code, now)?;
        if outcome == ResendOutcome::Sent {
            record(conn, actor, "admin.resend_verification", &target, now)?;
        }
        QueryResult::Ok(outcome)
    })?;
    Ok(Resent::Code(target.email, outcome))
}

/// Writes what `actor` did to `target` to the audit log.
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    target: &User,
    now: NaiveDateTime,
) -> QueryResult<()> {
    audit_event::record(
        conn,
        &NewAuditEvent {
            actor_id: Some(actor.id),
            actor_email: &actor.email,
            action,
            target_id: Some(target.id),
            target_email: Some(&target.email),
            ip: &actor.ip,
            created_at: now,
        },
    )
}

fn set_flags(
    conn: &mut DbConn,
    id: i64,
    is_active: Option<bool>,
    is_admin: Option<bool>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let row = users::table.find(id);
    if let Some(is_active) = is_active {
        diesel::update(row)
            .set((users::is_active.eq(is_active), users::updated_at.eq(now)))
            .execute(conn)?;
    }
    if let Some(is_admin) = is_admin {
        diesel::update(row)
            .set((users::is_admin.eq(is_admin), users::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}
