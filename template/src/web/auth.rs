//! Who is signed in, and the one place where signing in and out happens: every
//! handler that ends in a signed-in page goes through [`sign_in`].

use std::future::{Ready, ready};

use actix_identity::Identity;
use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::http::header::USER_AGENT;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use anyhow::Context as _;

use crate::sessions::{
    CLIENT_KEY, Client, PASSKEY_CEREMONY_KEY, PENDING_SIGN_IN_KEY, REMEMBER_ME_KEY, SessionUser,
    USER_KEY,
};
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::middleware::csrf;
use crate::web::paths;
use crate::web::state::State;
use crate::web::sudo;

/// A signed-in, active, verified user. Anyone else is sent to the login page, which
/// brings them back here afterwards.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub SessionUser);

/// A signed-in administrator; other signed-in users get 403.
#[derive(Debug, Clone)]
pub struct AdminUser(pub SessionUser);

/// The signed-in user, if any, as loaded with the session on this request. A user
/// disabled since logging in counts as signed out.
pub fn signed_in_user(req: &HttpRequest) -> Option<SessionUser> {
    req.get_session()
        .get::<SessionUser>(USER_KEY)
        .ok()
        .flatten()
        .filter(|user| user.is_active && user.is_verified)
}

/// Signs the user with `user_id` in: a new session (new id, new CSRF nonce) with
/// their identity and where it was signed in from; "remember me" makes it last
/// longer. Signing in proves the password (or, after sign-up, the address), so it
/// also starts sudo mode.
pub fn sign_in(
    req: &HttpRequest,
    state: &State,
    user_id: i64,
    remember_me: bool,
) -> Result<(), AppError> {
    start_session(req, state, user_id, remember_me)?;
    sudo::start(&req.get_session(), state.now())
}

/// Like [`sign_in`], for a passkey: no password was typed, so sudo mode waits until
/// one is (a phone that unlocks a synced passkey is not its owner's password).
pub fn sign_in_with_passkey(
    req: &HttpRequest,
    state: &State,
    user_id: i64,
    remember_me: bool,
) -> Result<(), AppError> {
    start_session(req, state, user_id, remember_me)
}

fn start_session(
    req: &HttpRequest,
    state: &State,
    user_id: i64,
    remember_me: bool,
) -> Result<(), AppError> {
    Identity::login(&req.extensions(), user_id.to_string()).context("login failed")?;
    let session = req.get_session();
    session.remove(PENDING_SIGN_IN_KEY);
    session.remove(PASSKEY_CEREMONY_KEY);
    insert(&session, csrf::SESSION_NONCE_KEY, csrf::new_nonce())?;
    if remember_me {
        insert(&session, REMEMBER_ME_KEY, true)?;
    } else {
        // The browser's previous sign-in may have been remembered.
        session.remove(REMEMBER_ME_KEY);
    }
    insert(&session, CLIENT_KEY, client_of(req, state))
}

/// The browser and address of a request, as a session keeps them.
pub fn client_of(req: &HttpRequest, state: &State) -> Client {
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    Client::new(
        user_agent,
        client_ip::of_request(req, &state.settings.trusted_proxies).to_string(),
    )
}

/// Ends the signed-in session, if there is one; says whether there was. The old
/// session is deleted on the server; the browser carries on with a new, empty one,
/// which can still say "You are signed out".
pub fn sign_out(req: &HttpRequest, identity: Option<Identity>) -> bool {
    let Some(identity) = identity else {
        return false;
    };
    identity.logout();
    let session = req.get_session();
    session.clear();
    session.renew();
    true
}

/// Where a user lands after signing in, when they were not on their way elsewhere.
pub fn home_for(is_admin: bool) -> &'static str {
    if is_admin {
        paths::ADMIN
    } else {
        paths::DASHBOARD
    }
}

pub(crate) fn insert<T: serde::Serialize>(
    session: &Session,
    key: &str,
    value: T,
) -> Result<(), AppError> {
    session.insert(key, value).context("session write failed")?;
    Ok(())
}

/// The signed-in user, or a trip to the login page that comes back here: to a page
/// that was asked for, not to a form that was sent (the browser would come back with
/// a GET the form's route does not answer).
fn current_user(req: &HttpRequest) -> Result<SessionUser, AppError> {
    signed_in_user(req).ok_or_else(|| AppError::LoginRequired {
        next: (req.method() == Method::GET)
            .then(|| req.uri().path_and_query())
            .flatten()
            .map_or_else(String::new, ToString::to_string),
    })
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(current_user(req).map(Self))
    }
}

impl FromRequest for AdminUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(current_user(req).and_then(|user| {
            if user.is_admin {
                Ok(Self(user))
            } else {
                Err(AppError::Forbidden)
            }
        }))
    }
}
