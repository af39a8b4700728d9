//! `GET/POST /account/password`: a signed-in user changes their password.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::password_change::change_password;
use crate::mail::Email;
use crate::secret::Secret;
use crate::web::account::{LOCKED, PasswordCheck, check_current_password};
use crate::web::auth::{CurrentUser, home_for};
use crate::web::error::AppError;
use crate::web::forms::{FieldErrors, password_policy};
use crate::web::page::Page;
use crate::web::redirect::see_other;
use crate::web::state::State;
use crate::web::sudo;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current_password: Secret,
    password: Secret,
    password_confirmation: Secret,
}

pub async fn edit(_user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    render(page, &FieldErrors::default(), StatusCode::OK)
}

pub async fn update(
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
    let now = state.now();
    let account = match check_current_password(&req, &state, user_id, form.current_password).await?
    {
        PasswordCheck::Right(account) => Some(account),
        PasswordCheck::Wrong => {
            errors.add("current_password", "That is not your current password.");
            None
        }
        PasswordCheck::Locked => {
            errors.add("current_password", LOCKED);
            return render(page, &errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let (Some(account), true) = (account, errors.is_empty()) else {
        return render(page, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    };

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
    // Every session was ended; this one continues under a new id, in sudo mode: the
    // password was just entered.
    session.renew();
    sudo::start(&session, now)?;
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
