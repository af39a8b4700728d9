//! `GET/POST /login` and `POST /logout`.

use actix_identity::Identity;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::email::EmailAddress;
use crate::accounts::login::{self, Attempt, LoginOutcome};
use crate::accounts::password::MAX_PASSWORD_BYTES;
use crate::accounts::verification;
use crate::keys::token_hash;
use crate::secret::Secret;
use crate::web::auth::{client_of, home_for, sign_in, sign_out, signed_in_user};
use crate::web::device;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::pending::{Pending, redirect_to_verify};
use crate::web::redirect::{safe_next, see_other};
use crate::web::second_factor::PendingSignIn;
use crate::web::state::State;

/// One message for every failed login, so it never tells which part was wrong.
const LOGIN_FAILED: &str = "That email and password don't match an account we can sign you in to.";

/// `?next=`: where to go on after the form; only followed through `safe_next`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    pub next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: Secret,
    remember_me: Option<String>,
}

pub async fn new(
    req: HttpRequest,
    page: Page,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    if let Some(user) = signed_in_user(&req) {
        return Ok(see_other(
            safe_next(&query.next).unwrap_or(home_for(user.is_admin)),
        ));
    }
    render(page, "", &query.next, None, StatusCode::OK)
}

pub async fn create(
    req: HttpRequest,
    state: State,
    page: Page,
    session: Session,
    query: web::Query<NextQuery>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let failed = |page| {
        render(
            page,
            &form.email,
            &query.next,
            Some(LOGIN_FAILED),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    // Refused before any lookup or hashing: bcrypt would only read 72 bytes.
    let Ok(email) = EmailAddress::parse(&form.email) else {
        return failed(page);
    };
    if form.password.expose().len() > MAX_PASSWORD_BYTES {
        return failed(page);
    }

    let lookup = email.clone();
    let account = state
        .db(move |conn, _| login::find_account(conn, &lookup))
        .await?;
    // Holding no connection: bcrypt is slow on purpose.
    let (checked, password, shared) = (account.clone(), form.password, state.clone());
    let matched = state
        .hashing
        .run(move || {
            login::password_matches(checked.as_ref(), password.expose(), &shared.dummy_hash)
        })
        .await?;
    let now = state.now();
    let device_token = device::token_of(&req, &state.cookie_names);
    let client = client_of(&req, &state);
    let attempt = Attempt {
        email: email.to_string(),
        ip: client.ip.clone(),
        device: token_hash(&device_token),
        browser: client.description(),
    };
    let outcome = state
        .db(move |conn, state| {
            login::record_attempt(
                conn,
                &state.settings.accounts,
                &state.mailer,
                &attempt,
                account.as_ref(),
                matched,
                now,
            )
        })
        .await?;

    match outcome {
        LoginOutcome::Failed => failed(page),
        LoginOutcome::SignedIn(user) => {
            sign_in(&req, &state, user.id, form.remember_me.is_some())?;
            let mut response = see_other(safe_next(&query.next).unwrap_or(home_for(user.is_admin)));
            response.add_cookie(&device::cookie(&state.cookie_names, device_token))?;
            Ok(response)
        }
        LoginOutcome::SecondFactor(user) => {
            let remember_me = form.remember_me.is_some();
            PendingSignIn::new(&user, remember_me, &query.next, &state).save(&session)?;
            // The browser keeps its device token for the second step, as after a sign-in.
            let mut response = see_other(paths::LOGIN_TWO_FACTOR);
            response.add_cookie(&device::cookie(&state.cookie_names, device_token))?;
            Ok(response)
        }
        LoginOutcome::Unverified(user) => {
            let address = user.email.clone();
            let mut pending = Pending::for_email(&req, &address);
            let browser = pending.browser();
            let outcome = state
                .db(move |conn, state| {
                    let settings = &state.settings.accounts;
                    let (mailer, keys) = (&state.mailer, &state.keys);
                    verification::send_login_code(
                        conn, mailer, keys, settings, &user, &browser, now,
                    )
                })
                .await?;
            pending.resent(Some(outcome), &state.settings.accounts, now);
            FlashMessage::info(format!(
                "Please verify your email address first: enter the code we sent to {address}."
            ))
            .send();
            redirect_to_verify(&state, &pending)
        }
    }
}

pub async fn delete(req: HttpRequest, identity: Option<Identity>) -> HttpResponse {
    if sign_out(&req, identity) {
        FlashMessage::info("You are signed out.").send();
    }
    see_other(paths::LOGIN)
}

fn render(
    mut page: Page,
    email: &str,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("email", email)
        .insert("next", &safe_next(next))
        .insert("error", &error);
    page.render_with_status("auth/login.html", status)
}
