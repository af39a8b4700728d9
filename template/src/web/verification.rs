//! `GET/POST /verify` and `POST /verify/resend`: the emailed code.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::email::EmailAddress;
use crate::accounts::verification::{
    self, CodeMail, ResendOutcome, VerificationCode, VerifyOutcome,
};
use crate::keys::token_hash;
use crate::models::trusted_device;
use crate::secret::Secret;
use crate::web::auth::{home_for, sign_in};
use crate::web::device;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::pending::{
    Pending, clear_pending_cookie, pending, pending_cookie, redirect_to_verify,
};
use crate::web::redirect::see_other;
use crate::web::state::State;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: Secret,
}

/// The browser's pending verification and its address, if it has one.
fn pending_address(req: &HttpRequest) -> Option<(Pending, EmailAddress)> {
    let pending = pending(req)?;
    let email = EmailAddress::parse(&pending.email).ok()?;
    Some((pending, email))
}

pub async fn new(req: HttpRequest, state: State, page: Page) -> Result<HttpResponse, AppError> {
    let Some((pending, email)) = pending_address(&req) else {
        return Ok(see_other(paths::LOGIN));
    };
    render(&state, page, &pending, &email, None, StatusCode::OK)
}

pub async fn create(
    req: HttpRequest,
    state: State,
    page: Page,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some((mut pending, email)) = pending_address(&req) else {
        return Ok(see_other(paths::LOGIN));
    };
    let Some(code) = VerificationCode::parse(form.code.expose()) else {
        let error = "Enter the 6-digit code from the email.";
        return render(
            &state,
            page,
            &pending,
            &email,
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let now = state.now();
    let (address, browser) = (email.clone(), pending.browser());
    let outcome = state
        .db(move |conn, state| {
            let settings = &state.settings.accounts;
            verification::verify(conn, &state.keys, settings, &address, &code, &browser, now)
        })
        .await?;
    let settings = &state.settings.accounts;
    let expired = match outcome {
        VerifyOutcome::Verified(user) => {
            // The browser that proved the address is the owner's: it is trusted like
            // one that signed in, so signing in there later is no "new browser".
            let device_token = device::token_of(&req, &state.cookie_names);
            let device = token_hash(&device_token);
            let user_id = user.id;
            state
                .db(move |conn, _| trusted_device::trust(conn, &device, user_id, now))
                .await?;
            sign_in(&req, &state, user.id, false)?;
            FlashMessage::success("Your email address is verified. Welcome!").send();
            let mut response = see_other(home_for(user.is_admin));
            response.add_cookie(&clear_pending_cookie(&state.cookie_names))?;
            response.add_cookie(&device::cookie(&state.cookie_names, device_token))?;
            return Ok(response);
        }
        VerifyOutcome::Wrong => {
            pending.guessed_wrong(settings);
            false
        }
        VerifyOutcome::Expired => {
            pending.guessed_wrong(settings);
            true
        }
        VerifyOutcome::NoCode => pending.guessed_wrong(settings),
    };
    let error = if expired {
        "This code has expired or was tried too often. Send yourself a new one."
    } else {
        "That code is not right. Check the email and try again."
    };
    let mut response = render(
        &state,
        page,
        &pending,
        &email,
        Some(error),
        StatusCode::UNPROCESSABLE_ENTITY,
    )?;
    response.add_cookie(&pending_cookie(&state.keys, &state.cookie_names, &pending)?)?;
    Ok(response)
}

pub async fn resend(req: HttpRequest, state: State) -> Result<HttpResponse, AppError> {
    let Some((mut pending, email)) = pending_address(&req) else {
        return Ok(see_other(paths::LOGIN));
    };
    let code = CodeMail::new(&state.mailer, email.as_str(), "")?;
    let now = state.now();
    let (address, browser) = (email.clone(), pending.browser());
    let outcome = state
        .db(move |conn, state| {
            let settings = &state.settings.accounts;
            verification::resend(conn, &state.keys, settings, &address, &code, &browser, now)
        })
        .await?;
    match pending.resent(outcome, &state.settings.accounts, now) {
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
    redirect_to_verify(&state, &pending)
}

fn render(
    state: &State,
    mut page: Page,
    pending: &Pending,
    email: &EmailAddress,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    // The page counts down to when a new code may be asked for.
    let countdown = pending.countdown(state.now());
    page.insert(
        "code_minutes",
        &state.settings.accounts.code_lifetime.num_minutes(),
    )
    .insert("email", email.as_str())
    .insert("resend_countdown", &countdown)
    .insert("error", &error);
    page.render_with_status("auth/verify.html", status)
}
