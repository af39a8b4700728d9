//! `/account/passkeys`: a signed-in user's passkeys (name, added, last used), adding
//! one (`static/js/passkeys.js` runs the browser's part) and removing one. Adding and
//! removing need sudo mode.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::accounts::passkeys::{self, Added, MAX_NAME_CHARS, Registration, clean_name};
use crate::mail::Email;
use crate::models::passkey;
use crate::web::auth::CurrentUser;
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::passkey_ceremony::{keep, options_response, take};
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;
use crate::web::sudo;

/// The form `static/js/passkeys.js` sends with the browser's answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    name: String,
    credential: String,
}

/// A passkey as the page lists it.
#[derive(Debug, Serialize)]
struct Listed {
    id: i64,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

pub async fn index(
    CurrentUser(current): CurrentUser,
    state: State,
    mut page: Page,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let user_id = current.id;
    let rows = state
        .db(move |conn, _| passkey::of_user(conn, user_id))
        .await?;
    let when = |at: chrono::NaiveDateTime| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let listed: Vec<Listed> = rows
        .into_iter()
        .map(|row| Listed {
            id: row.id,
            name: row.name,
            created_at: when(row.created_at),
            last_used_at: row.last_used_at.map(when),
        })
        .collect();
    let sudo = sudo::is_on(&session, state.now(), state.settings.sessions.sudo_timeout);
    page.insert("passkeys", &listed)
        .insert("sudo", &sudo)
        .insert("confirm_href", &sudo::confirm_href(paths::ACCOUNT_PASSKEYS))
        .insert("max_name_chars", &MAX_NAME_CHARS);
    page.render("account/passkeys.html")
}

/// `POST /account/passkeys/options`: a challenge to register a new passkey with.
pub async fn options(
    CurrentUser(current): CurrentUser,
    state: State,
    session: Session,
) -> Result<HttpResponse, AppError> {
    sudo::require(&session, &state, paths::ACCOUNT_PASSKEYS)?;
    if !state.passkeys.enabled() {
        return Err(AppError::NotFound);
    }
    let user_id = current.id;
    let rows = state
        .db(move |conn, _| passkey::of_user(conn, user_id))
        .await?;
    let (options, ceremony) =
        state
            .passkeys
            .start_registration(&current.email, &current.name, &rows)?;
    keep(&session, &state, ceremony).await?;
    Ok(options_response(&options))
}

/// `POST /account/passkeys`: the browser's answer; the passkey is added.
pub async fn create(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    session: Session,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, AppError> {
    sudo::require(&session, &state, paths::ACCOUNT_PASSKEYS)?;
    let form = form.into_inner();
    let ceremony = take(&session, &state).await?;
    let credential = serde_json::from_str::<RegisterPublicKeyCredential>(&form.credential).ok();
    let (Some(ceremony), Some(credential)) = (ceremony, credential) else {
        return Ok(failed());
    };
    let name = clean_name(&form.name).unwrap_or_else(|| "Passkey".to_owned());
    let mail = state.mailer.compose(
        &current.email,
        &Email::PasskeyAdded {
            name: current.name.clone(),
            passkey: name.clone(),
        },
    )?;
    let now = state.now();
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let (user_id, email) = (current.id, current.email.clone());
    let added = state
        .db(move |conn, state| {
            let registration = Registration {
                name: &name,
                credential: &credential,
                ceremony,
            };
            let account = (user_id, email.as_str());
            passkeys::finish_registration(
                conn,
                &state.passkeys,
                account,
                registration,
                &ip,
                &mail,
                now,
            )
        })
        .await?;
    match added {
        Added::Added => {
            FlashMessage::success("Passkey added. You can sign in with it now.").send();
        }
        Added::Duplicate => {
            FlashMessage::info("That passkey is added already.").send();
        }
        Added::Invalid => return Ok(failed()),
    }
    Ok(see_other(paths::ACCOUNT_PASSKEYS))
}

/// `POST /account/passkeys/{id}/remove`
pub async fn remove(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    sudo::require(&session, &state, paths::ACCOUNT_PASSKEYS)?;
    let id = path.into_inner();
    let now = state.now();
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let (user_id, email, owner) = (current.id, current.email.clone(), current.name.clone());
    let removed = state
        .db(move |conn, state| {
            let mail = |passkey: &str| {
                let notice = Email::PasskeyRemoved {
                    name: owner,
                    passkey: passkey.to_owned(),
                };
                state
                    .mailer
                    .compose(&email, &notice)
                    .inspect_err(|error| {
                        tracing::error!(%error, "cannot compose the passkey removed mail");
                    })
                    .ok()
            };
            passkeys::remove(conn, (user_id, email.as_str()), id, &ip, mail, now)
        })
        .await?;
    match removed {
        Some(name) => {
            FlashMessage::success(format!("Passkey \u{201c}{name}\u{201d} removed.")).send()
        }
        None => return Err(AppError::NotFound),
    }
    Ok(see_other(paths::ACCOUNT_PASSKEYS))
}

fn failed() -> HttpResponse {
    FlashMessage::error(
        "The passkey was not added: your browser's answer did not arrive or did not check out. Please try again.",
    )
    .send();
    see_other(paths::ACCOUNT_PASSKEYS)
}
