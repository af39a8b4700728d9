//! `GET/POST /account/password`: a signed-in user changes their password.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::login::Attempt;
use crate::accounts::password::MAX_PASSWORD_BYTES;
use crate::accounts::password_change::{change_password, record_wrong_password};
use crate::mail::Email;
use crate::models::user;
use crate::secret::Secret;
use crate::web::auth::{CurrentUser, home_for};
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::forms::{FieldErrors, password_policy};
use crate::web::page::Page;
use crate::web::redirect::see_other;
use crate::web::state::State;

/// The answer while wrong passwords keep the account locked.
const LOCKED: &str =
    "Too many wrong passwords: your account is locked for now. We have emailed you about it.";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current_password: Secret,
    password: Secret,
    password_confirmation: Secret,
}

pub async fn edit_password(_user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    render(page, &FieldErrors::default(), StatusCode::OK)
}

pub async fn update_password(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
    session: Session,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    errors.check_new_password(
        form.password.expose(),
        form.password_confirmation.expose(),
        &current.email,
    );

    let user_id = current.id;
    let account = state
        .db(move |conn, _| user::get_user(conn, user_id))
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.now();
    // Locked by wrong passwords, here or at the login form: no more guesses.
    if account.locked_until.is_some_and(|until| until > now) {
        errors.add("current_password", LOCKED);
        return render(page, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let current_ok = form.current_password.expose().len() <= MAX_PASSWORD_BYTES
        && state
            .hashing
            .verify(
                form.current_password.into_exposed(),
                account.password_hash.clone(),
            )
            .await?;
    if !current_ok {
        errors.add("current_password", "That is not your current password.");
        let attempt = Attempt {
            email: account.email.clone(),
            ip: client_ip::of_request(&req, &state.settings.trusted_proxies).to_string(),
            // Not a sign-in: no browser's trust is at stake.
            device: String::new(),
        };
        let account = account.clone();
        state
            .db(move |conn, state| {
                let settings = &state.settings.accounts;
                record_wrong_password(conn, settings, &state.mailer, &attempt, &account, now)
            })
            .await?;
    }
    if !errors.is_empty() {
        return render(page, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }

    let password_hash = state.hashing.hash(form.password.into_exposed()).await?;
    let mail = state.mailer.compose(
        &account.email,
        &Email::PasswordChanged {
            name: account.name.clone(),
        },
    )?;
    state
        .db(move |conn, _| change_password(conn, user_id, &password_hash, &mail, now))
        .await?;
    // Every session was ended; this one continues under a new id.
    session.renew();
    FlashMessage::success("Your password is changed. Other devices have been signed out.").send();
    Ok(see_other(home_for(current.is_admin)))
}

fn render(
    mut page: Page,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("errors", errors)
        .insert("password_policy", &password_policy());
    page.render_with_status("account/password.html", status)
}
