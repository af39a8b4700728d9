//! `GET/POST /account/delete`: the owner deletes their account, in sudo mode, typing
//! their address to show they mean it.

use actix_identity::Identity;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::deletion::{Deletion, delete_own_account};
use crate::accounts::email::EmailAddress;
use crate::mail::Email;
use crate::web::auth::{CurrentUser, sign_out};
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::forms::FieldErrors;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;
use crate::web::sudo;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    email: String,
}

pub async fn new(
    _user: CurrentUser,
    state: State,
    page: Page,
    session: Session,
) -> Result<HttpResponse, AppError> {
    sudo::require(&session, &state, paths::ACCOUNT_DELETE)?;
    render(page, "", &FieldErrors::default(), StatusCode::OK)
}

pub async fn create(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    identity: Option<Identity>,
    state: State,
    page: Page,
    session: Session,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    sudo::require(&session, &state, paths::ACCOUNT_DELETE)?;
    let typed = EmailAddress::parse(&form.email).map(|email| email.to_string());
    if typed.as_deref() != Ok(current.email.as_str()) {
        let mut errors = FieldErrors::default();
        errors.add(
            "email",
            "Type the address you sign in with, exactly as shown above.",
        );
        return render(page, &form.email, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let goodbye = state.mailer.compose(
        &current.email,
        &Email::AccountDeleted {
            name: current.name.clone(),
        },
    )?;
    let ip = client_ip::of_request(&req, &state.settings.trusted_proxies).to_string();
    let user_id = current.id;
    let outcome = state
        .db(move |conn, _| delete_own_account(conn, user_id, &goodbye, &ip, now))
        .await?;
    if outcome == Deletion::LastAdmin {
        let mut errors = FieldErrors::default();
        errors.add(
            "email",
            "You are the only administrator: make someone else an administrator first, \
             so the site keeps one.",
        );
        return render(page, &form.email, &errors, StatusCode::CONFLICT);
    }
    sign_out(&req, identity);
    FlashMessage::info("Your account is deleted. We have sent you a receipt by mail.").send();
    Ok(see_other(paths::HOME))
}

fn render(
    mut page: Page,
    email: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("email", email).insert("errors", errors);
    page.render_with_status("account/delete.html", status)
}
