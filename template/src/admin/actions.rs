//! What an administrator can do to an account, and the guards that keep the site
//! administrable: nobody disables, demotes or deletes themself, and the last active
//! administrator stays.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::accounts::deletion;
use crate::accounts::two_factor;
use crate::accounts::verification::{self, CodeMail, ResendOutcome};
use crate::accounts::{AccountSettings, FlowError};
use crate::db::{self, DbConn};
use crate::keys::Keys;
use crate::mail::{Email, Mailer, outbox};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::user::{self, User};
use crate::models::{passkey, session};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Enable,
    Disable,
    Promote,
    Demote,
    Delete,
    SignOut,
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
            Self::SignOut,
        ]
        .into_iter()
        .find(|action| action.name() == name)
    }

    /// The name in URLs and, as `admin.<name>` with `_` for `-`, in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Enable => "enable",
            Self::Disable => "disable",
            Self::Promote => "promote",
            Self::Demote => "demote",
            Self::Delete => "delete",
            Self::SignOut => "sign-out",
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
            Self::SignOut => format!("{email} is signed out everywhere."),
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
                if db::lock_active_admins(conn)? <= 1 {
                    return Ok(Err(Refusal::LastAdmin(target.email)));
                }
            }
        }
        match action {
            Action::Enable => user::set_active(conn, target.id, true, now)?,
            Action::Disable => {
                user::set_active(conn, target.id, false, now)?;
                session::delete_user_sessions(conn, target.id)?;
            }
            Action::Promote => user::set_admin(conn, target.id, true, now)?,
            Action::Demote => user::set_admin(conn, target.id, false, now)?,
            Action::Delete => deletion::erase_user(conn, target.id)?,
            Action::SignOut => {
                session::delete_user_sessions(conn, target.id)?;
            }
        }
        record(
            conn,
            actor,
            &format!("admin.{}", action.name().replace('-', "_")),
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
            // For whichever browser the user enters it in.
            verification::send_code_within_limits(conn, keys, settings, target.id, &code, None, now)?;
        if outcome == ResendOutcome::Sent {
            record(conn, actor, "admin.resend_verification", &target, now)?;
        }
        QueryResult::Ok(outcome)
    })?;
    Ok(Resent::Code(target.email, outcome))
}

/// Turns off two-factor sign-in and removes the passkeys of user `target_id`, who
/// lost their authenticator, recovery codes or passkeys (checking who asks is up to
/// the administrator), mails them, and writes it to the audit log. Returns the user
/// and whether there was anything to reset; `None` when there is no such user.
pub fn reset_two_factor(
    conn: &mut DbConn,
    mailer: &Mailer,
    actor: &Actor,
    target_id: i64,
    now: NaiveDateTime,
) -> Result<Option<(User, bool)>, FlowError> {
    let Some(target) = user::get_user(conn, target_id)? else {
        return Ok(None);
    };
    let mail = mailer.compose(
        &target.email,
        &Email::TwoFactorDisabled {
            name: target.name.clone(),
            by_admin: true,
        },
    )?;
    let reset = db::write_transaction(conn, |conn| {
        let passkeys = passkey::delete_all(conn, target.id)?;
        // Mails and audits when two-factor sign-in was on…
        let was_on = two_factor::turn_off_within(
            conn,
            (target.id, &target.email),
            (actor.id, &actor.email),
            "admin.reset_two_factor",
            &actor.ip,
            &mail,
            now,
        )?;
        // …and here when only passkeys were removed.
        if passkeys > 0 && !was_on {
            outbox::enqueue(conn, Some(target.id), &mail, now)?;
            record(conn, actor, "admin.reset_two_factor", &target, now)?;
        }
        QueryResult::Ok(was_on || passkeys > 0)
    })?;
    Ok(Some((target, reset)))
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
