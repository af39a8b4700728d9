//! `GET/POST /verify` and `POST /verify/resend`: the emailed code.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::accounts::email::EmailAddress;
use crate::accounts::verification::{
    self, CodeMail, ResendOutcome, VerificationCode, VerifyOutcome,
};
use crate::secret::Secret;
use crate::web::auth::{home_for, sign_in};
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::pending::{
    clear_pending_cookie, pending_email, pending_resend_at, redirect_to_verify,
};
use crate::web::redirect::see_other;
use crate::web::state::State;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: Secret,
}

/// The address waiting for its code, as the pending cookie names it.
fn pending_address(req: &HttpRequest) -> Option<EmailAddress> {
    pending_email(req).and_then(|email| EmailAddress::parse(&email).ok())
}

pub async fn new(req: HttpRequest, state: State, page: Page) -> Result<HttpResponse, AppError> {
    let Some(email) = pending_address(&req) else {
        return Ok(see_other(paths::LOGIN));
    };
    render(&req, &state, page, &email, None, StatusCode::OK)
}

pub async fn create(
    req: HttpRequest,
    state: State,
    page: Page,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some(email) = pending_address(&req) else {
        return Ok(see_other(paths::LOGIN));
    };
    let Some(code) = VerificationCode::parse(form.code.expose()) else {
        let error = "Enter the 6-digit code from the email.";
        return render(
            &req,
            &state,
            page,
            &email,
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let now = state.now();
    let address = email.clone();
    let outcome = state
        .db(move |conn, state| {
            verification::verify(
                conn,
                &state.keys,
                &state.settings.accounts,
                &address,
                &code,
                now,
            )
        })
        .await?;
    let error = match outcome {
        VerifyOutcome::Verified(user) => {
            sign_in(&req, user.id, false)?;
            FlashMessage::success("Your email address is verified. Welcome!").send();
            let mut response = see_other(home_for(user.is_admin));
            response.add_cookie(&clear_pending_cookie(&state.cookie_names))?;
            return Ok(response);
        }
        VerifyOutcome::Wrong => "That code is not right. Check the email and try again.",
        VerifyOutcome::Expired => {
            "This code has expired or was tried too often. Send yourself a new one."
        }
    };
    render(
        &req,
        &state,
        page,
        &email,
        Some(error),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

pub async fn resend(req: HttpRequest, state: State) -> Result<HttpResponse, AppError> {
    let Some(email) = pending_address(&req) else {
        return Ok(see_other(paths::LOGIN));
    };
    let code = CodeMail::new(&state.mailer, email.as_str(), "")?;
    let now = state.now();
    let address = email.clone();
    let outcome = state
        .db(move |conn, state| {
            verification::resend(
                conn,
                &state.keys,
                &state.settings.accounts,
                &address,
                &code,
                now,
            )
        })
        .await?;
    match outcome {
        ResendOutcome::Sent => FlashMessage::info("We sent you a new code.").send(),
        ResendOutcome::TooSoon(seconds) => FlashMessage::warning(format!(
            "Please wait {seconds} seconds before asking for another code."
        ))
        .send(),
        ResendOutcome::HourlyLimit => {
            FlashMessage::warning("You asked for too many codes. Please try again in an hour.")
                .send();
        }
    }
    let resend_at = outcome.next_allowed(&state.settings.accounts, now);
    redirect_to_verify(&state, email.as_str(), resend_at)
}

/// Seconds until the server takes a request for a new code, from the pending cookie
/// (0 when it would take one now); the verify page counts down to it.
fn resend_countdown(req: &HttpRequest, now: NaiveDateTime) -> i64 {
    pending_resend_at(req).map_or(0, |resend_at| (resend_at - now).num_seconds().max(0))
}

fn render(
    req: &HttpRequest,
    state: &State,
    mut page: Page,
    email: &EmailAddress,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert(
        "code_minutes",
        &state.settings.accounts.code_lifetime.num_minutes(),
    )
    .insert("email", email.as_str())
    .insert("resend_countdown", &resend_countdown(req, state.now()))
    .insert("error", &error);
    page.render_with_status("auth/verify.html", status)
}
