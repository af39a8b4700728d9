//! The device cookie (OWASP's answer to lockout as a weapon): a random token that
//! marks a browser which signed in to an account before. Only its hash is stored, in
//! `trusted_devices`; see `accounts::login::record_attempt` for what it changes.

use actix_web::HttpRequest;
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, SameSite};

use crate::keys::random_token;
use crate::web::cookies::CookieNames;

/// How long a browser stays known without signing in again.
const LIFETIME: Duration = Duration::days(365);

/// The browser's device token, or a new one if it has none (or a malformed one).
pub fn token_of(req: &HttpRequest, names: &CookieNames) -> String {
    req.cookie(&names.device)
        .map(|cookie| cookie.value().to_owned())
        .filter(|token| token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| random_token(32))
}

/// The cookie that keeps `token` in the browser for another year.
pub fn cookie(names: &CookieNames, token: String) -> Cookie<'static> {
    Cookie::build(names.device.clone(), token)
        .path("/")
        .http_only(true)
        .secure(names.secure)
        .same_site(SameSite::Lax)
        .max_age(LIFETIME)
        .finish()
}
