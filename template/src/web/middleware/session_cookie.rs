//! How long the session cookie lives in the browser. A "remember me" sign-in keeps it
//! for `SESSION_REMEMBER_DAYS`; every other session's cookie goes when the browser
//! closes (no `Max-Age`), while the server ends the session itself at its idle and
//! absolute limits.

use actix_session::SessionExt;
use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, SET_COOKIE};
use actix_web::middleware::Next;

use crate::sessions::REMEMBER_ME_KEY;
use crate::web::state::State;

/// Marks a response whose session is remembered.
struct Remembered;

/// Inside the session middleware, where the session can still be read: notes on the
/// response whether its session is remembered.
pub async fn note_remembered(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // A handle on the session, not the request: a handler may need the request alone.
    let session = req.get_session();
    let mut response = next.call(req).await?;
    let remembered = session
        .get::<bool>(REMEMBER_ME_KEY)
        .ok()
        .flatten()
        .unwrap_or(false);
    if remembered {
        response.response_mut().extensions_mut().insert(Remembered);
    }
    Ok(response)
}

/// Outside the session middleware, which gives every session cookie the longest
/// `Max-Age`: takes it off again unless the session is remembered.
pub async fn set_lifetime(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let session_cookie = State::of(req.request())?.cookie_names.session.clone();
    let mut response = next.call(req).await?;
    if response.response().extensions().contains::<Remembered>() {
        return Ok(response);
    }
    let set_cookies: Vec<HeaderValue> = response.headers().get_all(SET_COOKIE).cloned().collect();
    let headers = response.headers_mut();
    headers.remove(SET_COOKIE);
    for value in set_cookies {
        let parsed = value
            .to_str()
            .ok()
            .and_then(|text| Cookie::parse(text).ok());
        let value = match parsed {
            // A removal (empty, expired) stays as it is.
            Some(mut cookie) if cookie.name() == session_cookie && !cookie.value().is_empty() => {
                cookie.set_max_age(None);
                cookie.unset_expires();
                HeaderValue::from_str(&cookie.to_string()).unwrap_or(value)
            }
            _ => value,
        };
        headers.append(SET_COOKIE, value);
    }
    Ok(response)
}
