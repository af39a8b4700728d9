//! `GET/POST /forgot-password` and `GET/POST /reset-password?token=...`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;
use tera::Tera;

use crate::accounts::email::normalize_email;
use crate::accounts::password::hash_password_off_thread;
use crate::accounts::password_reset;
use crate::auth::keys::random_token;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::errors::AppError;
use crate::mail::{Email, Mailer};
use crate::models::user;
use crate::web::forms::{FieldErrors, password_policy};
use crate::web::page::Page;
use crate::web::redirect::see_other;

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
    password: String,
    password_confirmation: String,
}

pub async fn new(mut page: Page, tera: web::Data<Tera>) -> Result<HttpResponse, AppError> {
    page.insert("email", "").insert("error", &None::<&str>);
    page.render(&tera, "auth/forgot_password.html")
}

pub async fn create(
    mut page: Page,
    form: web::Form<ForgotForm>,
    tera: web::Data<Tera>,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    mailer: web::Data<Mailer>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let Ok(email) = normalize_email(&form.email) else {
        page.insert("email", &form.email).insert(
            "error",
            &Some("Enter an email address like name@example.com."),
        );
        return page.render_with_status(
            &tera,
            "auth/forgot_password.html",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let lookup_email = email.clone();
    let account = db::run_blocking(&pool, move |conn| {
        user::get_user_by_email(conn, &lookup_email)
    })
    .await?;
    // Every address gets the same answer, in the same time: an unknown or disabled
    // one goes through the same steps, which change nothing and send nothing.
    let account = account.filter(|account| account.is_active);
    let token = random_token(32);
    let name = account.as_ref().map(|account| account.name.clone());
    let mail = mailer.compose(
        &email,
        &Email::PasswordReset {
            name: name.unwrap_or_default(),
            token: token.clone(),
        },
    )?;
    let now = clock.now();
    let account_settings = settings.accounts;
    db::run_blocking(&pool, move |conn| {
        password_reset::start_reset(
            conn,
            &account_settings,
            account.as_ref(),
            &token,
            &mail,
            now,
        )
    })
    .await?;
    FlashMessage::info(format!(
        "If {email} has an account, we sent it a link to choose a new password. The link works for {} minutes.",
        settings.accounts.reset_lifetime.num_minutes()
    ))
    .send();
    Ok(see_other("/login"))
}

pub async fn edit(
    page: Page,
    query: web::Query<TokenQuery>,
    tera: web::Data<Tera>,
    pool: web::Data<DbPool>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let now = clock.now();
    let lookup = token.clone();
    let account = db::run_blocking(&pool, move |conn| {
        password_reset::account_for_token(conn, &lookup, now)
    })
    .await?;
    match account {
        Some(_) => render_form(page, &tera, &token, &FieldErrors::default(), StatusCode::OK),
        None => render_invalid(page, &tera),
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn update(
    page: Page,
    query: web::Query<TokenQuery>,
    form: web::Form<ResetForm>,
    tera: web::Data<Tera>,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    mailer: web::Data<Mailer>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let form = form.into_inner();
    let now = clock.now();
    let lookup = token.clone();
    let account = db::run_blocking(&pool, move |conn| {
        password_reset::account_for_token(conn, &lookup, now)
    })
    .await?;
    let Some(account) = account else {
        return render_invalid(page, &tera);
    };
    let mut errors = FieldErrors::default();
    errors.check_new_password(&form.password, &form.password_confirmation, &account.email);
    if !errors.is_empty() {
        return render_form(
            page,
            &tera,
            &token,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }

    let password_hash = hash_password_off_thread(form.password, settings.bcrypt_cost).await?;
    let mail = mailer.compose(
        &account.email,
        &Email::PasswordChanged {
            name: account.name.clone(),
        },
    )?;
    let reset = db::run_blocking(&pool, move |conn| {
        password_reset::finish_reset(conn, &token, &password_hash, &mail, now)
    })
    .await?;
    if reset.is_none() {
        return render_invalid(page, &tera);
    }
    FlashMessage::success("Your password is changed. Sign in with your new password.").send();
    Ok(see_other("/login"))
}

fn render_form(
    mut page: Page,
    tera: &Tera,
    token: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("token", token)
        .insert("errors", errors)
        .insert("password_policy", &password_policy());
    same_origin_referrer(page.render_with_status(tera, "auth/reset_password.html", status)?)
}

fn render_invalid(page: Page, tera: &Tera) -> Result<HttpResponse, AppError> {
    same_origin_referrer(page.render_with_status(
        tera,
        "auth/reset_invalid.html",
        StatusCode::GONE,
    )?)
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
