//! `GET/POST /login/two-factor`: the second step of signing in, for accounts with
//! two-factor sign-in on. The password step leaves a [`PendingSignIn`] in the
//! session (stored on the server); it lasts [`PENDING_MINUTES`].

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::PublicKeyCredential;

use crate::accounts::login::{self, Attempt, SecondStep};
use crate::accounts::passkeys::{Ceremony, check_second_factor as check_passkey};
use crate::accounts::two_factor::{SecondFactor, check_second_factor};
use crate::db::DbConn;
use crate::keys::token_hash;
use crate::models::{User, passkey, user};
use crate::secret::Secret;
use crate::sessions::PENDING_SIGN_IN_KEY;
use crate::web::auth::{client_of, home_for, insert, sign_in};
use crate::web::device;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::passkey_ceremony::{keep, options_response, take};
use crate::web::paths;
use crate::web::redirect::{safe_next, see_other};
use crate::web::state::{AppState, State};

/// How long the second step waits after the password.
const PENDING_MINUTES: i64 = 5;

const WRONG_CODE: &str =
    "That code is not right, or it was used already. Enter the code your app shows now.";

const WRONG_PASSKEY: &str =
    "That passkey did not work for this account. Try again, or enter a code instead.";

const STALE_PASSKEY: &str =
    "The passkey request ran out or was replaced by another. Please try again.";

/// Which of the step's forms an error belongs beside.
#[derive(Debug, Clone, Copy)]
enum Form {
    Code,
    Passkey,
}

/// A sign-in whose password was right, waiting for its second factor.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingSignIn {
    user_id: i64,
    /// The hash of the account's password hash at the password step: a password
    /// changed since then ends the pending sign-in.
    password: String,
    /// When the password was right, in seconds since 1970 (UTC).
    at: i64,
    remember_me: bool,
    next: String,
}

impl PendingSignIn {
    pub fn new(account: &User, remember_me: bool, next: &str, state: &State) -> Self {
        Self {
            user_id: account.id,
            password: token_hash(&account.password_hash),
            at: state.now().and_utc().timestamp(),
            remember_me,
            next: next.to_owned(),
        }
    }

    /// Keeps it in the session for the second step.
    pub fn save(&self, session: &Session) -> Result<(), AppError> {
        insert(session, PENDING_SIGN_IN_KEY, self)
    }

    /// The pending sign-in of this session, unless it is older than [`PENDING_MINUTES`].
    fn load(session: &Session, state: &State) -> Option<Self> {
        let pending = session.get::<Self>(PENDING_SIGN_IN_KEY).ok().flatten()?;
        let age = state.now().and_utc().timestamp() - pending.at;
        (0..PENDING_MINUTES * 60).contains(&age).then_some(pending)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: Secret,
}

/// The form `static/js/passkeys.js` sends with the browser's answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasskeyForm {
    credential: String,
}

pub async fn new(session: Session, state: State, mut page: Page) -> Result<HttpResponse, AppError> {
    let Some(pending) = PendingSignIn::load(&session, &state) else {
        // A GET changes nothing, not even a session to carry a message.
        return Ok(see_other(paths::LOGIN));
    };
    page.insert("has_passkey", &has_passkey(&state, pending.user_id).await?);
    page.render("auth/two_factor.html")
}

/// Whether user `user_id` may use a passkey at this step.
async fn has_passkey(state: &State, user_id: i64) -> Result<bool, AppError> {
    state
        .db(move |conn, _| passkey::exists_for(conn, user_id))
        .await
}

pub async fn create(
    req: HttpRequest,
    session: Session,
    state: State,
    page: Page,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let code = form.into_inner().code;
    if code.expose().trim().is_empty() {
        let error = "Enter the 6-digit code from your authenticator app, or a recovery code.";
        return refuse(&session, &state, page, Form::Code, error).await;
    }
    let check = move |conn: &mut DbConn, state: &AppState, user_id, now| {
        check_second_factor(conn, &state.keys, user_id, code.expose(), now)
    };
    finish(req, session, state, page, Form::Code, check).await
}

/// `POST /login/two-factor/passkey/options`: a challenge for the waiting user's passkeys.
pub async fn passkey_options(session: Session, state: State) -> Result<HttpResponse, AppError> {
    let pending = PendingSignIn::load(&session, &state).filter(|_| state.passkeys.enabled());
    let Some(pending) = pending else {
        return Err(AppError::NotFound);
    };
    let user_id = pending.user_id;
    let rows = state
        .db(move |conn, _| passkey::of_user(conn, user_id))
        .await?;
    let Some((options, ceremony)) = state.passkeys.start_second_factor(&rows)? else {
        return Err(AppError::NotFound);
    };
    keep(&session, &state, ceremony).await?;
    Ok(options_response(&options))
}

