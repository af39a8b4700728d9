//! `GET/POST /signup`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;
use tera::Tera;

use crate::accounts::email::normalize_email;
use crate::accounts::password::hash_password_off_thread;
use crate::accounts::signup::{self, Registration};
use crate::accounts::verification;
use crate::auth::pending::pending_cookie;
use crate::auth::{CookieNames, Keys};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::errors::AppError;
use crate::mail::{Email, Mailer};
use crate::web::forms::{FieldErrors, password_policy};
use crate::web::page::Page;
use crate::web::redirect::see_other;

const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignupForm {
    name: String,
    email: String,
    password: String,
    password_confirmation: String,
}

pub async fn new(page: Page, tera: web::Data<Tera>) -> Result<HttpResponse, AppError> {
    render(page, &tera, "", "", &FieldErrors::default(), StatusCode::OK)
}

#[allow(clippy::too_many_arguments)]
pub async fn create(
    page: Page,
    form: web::Form<SignupForm>,
    tera: web::Data<Tera>,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    keys: web::Data<Keys>,
    names: web::Data<CookieNames>,
    mailer: web::Data<Mailer>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let name = form.name.trim().to_owned();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add("name", "Enter your name.");
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.add("name", "Use at most 100 characters.");
    } else if looks_like_a_link(&name) {
        // The name is quoted in mail sent to the address typed: no links for phishers.
        errors.add("name", "Leave web addresses out of your name.");
    }
    let email = normalize_email(&form.email)
        .inspect_err(|error| errors.add("email", error.to_string()))
        .unwrap_or_default();
    errors.check_new_password(&form.password, &form.password_confirmation, &email);
    if !errors.is_empty() {
        return render(
            page,
            &tera,
            &name,
            &form.email,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }

    // Hashed even for an address that has an account, so both take the same time.
    let password_hash = hash_password_off_thread(form.password, settings.bcrypt_cost).await?;
    let (code, code_mail) = verification::new_code_mail(&mailer, &email, &name)?;
    let attempt_mail = mailer.compose(
        &email,
        &Email::SignupAttempt {
            name: String::new(),
        },
    )?;
    let now = clock.now();
    let account_settings = settings.accounts;
    let keys_for_db = keys.clone();
    let email_for_db = email.clone();
    db::run_blocking(&pool, move |conn| {
        signup::register(
            conn,
            &keys_for_db,
            &account_settings,
            &Registration {
                name: &name,
                email: &email_for_db,
                password_hash: &password_hash,
                code: &code,
                code_mail: &code_mail,
                attempt_mail: &attempt_mail,
            },
            now,
        )
    })
    .await?;

    FlashMessage::info(format!(
        "We sent a 6-digit code to {email}. Enter it below to finish signing up."
    ))
    .send();
    let mut response = see_other("/verify");
    let resend_at = now + account_settings.code_cooldown;
    response.add_cookie(&pending_cookie(&keys, &names, &email, resend_at))?;
    Ok(response)
}

fn looks_like_a_link(name: &str) -> bool {
    let name = name.to_lowercase();
    name.contains("://") || name.contains("www.")
}

fn render(
    mut page: Page,
    tera: &Tera,
    name: &str,
    email: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("name", name)
        .insert("email", email)
        .insert("errors", errors)
        .insert("password_policy", &password_policy());
    page.render_with_status(tera, "auth/signup.html", status)
}
