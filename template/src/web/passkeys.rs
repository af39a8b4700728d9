//! `POST /login/passkey/options` and `POST /login/passkey`: signing in with a passkey
//! instead of the password. The first request gives the browser a challenge (JSON,
//! read by `static/js/passkeys.js`); the second is the login form the script sends
//! with the browser's answer. Such a sign-in does not start sudo mode: sensitive
//! actions still ask for the password.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;
use webauthn_rs::prelude::PublicKeyCredential;

use crate::accounts::login::{self, Attempt};
use crate::accounts::passkeys::check_sign_in;
use crate::keys::token_hash;
use crate::models::user;
use crate::web::auth::{client_of, home_for, sign_in_with_passkey};
use crate::web::device;
use crate::web::error::AppError;
use crate::web::passkey_ceremony::{keep, options_response, take};
use crate::web::paths;
use crate::web::redirect::{safe_next, see_other};
use crate::web::state::State;

const NOT_SIGNED_IN: &str =
    "That passkey did not sign you in. Try again, or use your email and password.";

/// The login form the script sends with the browser's answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasskeyLoginForm {
    credential: String,
    remember_me: Option<String>,
    next: String,
}

/// `POST /login/passkey/options`: a challenge any of this site's passkeys can answer.
pub async fn options(state: State, session: Session) -> Result<HttpResponse, AppError> {
    if !state.passkeys.enabled() {
        return Err(AppError::NotFound);
    }
    let (options, ceremony) = state.passkeys.start_sign_in()?;
    keep(&session, &state, ceremony).await?;
    Ok(options_response(&options))
}

/// `POST /login/passkey`: the browser's answer; signs in its owner.
pub async fn create(
    req: HttpRequest,
    state: State,
    session: Session,
    form: web::Form<PasskeyLoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let ceremony = take(&session, &state).await?;
    let credential = serde_json::from_str::<PublicKeyCredential>(&form.credential).ok();
    let (Some(ceremony), Some(credential)) = (ceremony, credential) else {
        return Ok(refused());
    };
    let now = state.now();
    let device_token = device::token_of(&req, &state.cookie_names);
    let client = client_of(&req, &state);
    let device = token_hash(&device_token);
    let browser = client.description();
    let signed_in = state
        .db(move |conn, state| {
            let Some(passkey) = check_sign_in(conn, &state.passkeys, &credential, ceremony)? else {
                return Ok(None);
            };
            let Some(account) = user::get_user(conn, passkey.user_id)? else {
                return Ok(None);
            };
            let attempt = Attempt {
                email: account.email.clone(),
                ip: client.ip,
                device,
                browser,
            };
            let settings = &state.settings.accounts;
            let accepted = login::record_passkey_sign_in(
                conn,
                settings,
                &state.mailer,
                &attempt,
                &account,
                &passkey,
                now,
            )?;
            diesel::QueryResult::Ok(accepted.then_some(account))
        })
        .await?;
    let Some(user) = signed_in else {
        return Ok(refused());
    };
    sign_in_with_passkey(&req, &state, user.id, form.remember_me.is_some())?;
    let mut response = see_other(safe_next(&form.next).unwrap_or(home_for(user.is_admin)));
    response.add_cookie(&device::cookie(&state.cookie_names, device_token))?;
    Ok(response)
}

/// Back to the login page: the answer did not verify, or its account cannot sign in.
fn refused() -> HttpResponse {
    FlashMessage::error(NOT_SIGNED_IN).send();
    see_other(paths::LOGIN)
}
