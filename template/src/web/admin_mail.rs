//! `GET /admin/mail`: mail not sent yet, waiting or given up on; and
//! `POST /admin/mail/{id}/{retry|discard}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Serialize;

use crate::admin::mail::{self, MailAction, MailRefusal};
use crate::models::outbox;
use crate::web::admin::actor;
use crate::web::auth::AdminUser;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;

/// More than a page should ever need: mail that piles up is a problem the dashboard
/// already shows.
const LIMIT: i64 = 200;

/// A message as the page shows it: who, what and why, never the text.
#[derive(Serialize)]
struct Row {
    id: i64,
    recipient: String,
    kind: String,
    queued: String,
    attempts: i32,
    given_up: bool,
    /// When it goes next, or when it was given up on.
    when: String,
    last_error: String,
}

pub async fn show(
    _admin: AdminUser,
    state: State,
    mut page: Page,
) -> Result<HttpResponse, AppError> {
    let messages = state.db(|conn, _| outbox::list_unsent(conn, LIMIT)).await?;
    let format = "%Y-%m-%d %H:%M UTC";
    let rows: Vec<Row> = messages
        .into_iter()
        .map(|message| Row {
            id: message.id,
            recipient: message.recipient,
            kind: message.kind.replace('_', " "),
            queued: message.created_at.format(format).to_string(),
            attempts: message.attempts,
            given_up: message.failed_at.is_some(),
            when: message
                .failed_at
                .unwrap_or(message.next_attempt_at)
                .format(format)
                .to_string(),
            last_error: message.last_error.unwrap_or_default(),
        })
        .collect();
    page.insert("rows", &rows).insert("limit", &LIMIT);
    page.render("admin/mail.html")
}

/// Sends an unsent mail again now, or discards it; then back to the list with a
/// message, or a 409 page saying why not.
pub async fn act(
    req: HttpRequest,
    admin: AdminUser,
    state: State,
    mut page: Page,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action_name) = path.into_inner();
    let action = MailAction::parse(&action_name).ok_or(AppError::NotFound)?;
    let actor = actor(&req, admin, &state);
    let now = state.now();
    let outcome = state
        .db(move |conn, _| mail::apply(conn, &actor, id, action, now))
        .await?;
    match outcome {
        Ok(recipient) => {
            FlashMessage::success(action.done(&recipient)).send();
            Ok(see_other(paths::ADMIN_MAIL))
        }
        Err(MailRefusal::NotFound) => Err(AppError::NotFound),
        Err(refusal) => {
            page.insert("message", &refusal.to_string())
                .insert("back", paths::ADMIN_MAIL)
                .insert("section", "mail");
            page.render_with_status("admin/refused.html", StatusCode::CONFLICT)
        }
    }
}