/// `POST /login/two-factor/passkey`: the browser's answer with one of the user's passkeys.
pub async fn create_with_passkey(
    req: HttpRequest,
    session: Session,
    state: State,
    page: Page,
    form: web::Form<PasskeyForm>,
) -> Result<HttpResponse, AppError> {
    let ceremony = take(&session, &state)
        .await?
        .filter(|ceremony| matches!(ceremony, Ceremony::SecondFactor(_)));
    let credential = serde_json::from_str::<PublicKeyCredential>(&form.credential).ok();
    // No answer to check (another tab started a new ceremony, or it ran out): the
    // user is asked again, and nothing counts toward the lockout.
    let (Some(ceremony), Some(credential)) = (ceremony, credential) else {
        return refuse(&session, &state, page, Form::Passkey, STALE_PASSKEY).await;
    };
    let check = move |conn: &mut DbConn, state: &AppState, user_id, now| {
        check_passkey(conn, &state.passkeys, user_id, &credential, ceremony, now)
    };
    finish(req, session, state, page, Form::Passkey, check).await
}

/// The second step with the factor `check` checks (in the sign-in's transaction).
async fn finish(
    req: HttpRequest,
    session: Session,
    state: State,
    page: Page,
    form: Form,
    check: impl FnOnce(&mut DbConn, &AppState, i64, NaiveDateTime) -> QueryResult<SecondFactor>
    + Send
    + 'static,
) -> Result<HttpResponse, AppError> {
    let Some(pending) = PendingSignIn::load(&session, &state) else {
        return Ok(start_again(&session));
    };
    let user_id = pending.user_id;
    let account = state
        .db(move |conn, _| user::get_user(conn, user_id))
        .await?
        .filter(|account| token_hash(&account.password_hash) == pending.password);
    let Some(account) = account else {
        return Ok(start_again(&session));
    };

    let now = state.now();
    // Set at the password step; the server keeps no device token, only their hashes.
    let device_token = device::token_of(&req, &state.cookie_names);
    let client = client_of(&req, &state);
    let attempt = Attempt {
        email: account.email.clone(),
        ip: client.ip.clone(),
        device: token_hash(&device_token),
        browser: client.description(),
    };
    let outcome = state
        .db(move |conn, state| {
            let user_id = account.id;
            let check = |conn: &mut DbConn| check(conn, state, user_id, now);
            let settings = &state.settings.accounts;
            login::record_second_factor(
                conn,
                settings,
                &state.mailer,
                &attempt,
                &account,
                check,
                now,
            )
        })
        .await?;

    match outcome {
        SecondStep::Wrong => {
            let error = match form {
                Form::Code => WRONG_CODE,
                Form::Passkey => WRONG_PASSKEY,
            };
            refuse(&session, &state, page, form, error).await
        }
        SecondStep::Refused => Ok(start_again(&session)),
        SecondStep::SignedIn(user, factor) => {
            sign_in(&req, &state, user.id, pending.remember_me)?;
            if let SecondFactor::RecoveryCode { left } = factor {
                FlashMessage::warning(format!(
                    "You signed in with a recovery code; {left} left. If you lost your authenticator, set up a new one under Two-factor sign-in."
                ))
                .send();
            }
            let next = safe_next(&pending.next).unwrap_or(home_for(user.is_admin));
            let mut response = see_other(next);
            response.add_cookie(&device::cookie(&state.cookie_names, device_token))?;
            Ok(response)
        }
    }
}

/// Back to the password step: the pending sign-in is gone, too old, or refused.
fn start_again(session: &Session) -> HttpResponse {
    session.remove(PENDING_SIGN_IN_KEY);
    FlashMessage::error("Your sign-in timed out or was refused. Please sign in again.").send();
    see_other(paths::LOGIN)
}

/// The step again, with `error` beside `form`; back to the password step when the
/// pending sign-in is gone.
async fn refuse(
    session: &Session,
    state: &State,
    mut page: Page,
    form: Form,
    error: &str,
) -> Result<HttpResponse, AppError> {
    let Some(pending) = PendingSignIn::load(session, state) else {
        return Ok(start_again(session));
    };
    page.insert("has_passkey", &has_passkey(state, pending.user_id).await?);
    match form {
        Form::Code => page.insert("error", error),
        Form::Passkey => page.insert("passkey_error", error),
    };
    page.render_with_status("auth/two_factor.html", StatusCode::UNPROCESSABLE_ENTITY)
}
