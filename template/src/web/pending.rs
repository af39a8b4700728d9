//! Remembers, in an encrypted cookie, which address is waiting for its verification
//! code. A cookie rather than a session keeps signup from writing a session row, and
//! it looks the same whether or not the address already had an account. The cookie also
//! carries when a new code may be asked for, so the verify page can count down to it
//! without a database read that would tell addresses with and without an account apart.

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, CookieJar, SameSite};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime};

use crate::keys::Keys;
use crate::web::cookies::CookieNames;
use crate::web::error::AppError;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;

/// The pending address, if the visitor has one.
pub fn pending_email(req: &HttpRequest) -> Option<String> {
    pending(req).map(|(email, _)| email)
}

/// When the pending visitor may ask for a new code (UTC), if the cookie says.
pub fn pending_resend_at(req: &HttpRequest) -> Option<NaiveDateTime> {
    pending(req).and_then(|(_, resend_at)| resend_at)
}

/// The cookie's value: `<resend at, Unix seconds>|<email>`.
fn pending(req: &HttpRequest) -> Option<(String, Option<NaiveDateTime>)> {
    let state = State::of(req).ok()?;
    let (keys, names) = (&state.keys, &state.cookie_names);
    let cookie = req.cookie(&names.pending)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    let value = jar
        .private(&keys.cookies)
        .get(&names.pending)?
        .value()
        .to_owned();
    let parsed = value.split_once('|').and_then(|(seconds, email)| {
        let resend_at = DateTime::from_timestamp(seconds.parse().ok()?, 0)?.naive_utc();
        Some((email.to_owned(), Some(resend_at)))
    });
    Some(parsed.unwrap_or((value, None)))
}

/// Sends the visitor to the code form for `email`. With `resend_at`, the pending cookie
/// is set anew and says from when (UTC) a new code may be asked for; without, the
/// visitor keeps the cookie they have.
pub fn redirect_to_verify(
    state: &State,
    email: &str,
    resend_at: Option<NaiveDateTime>,
) -> Result<HttpResponse, AppError> {
    let mut response = see_other(paths::VERIFY);
    if let Some(resend_at) = resend_at {
        response.add_cookie(&pending_cookie(
            &state.keys,
            &state.cookie_names,
            email,
            resend_at,
        ))?;
    }
    Ok(response)
}

/// The encrypted cookie that makes `email` the pending address for an hour, and says
/// that a new code may be asked for from `resend_at` (UTC) on.
fn pending_cookie(
    keys: &Keys,
    names: &CookieNames,
    email: &str,
    resend_at: NaiveDateTime,
) -> Cookie<'static> {
    // Whole seconds, rounded up: the page must never offer a new code too early.
    let resend_at = resend_at.and_utc();
    let seconds = resend_at.timestamp() + i64::from(resend_at.timestamp_subsec_nanos() > 0);
    let value = format!("{seconds}|{email}");
    let cookie = Cookie::build(names.pending.clone(), value)
        .path("/")
        .http_only(true)
        .secure(names.secure)
        .same_site(SameSite::Lax)
        .max_age(Duration::hours(1))
        .finish();
    let mut jar = CookieJar::new();
    jar.private_mut(&keys.cookies).add(cookie);
    jar.delta()
        .next()
        .cloned()
        .expect("the jar holds the cookie just added")
}

/// A cookie that removes the pending address.
pub fn clear_pending_cookie(names: &CookieNames) -> Cookie<'static> {
    let mut cookie = Cookie::build(names.pending.clone(), "")
        .path("/")
        .secure(names.secure)
        .finish();
    cookie.make_removal();
    cookie
}
