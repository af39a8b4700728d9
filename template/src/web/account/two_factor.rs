//! `/account/two-factor`: a signed-in user turns two-factor sign-in on (a QR code and
//! the key, then the app's first code), makes new recovery codes, or turns it off.
//! Starting, seeing the key, new codes and turning off need sudo mode.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::two_factor::{
    self, RECOVERY_CODES, finish_enrolment, regenerate_recovery_codes, start_enrolment, turn_off,
};
use crate::mail::Email;
use crate::models::{recovery_code, two_factor as rows};
use crate::secret::Secret;
use crate::sessions::SessionUser;
use crate::web::auth::CurrentUser;
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;
use crate::web::sudo;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: Secret,
}

pub async fn show(
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
    session: Session,
) -> Result<HttpResponse, AppError> {
    render(&state, page, &session, &current, None, StatusCode::OK).await
}

/// `POST /account/two-factor`: a new secret to enrol with.
pub async fn start(
    CurrentUser(current): CurrentUser,
    state: State,
    session: Session,
) -> Result<HttpResponse, AppError> {
    sudo::require(&session, &state, paths::ACCOUNT_TWO_FACTOR)?;
    let now = state.now();
    let user_id = current.id;
    state
        .db(move |conn, state| start_enrolment(conn, &state.keys, user_id, now))
        .await?;
    Ok(see_other(paths::ACCOUNT_TWO_FACTOR))
}

/// `POST /account/two-factor/enable`: the app's first code finishes enrolment.
pub async fn enable(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
    session: Session,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let mail = state.mailer.compose(
        &current.email,
        &Email::TwoFactorEnabled {
            name: current.name.clone(),
        },
    )?;
    let now = state.now();
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let (user_id, email) = (current.id, current.email.clone());
    let code = form.into_inner().code;
    let codes = state
        .db(move |conn, state| {
            let account = (user_id, email.as_str());
            finish_enrolment(conn, &state.keys, account, code.expose(), &ip, &mail, now)
        })
        .await?;
    match codes {
        Some(codes) => {
            // Every session was ended; this one continues under a new id, with its state.
            session.renew();
            show_codes(page, &codes, true)
        }
        None => {
            let error = "That code is not right. Enter the 6-digit code your app shows now.";
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&state, page, &session, &current, Some(error), status).await
        }
    }
}

/// `POST /account/two-factor/recovery-codes`: new recovery codes; the old ones stop working.
pub async fn regenerate(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
    session: Session,
) -> Result<HttpResponse, AppError> {
    sudo::require(&session, &state, paths::ACCOUNT_TWO_FACTOR)?;
    let now = state.now();
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let (user_id, email) = (current.id, current.email.clone());
    let codes = state
        .db(move |conn, state| {
            regenerate_recovery_codes(conn, &state.keys, (user_id, email.as_str()), &ip, now)
        })
        .await?;
    match codes {
        Some(codes) => show_codes(page, &codes, false),
        None => Ok(see_other(paths::ACCOUNT_TWO_FACTOR)),
    }
}

/// `POST /account/two-factor/disable`: turns it off, or drops an unfinished set-up.
pub async fn disable(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    session: Session,
) -> Result<HttpResponse, AppError> {
    sudo::require(&session, &state, paths::ACCOUNT_TWO_FACTOR)?;
    let mail = state.mailer.compose(
        &current.email,
        &Email::TwoFactorDisabled {
            name: current.name.clone(),
            by_admin: false,
        },
    )?;
    let now = state.now();
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let (user_id, email) = (current.id, current.email.clone());
    let was_on = state
        .db(move |conn, _| {
            let account = (user_id, email.as_str());
            turn_off(
                conn,
                account,
                account,
                "account.two_factor_disable",
                &ip,
                &mail,
                now,
            )
        })
        .await?;
    if was_on {
        FlashMessage::success("Two-factor sign-in is off. Your password alone signs you in.")
            .send();
    }
    Ok(see_other(paths::ACCOUNT_TWO_FACTOR))
}

/// The page in the state the account is in: off, enrolling (in sudo mode only: it
/// shows the key), or on.
async fn render(
    state: &State,
    mut page: Page,
    session: &Session,
    current: &SessionUser,
    code_error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user_id = current.id;
    let (row, left) = state
        .db(move |conn, _| {
            let row = rows::find(conn, user_id)?;
            let left = recovery_code::count_unused(conn, user_id)?;
            diesel::QueryResult::Ok((row, left))
        })
        .await?;
    if let Some(row) = &row {
        match row.enabled_at {
            Some(enabled_at) => {
                page.insert(
                    "enabled_at",
                    &enabled_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                )
                .insert("codes_left", &left);
            }
            None => {
                sudo::require(session, state, paths::ACCOUNT_TWO_FACTOR)?;
                let app_name = &state.settings.brand.name;
                let setup = two_factor::setup(&state.keys, row, app_name, &current.email);
                page.insert("setup", &setup);
            }
        }
    }
    page.insert("code_error", &code_error)
        .insert("recovery_codes_made", &RECOVERY_CODES);
    page.render_with_status("account/two_factor.html", status)
}

/// The recovery codes, shown this once.
fn show_codes(
    mut page: Page,
    codes: &[String],
    enabled_now: bool,
) -> Result<HttpResponse, AppError> {
    page.insert("recovery_codes", codes)
        .insert("enabled_now", &enabled_now);
    page.render("account/two_factor_codes.html")
}
