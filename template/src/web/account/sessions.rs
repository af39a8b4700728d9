//! `GET /account/sessions`: every live session of the user, with the browser, address
//! and times; `POST /account/sessions/{id}/sign-out` and
//! `POST /account/sessions/sign-out-others` end them (in sudo mode).

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Serialize;

use crate::accounts::sessions::{sign_out_other_sessions, sign_out_session};
use crate::models::session;
use crate::sessions::{Client, SESSION_ID_KEY};
use crate::web::auth::CurrentUser;
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;
use crate::web::sudo;

/// A session as the page shows it.
#[derive(Serialize)]
struct Row {
    id: i64,
    browser: String,
    system: String,
    ip: String,
    signed_in: String,
    last_seen: String,
    this_device: bool,
}

pub async fn index(
    CurrentUser(current): CurrentUser,
    state: State,
    mut page: Page,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let user_id = current.id;
    let this = current_session_id(&session);
    let sessions = state
        .db(move |conn, _| session::live_sessions_of(conn, user_id, now))
        .await?;
    let mut rows: Vec<Row> = sessions
        .into_iter()
        .map(|row| {
            let client = Client::of_stored_state(&row.state);
            let (browser, system) = client.browser_and_system();
            Row {
                id: row.id,
                browser,
                system,
                ip: client.ip,
                signed_in: row.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                last_seen: row.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                this_device: Some(row.id) == this,
            }
        })
        .collect();
    // This device first, then the most recently used.
    rows.sort_by_key(|row| !row.this_device);
    page.insert("sessions", &rows);
    page.render("account/sessions.html")
}

pub async fn sign_out(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    session: Session,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    sudo::require(&session, &state, paths::ACCOUNT_SESSIONS)?;
    let id = id.into_inner();
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let ended = state
        .db(move |conn, _| sign_out_session(conn, &current, id, &ip, now))
        .await?;
    if ended {
        FlashMessage::success("That session is signed out.").send();
    } else {
        FlashMessage::info("That session had ended already.").send();
    }
    Ok(see_other(paths::ACCOUNT_SESSIONS))
}

pub async fn sign_out_others(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    sudo::require(&session, &state, paths::ACCOUNT_SESSIONS)?;
    let keep = current_session_id(&session).ok_or(AppError::NotFound)?;
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let ended = state
        .db(move |conn, _| sign_out_other_sessions(conn, &current, keep, &ip, now))
        .await?;
    let message = match ended {
        0 => "No other session was signed in.".to_owned(),
        1 => "The other session is signed out.".to_owned(),
        n => format!("The {n} other sessions are signed out."),
    };
    FlashMessage::success(message).send();
    Ok(see_other(paths::ACCOUNT_SESSIONS))
}

/// The row id of the session this request came with.
fn current_session_id(session: &Session) -> Option<i64> {
    session.get::<i64>(SESSION_ID_KEY).ok().flatten()
}
