//! `GET/POST /login` and `POST /logout`.

use actix_identity::Identity;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;
use tera::Tera;

use crate::accounts::email::normalize_email;
use crate::accounts::login::{self, Attempt, DummyHash, LoginOutcome};
use crate::accounts::verification::{self, ResendOutcome};
use crate::auth::current_user::signed_in_user;
use crate::auth::pending::pending_cookie;
use crate::auth::{CookieNames, Keys};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::errors::AppError;
use crate::mail::{Email, Mailer};
use crate::web::client_ip;
use crate::web::page::Page;
use crate::web::redirect::{safe_next, see_other};
use crate::web::verification::{home_for, sign_in};

/// One message for every failed login, so it never tells which part was wrong.
const LOGIN_FAILED: &str = "That email and password don't match an account we can sign you in to.";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    remember_me: Option<String>,
}

pub async fn new(
    req: HttpRequest,
    page: Page,
    query: web::Query<NextQuery>,
    tera: web::Data<Tera>,
) -> Result<HttpResponse, AppError> {
    if signed_in_user(&req).is_some() {
        return Ok(see_other(safe_next(&query.next).unwrap_or("/dashboard")));
    }
    render(page, &tera, "", &query.next, None, StatusCode::OK)
}

#[allow(clippy::too_many_arguments)]
pub async fn create(
    req: HttpRequest,
    page: Page,
    query: web::Query<NextQuery>,
    form: web::Form<LoginForm>,
    tera: web::Data<Tera>,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    keys: web::Data<Keys>,
    names: web::Data<CookieNames>,
    mailer: web::Data<Mailer>,
    clock: web::Data<dyn Clock>,
    dummy_hash: web::Data<DummyHash>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let failed = |page| {
        render(
            page,
            &tera,
            &form.email,
            &query.next,
            Some(LOGIN_FAILED),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    // Refused before any lookup or hashing: bcrypt would only read 72 bytes.
    let Ok(email) = normalize_email(&form.email) else {
        return failed(page);
    };
    if form.password.len() > crate::accounts::password::MAX_PASSWORD_BYTES {
        return failed(page);
    }

    let lookup_email = email.clone();
    let account =
        db::run_blocking(&pool, move |conn| login::find_account(conn, &lookup_email)).await?;
    let password = form.password.clone();
    let checked_account = account.clone();
    let dummy = dummy_hash.into_inner();
    let matched =
        web::block(move || login::password_matches(checked_account.as_ref(), &password, &dummy))
            .await
            .map_err(|error| AppError::Internal(error.into()))?;
    let now = clock.now();
    let account_settings = settings.accounts;
    let lock_mailer = mailer.clone().into_inner();
    let attempt = Attempt {
        email,
        ip: client_ip::of_request(&req, &settings.trusted_proxies).to_string(),
    };
    let outcome = db::run_blocking(&pool, move |conn| {
        let locked_mail = || {
            let account = account.as_ref().expect("only known accounts are locked");
            lock_mailer.compose(
                &account.email,
                &Email::AccountLocked {
                    name: account.name.clone(),
                    minutes: account_settings.lockout.num_minutes(),
                },
            )
        };
        login::record_attempt(
            conn,
            &account_settings,
            &attempt,
            account.as_ref(),
            matched,
            locked_mail,
            now,
        )
    })
    .await?;

    match outcome {
        LoginOutcome::Failed => failed(page),
        LoginOutcome::SignedIn(user) => {
            sign_in(&req, &user, form.remember_me.is_some())?;
            let target = safe_next(&query.next).unwrap_or(home_for(&user));
            Ok(see_other(target))
        }
        LoginOutcome::Unverified(user) => {
            let (code, mail) = verification::new_code_mail(&mailer, &user.email, &user.name)?;
            let keys_for_db = keys.clone().into_inner();
            let user_id = user.id;
            let sent = db::run_blocking(&pool, move |conn| {
                verification::send_code_within_limits(
                    conn,
                    &keys_for_db,
                    &account_settings,
                    user_id,
                    &code,
                    &mail,
                    now,
                )
            })
            .await?;
            let resend_at = match sent {
                ResendOutcome::TooSoon(seconds) => now + chrono::Duration::seconds(seconds),
                ResendOutcome::Sent | ResendOutcome::HourlyLimit => {
                    now + account_settings.code_cooldown
                }
            };
            FlashMessage::info(format!(
                "Please verify your email address first: enter the code we sent to {}.",
                user.email
            ))
            .send();
            let mut response = see_other("/verify");
            response.add_cookie(&pending_cookie(&keys, &names, &user.email, resend_at))?;
            Ok(response)
        }
    }
}

pub async fn delete(identity: Option<Identity>) -> HttpResponse {
    if let Some(identity) = identity {
        identity.logout();
        FlashMessage::info("You are signed out.").send();
    }
    see_other("/login")
}

fn render(
    mut page: Page,
    tera: &Tera,
    email: &str,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("email", email)
        .insert("next", &safe_next(next))
        .insert("error", &error);
    page.render_with_status(tera, "auth/login.html", status)
}
