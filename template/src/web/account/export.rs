//! `GET /account/export`: the user's own data as a JSON download, in sudo mode.

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use chrono::NaiveDateTime;
use serde::Serialize;

use crate::models::{audit_event, passkey, session, two_factor, user};
use crate::sessions::Client;
use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::paths;
use crate::web::state::State;
use crate::web::sudo;

/// Everything the app keeps about one user, as they download it.
#[derive(Serialize)]
struct Export {
    exported_at: String,
    profile: Profile,
    passkeys: Vec<PasskeyEntry>,
    sessions: Vec<SessionEntry>,
    audit_events: Vec<AuditEntry>,
}

#[derive(Serialize)]
struct Profile {
    id: i64,
    email: String,
    name: String,
    is_admin: bool,
    created_at: String,
    email_verified_at: Option<String>,
    last_login_at: Option<String>,
    /// When two-factor sign-in was turned on (the secret itself never leaves).
    two_factor_enabled_at: Option<String>,
}

/// A passkey: its name and dates (its public key is of no use to anyone else).
#[derive(Serialize)]
struct PasskeyEntry {
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

#[derive(Serialize)]
struct SessionEntry {
    user_agent: String,
    ip: String,
    signed_in_at: String,
    last_seen_at: String,
}

/// An audit entry by or about the user. What others did to the account is theirs to
/// know, who did it is not: an administrator's address and IP stay out, and so do
/// the accounts an administrator acted on.
#[derive(Serialize)]
struct AuditEntry {
    at: String,
    action: String,
    by: String,
    about: Option<String>,
    ip: Option<String>,
}

pub async fn download(
    CurrentUser(current): CurrentUser,
    state: State,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    sudo::require(&session, &state, paths::ACCOUNT_EXPORT)?;
    let user_id = current.id;
    let (account, second_factor, passkeys, sessions, events) = state
        .db(move |conn, _| {
            let account = user::get_user(conn, user_id)?;
            let second_factor = two_factor::find(conn, user_id)?;
            let passkeys = passkey::of_user(conn, user_id)?;
            let sessions = session::live_sessions_of(conn, user_id, now)?;
            let events = audit_event::events_about(conn, user_id)?;
            diesel::QueryResult::Ok((account, second_factor, passkeys, sessions, events))
        })
        .await?;
    let account = account.ok_or(AppError::NotFound)?;
    let export = Export {
        exported_at: iso(now),
        profile: Profile {
            id: account.id,
            email: account.email,
            name: account.name,
            is_admin: account.is_admin,
            created_at: iso(account.created_at),
            email_verified_at: account.email_verified_at.map(iso),
            last_login_at: account.last_login_at.map(iso),
            two_factor_enabled_at: second_factor.and_then(|row| row.enabled_at).map(iso),
        },
        passkeys: passkeys
            .into_iter()
            .map(|row| PasskeyEntry {
                name: row.name,
                created_at: iso(row.created_at),
                last_used_at: row.last_used_at.map(iso),
            })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|row| {
                let client = Client::of_stored_state(&row.state);
                SessionEntry {
                    user_agent: client.user_agent,
                    ip: client.ip,
                    signed_in_at: iso(row.created_at),
                    last_seen_at: iso(row.last_seen_at),
                }
            })
            .collect(),
        audit_events: events
            .into_iter()
            .map(|event| {
                let by_them = event.actor_id == Some(user_id);
                AuditEntry {
                    at: iso(event.created_at),
                    action: event.action,
                    by: if by_them {
                        event.actor_email
                    } else {
                        "an administrator".to_owned()
                    },
                    about: event
                        .target_email
                        .filter(|_| event.target_id == Some(user_id)),
                    ip: by_them.then_some(event.ip),
                }
            })
            .collect(),
    };
    let body = serde_json::to_string_pretty(&export).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(format!(
                "account-{}.json",
                account.id
            ))],
        })
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// A time as the export writes it: ISO 8601, UTC.
fn iso(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
