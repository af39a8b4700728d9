//! `GET/POST /verify` and `POST /verify/resend`: the emailed code.

use actix_identity::Identity;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;
use tera::Tera;

use crate::accounts::verification::{self, ResendOutcome, VerifyOutcome};
use crate::auth::csrf::{SESSION_NONCE_KEY, new_nonce};
use crate::auth::pending::{
    clear_pending_cookie, pending_cookie, pending_email, pending_resend_at,
};
use crate::auth::{CookieNames, Keys};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::errors::AppError;
use crate::mail::Mailer;
use crate::models::User;
use crate::web::page::Page;
use crate::web::redirect::see_other;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

pub async fn new(
    req: HttpRequest,
    mut page: Page,
    tera: web::Data<Tera>,
    settings: web::Data<Settings>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let Some(email) = pending_email(&req) else {
        return Ok(see_other("/login"));
    };
    page.insert(
        "code_minutes",
        &settings.accounts.code_lifetime.num_minutes(),
    );
    let countdown = resend_countdown(&req, clock.now());
    render(page, &tera, &email, countdown, None, StatusCode::OK)
}

#[allow(clippy::too_many_arguments)]
pub async fn create(
    req: HttpRequest,
    mut page: Page,
    form: web::Form<CodeForm>,
    tera: web::Data<Tera>,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    keys: web::Data<Keys>,
    names: web::Data<CookieNames>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let Some(email) = pending_email(&req) else {
        return Ok(see_other("/login"));
    };
    page.insert(
        "code_minutes",
        &settings.accounts.code_lifetime.num_minutes(),
    );
    let countdown = resend_countdown(&req, clock.now());
    // Spaces and dashes are how people copy codes; digits are what counts.
    let code: String = form
        .code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !verification::is_code_shaped(&code) {
        let error = "Enter the 6-digit code from the email.";
        return render(
            page,
            &tera,
            &email,
            countdown,
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let now = clock.now();
    let account_settings = settings.accounts;
    let keys = keys.into_inner();
    let lookup_email = email.clone();
    let outcome = db::run_blocking(&pool, move |conn| {
        verification::verify(conn, &keys, &account_settings, &lookup_email, &code, now)
    })
    .await?;
    match outcome {
        VerifyOutcome::Verified(user) => {
            sign_in(&req, &user, false)?;
            FlashMessage::success("Your email address is verified. Welcome!").send();
            let mut response = see_other(home_for(&user));
            response.add_cookie(&clear_pending_cookie(&names))?;
            Ok(response)
        }
        VerifyOutcome::Wrong => {
            let error = "That code is not right. Check the email and try again.";
            render(
                page,
                &tera,
                &email,
                countdown,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        VerifyOutcome::Expired => {
            let error = "This code has expired or was tried too often. Send yourself a new one.";
            render(
                page,
                &tera,
                &email,
                countdown,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

pub async fn resend(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    keys: web::Data<Keys>,
    names: web::Data<CookieNames>,
    mailer: web::Data<Mailer>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let Some(email) = pending_email(&req) else {
        return Ok(see_other("/login"));
    };
    let (code, mail) = verification::new_code_mail(&mailer, &email, "")?;
    let now = clock.now();
    let account_settings = settings.accounts;
    let keys_for_db = keys.clone().into_inner();
    let email_for_db = email.clone();
    let outcome = db::run_blocking(&pool, move |conn| {
        verification::resend(
            conn,
            &keys_for_db,
            &account_settings,
            &email_for_db,
            &code,
            &mail,
            now,
        )
    })
    .await?;
    let resend_at = match outcome {
        ResendOutcome::Sent => {
            FlashMessage::info("We sent you a new code.").send();
            Some(now + account_settings.code_cooldown)
        }
        ResendOutcome::TooSoon(seconds) => {
            FlashMessage::warning(format!(
                "Please wait {seconds} seconds before asking for another code."
            ))
            .send();
            Some(now + chrono::Duration::seconds(seconds))
        }
        ResendOutcome::HourlyLimit => {
            FlashMessage::warning("You asked for too many codes. Please try again in an hour.")
                .send();
            None
        }
    };
    let mut response = see_other("/verify");
    if let Some(resend_at) = resend_at {
        response.add_cookie(&pending_cookie(&keys, &names, &email, resend_at))?;
    }
    Ok(response)
}

/// Seconds until the server takes a request for a new code, from the pending cookie
/// (0 when it would take one now); the verify page counts down to it.
fn resend_countdown(req: &HttpRequest, now: chrono::NaiveDateTime) -> i64 {
    pending_resend_at(req).map_or(0, |resend_at| (resend_at - now).num_seconds().max(0))
}

/// Signs `user` in: a new session (new id, new CSRF nonce) with their identity.
pub fn sign_in(req: &HttpRequest, user: &User, remember_me: bool) -> Result<(), AppError> {
    Identity::login(&req.extensions(), user.id.to_string())
        .map_err(|error| AppError::Internal(anyhow::anyhow!("login failed: {error}")))?;
    let session = actix_session::SessionExt::get_session(req);
    insert(&session, SESSION_NONCE_KEY, new_nonce())?;
    if remember_me {
        insert(&session, crate::auth::session_store::REMEMBER_ME_KEY, true)?;
    }
    Ok(())
}

fn insert<T: serde::Serialize>(session: &Session, key: &str, value: T) -> Result<(), AppError> {
    session
        .insert(key, value)
        .map_err(|error| AppError::Internal(anyhow::anyhow!("session write failed: {error}")))
}

/// Where a user lands after signing in, when they were not on their way elsewhere.
pub fn home_for(user: &User) -> &'static str {
    if user.is_admin {
        "/admin"
    } else {
        "/dashboard"
    }
}

fn render(
    mut page: Page,
    tera: &Tera,
    email: &str,
    resend_countdown: i64,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("email", email)
        .insert("resend_countdown", &resend_countdown)
        .insert("error", &error);
    page.render_with_status(tera, "auth/verify.html", status)
}
