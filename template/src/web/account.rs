//! `GET/POST /account/password`: a signed-in user changes their password.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;
use tera::Tera;

use crate::accounts::password::{
    MAX_PASSWORD_BYTES, hash_password_off_thread, verify_password_off_thread,
};
use crate::accounts::password_change::change_password;
use crate::auth::CurrentUser;
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
pub struct PasswordForm {
    current_password: String,
    password: String,
    password_confirmation: String,
}

pub async fn edit_password(
    _user: CurrentUser,
    page: Page,
    tera: web::Data<Tera>,
) -> Result<HttpResponse, AppError> {
    render(page, &tera, &FieldErrors::default(), StatusCode::OK)
}

#[allow(clippy::too_many_arguments)]
pub async fn update_password(
    CurrentUser(current): CurrentUser,
    page: Page,
    session: Session,
    form: web::Form<PasswordForm>,
    tera: web::Data<Tera>,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    mailer: web::Data<Mailer>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    errors.check_new_password(&form.password, &form.password_confirmation, &current.email);

    let user_id = current.id;
    let account = db::run_blocking(&pool, move |conn| user::get_user(conn, user_id))
        .await?
        .ok_or(AppError::NotFound)?;
    let current_hash = account.password_hash.clone();
    let current_ok = form.current_password.len() <= MAX_PASSWORD_BYTES
        && verify_password_off_thread(form.current_password, current_hash).await?;
    if !current_ok {
        errors.add("current_password", "That is not your current password.");
    }
    if !errors.is_empty() {
        return render(page, &tera, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }

    let password_hash = hash_password_off_thread(form.password, settings.bcrypt_cost).await?;
    let mail = mailer.compose(
        &account.email,
        &Email::PasswordChanged {
            name: account.name.clone(),
        },
    )?;
    let now = clock.now();
    db::run_blocking(&pool, move |conn| {
        change_password(conn, user_id, &password_hash, &mail, now)
    })
    .await?;
    // Every session was ended; this one continues under a new id.
    session.renew();
    FlashMessage::success("Your password is changed. Other devices have been signed out.").send();
    Ok(see_other("/dashboard"))
}

fn render(
    mut page: Page,
    tera: &Tera,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("errors", errors)
        .insert("password_policy", &password_policy());
    page.render_with_status(tera, "account/password.html", status)
}
