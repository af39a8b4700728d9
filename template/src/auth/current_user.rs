//! Extractors for handlers that need a signed-in user.

use std::future::{Ready, ready};

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::auth::session_store::{SessionUser, USER_KEY};
use crate::errors::AppError;

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

fn current_user(req: &HttpRequest) -> Result<SessionUser, AppError> {
    signed_in_user(req).ok_or_else(|| AppError::LoginRequired {
        next: req
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string),
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
