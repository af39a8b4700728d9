//! `GET/POST /forgot-password` and `GET/POST /reset-password?token=...`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::email::EmailAddress;
use crate::accounts::password_reset;
use crate::mail::Email;
use crate::secret::Secret;
use crate::web::error::AppError;
use crate::web::forms::{FieldErrors, password_policy};
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    password: Secret,
    password_confirmation: Secret,
}

pub async fn new(mut page: Page) -> Result<HttpResponse, AppError> {
    page.insert("email", "").insert("error", &None::<&str>);
    page.render("auth/forgot_password.html")
}

pub async fn create(
    state: State,
    mut page: Page,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    let Ok(email) = EmailAddress::parse(&form.email) else {
        page.insert("email", &form.email).insert(
            "error",
            &Some("Enter an email address like name@example.com."),
        );
        return page.render_with_status(
            "auth/forgot_password.html",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let now = state.now();
    let address = email.clone();
    state
        .db(move |conn, state| {
            password_reset::request_reset(
                conn,
                &state.mailer,
                &state.settings.accounts,
                &address,
                now,
            )
        })
        .await?;
    FlashMessage::info(format!(
        "If {email} has an account, we sent it a link to choose a new password. The link works for {} minutes.",
        state.settings.accounts.reset_lifetime.num_minutes()
    ))
    .send();
    Ok(see_other(paths::LOGIN))
}

pub async fn edit(
    state: State,
    page: Page,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let now = state.now();
    let lookup = token.clone();
    let account = state
        .db(move |conn, _| password_reset::account_for_token(conn, &lookup, now))
        .await?;
    match account {
        Some(_) => render_form(page, &token, &FieldErrors::default(), StatusCode::OK),
        None => render_invalid(page),
    }
}

pub async fn update(
    state: State,
    page: Page,
    query: web::Query<TokenQuery>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let form = form.into_inner();
    let now = state.now();
    let lookup = token.clone();
    let account = state
        .db(move |conn, _| password_reset::account_for_token(conn, &lookup, now))
        .await?;
    let Some(account) = account else {
        return render_invalid(page);
    };
    let mut errors = FieldErrors::default();
    errors.check_new_password(
        form.password.expose(),
        form.password_confirmation.expose(),
        &account.email,
    );
    if !errors.is_empty() {
        return render_form(page, &token, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }

    let password_hash = state.hashing.hash(form.password.into_exposed()).await?;
    let mail = state.mailer.compose(
        &account.email,
        &Email::PasswordChanged {
            name: account.name.clone(),
        },
    )?;
    let reset = state
        .db(move |conn, _| password_reset::finish_reset(conn, &token, &password_hash, &mail, now))
        .await?;
    if reset.is_none() {
        return render_invalid(page);
    }
    FlashMessage::success("Your password is changed. Sign in with your new password.").send();
    Ok(see_other(paths::LOGIN))
}

fn render_form(
    mut page: Page,
    token: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("token", token)
        .insert("errors", errors)
        .insert("password_policy", &password_policy());
    same_origin_referrer(page.render_with_status("auth/reset_password.html", status)?)
}

fn render_invalid(page: Page) -> Result<HttpResponse, AppError> {
    same_origin_referrer(page.render_with_status("auth/reset_invalid.html", StatusCode::GONE)?)
}

/// The token is in this page's URL: never send it to another site as a referrer.
/// `same-origin` rather than `no-referrer`, under which browsers post the form with
/// `Origin: null`, which the CSRF check rightly refuses.
fn same_origin_referrer(mut response: HttpResponse) -> Result<HttpResponse, AppError> {
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    Ok(response)
}
