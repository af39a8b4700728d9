//! `GET/POST /account/email`: a signed-in user asks to move to a new address (with
//! their password); `POST /account/email/confirm` takes the code mailed there, and
//! `POST /account/email/cancel` drops the change.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::email::EmailAddress;
use crate::accounts::email_change::{
    ChangeOutcome, ChangeRequest, Confirmation, cancel_change, confirm_change, latest_change_done,
    pending_change, request_change,
};
use crate::accounts::verification::{CodeMail, ResendOutcome, VerificationCode};
use crate::mail::Email;
use crate::secret::Secret;
use crate::sessions::{SESSION_ID_KEY, SessionUser};
use crate::web::account::{LOCKED, PasswordCheck, check_current_password};
use crate::web::auth::CurrentUser;
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::forms::FieldErrors;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;
use crate::web::sudo;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailForm {
    email: String,
    current_password: Secret,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: Secret,
}

/// What the page shows besides the pending change.
#[derive(Default)]
struct View<'a> {
    email: &'a str,
    errors: FieldErrors,
    code_error: Option<&'static str>,
}

pub async fn edit(
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render(&state, page, &current, &View::default(), StatusCode::OK).await
}

pub async fn create(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
    session: Session,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut view = View {
        email: &form.email,
        ..View::default()
    };
    let new_email = match EmailAddress::parse(&form.email) {
        Ok(email) if email.as_str() == current.email => {
            view.errors
                .add("email", "That is the address you use now. Enter a new one.");
            None
        }
        Ok(email) => Some(email),
        Err(error) => {
            view.errors.add("email", error.to_string());
            None
        }
    };
    match check_current_password(&req, &state, current.id, form.current_password).await? {
        PasswordCheck::Right(_) => {}
        PasswordCheck::Wrong => view
            .errors
            .add("current_password", "That is not your current password."),
        PasswordCheck::Locked => view.errors.add("current_password", LOCKED),
    }
    let (Some(new_email), true) = (new_email, view.errors.is_empty()) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&state, page, &current, &view, status).await;
    };

    let now = state.now();
    // The password was just entered: sudo mode, as on the confirm page.
    sudo::start(&session, now)?;
    let code = CodeMail::for_new_address(&state.mailer, new_email.as_str(), &current.name)?;
    let attempt_mail = state.mailer.compose(
        new_email.as_str(),
        &Email::EmailChangeAttempt {
            name: String::new(),
        },
    )?;
    let user_id = current.id;
    let address = new_email.clone();
    let outcome = state
        .db(move |conn, state| {
            let request = ChangeRequest {
                new_email: &address,
                code: &code,
                attempt_mail: &attempt_mail,
            };
            let settings = &state.settings.accounts;
            request_change(conn, &state.keys, settings, user_id, &request, now)
        })
        .await?;
    let refusal = match outcome {
        // The page that follows says where the code went.
        ResendOutcome::Sent => return Ok(see_other(paths::ACCOUNT_EMAIL)),
        ResendOutcome::TooSoon(seconds) => {
            format!("Please wait {seconds} seconds before asking for another code.")
        }
        ResendOutcome::HourlyLimit => {
            "You asked for too many codes. Please try again in an hour.".to_owned()
        }
    };
    view.errors.add("email", refusal);
    render(&state, page, &current, &view, StatusCode::TOO_MANY_REQUESTS).await
}

pub async fn confirm(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
    session: Session,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Some(code) = VerificationCode::parse(form.code.expose()) else {
        let view = View {
            code_error: Some("Enter the 6-digit code from the email."),
            ..View::default()
        };
        return render(&state, page, &current, &view, unprocessable).await;
    };
    let now = state.now();
    let user_id = current.id;
    let pending = state
        .db(move |conn, state| pending_change(conn, &state.settings.accounts, user_id, now))
        .await?;
    let expired = View {
        code_error: Some("This code has expired or was tried too often. Ask for a new one."),
        ..View::default()
    };
    let Some(new_email) = pending else {
        return expired_unless_done(&state, page, &current, &expired).await;
    };
    let keep_session = session
        .get::<i64>(SESSION_ID_KEY)
        .ok()
        .flatten()
        .ok_or(AppError::NotFound)?;
    let changed_mail = state.mailer.compose(
        &current.email,
        &Email::EmailChanged {
            name: current.name.clone(),
            new_email: new_email.clone(),
        },
    )?;
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let address = new_email.clone();
    let outcome = state
        .db(move |conn, state| {
            let confirmation = Confirmation {
                user_id,
                new_email: &address,
                keep_session,
                ip: &ip,
                changed_mail: &changed_mail,
            };
            let settings = &state.settings.accounts;
            confirm_change(conn, &state.keys, settings, &confirmation, &code, now)
        })
        .await?;
    let view = match outcome {
        ChangeOutcome::Changed => {
            FlashMessage::success(format!(
                "You now sign in with {new_email}. Other devices have been signed out."
            ))
            .send();
            return Ok(see_other(paths::ACCOUNT));
        }
        ChangeOutcome::Wrong => View {
            code_error: Some("That code is not right. Check the email and try again."),
            ..View::default()
        },
        ChangeOutcome::Expired => {
            return expired_unless_done(&state, page, &current, &expired).await;
        }
        ChangeOutcome::Taken => {
            let mut view = View::default();
            view.errors.add(
                "email",
                "That address belongs to another account now. Choose another one.",
            );
            view
        }
    };
    render(&state, page, &current, &view, unprocessable).await
}

/// The answer to a code that finds no change to confirm: to a second copy of a form
/// whose first copy changed the address, the profile (where that first one's message
/// waits); otherwise the page saying the code has expired.
async fn expired_unless_done(
    state: &State,
    page: Page,
    current: &SessionUser,
    expired: &View<'_>,
) -> Result<HttpResponse, AppError> {
    let user_id = current.id;
    let done = state
        .db(move |conn, _| latest_change_done(conn, user_id))
        .await?;
    if done {
        return Ok(see_other(paths::ACCOUNT));
    }
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    render(state, page, current, expired, status).await
}

pub async fn cancel(
    CurrentUser(current): CurrentUser,
    state: State,
) -> Result<HttpResponse, AppError> {
    let (now, user_id) = (state.now(), current.id);
    state
        .db(move |conn, _| cancel_change(conn, user_id, now))
        .await?;
    FlashMessage::info(format!("Your address stays {}.", current.email)).send();
    Ok(see_other(paths::ACCOUNT_EMAIL))
}

async fn render(
    state: &State,
    mut page: Page,
    current: &SessionUser,
    view: &View<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (now, user_id) = (state.now(), current.id);
    let pending = state
        .db(move |conn, state| pending_change(conn, &state.settings.accounts, user_id, now))
        .await?;
    let code_minutes = state.settings.accounts.code_lifetime.num_minutes();
    page.insert("pending_email", &pending)
        .insert("code_minutes", &code_minutes)
        .insert("email", view.email)
        .insert("errors", &view.errors)
        .insert("code_error", &view.code_error);
    page.render_with_status("account/email.html", status)
}
