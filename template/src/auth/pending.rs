//! Remembers, in an encrypted cookie, which address is waiting for its verification
//! code. A cookie rather than a session keeps signup from writing a session row, and
//! it looks the same whether or not the address already had an account.

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, CookieJar, SameSite};
use actix_web::{HttpRequest, web};

use crate::auth::{CookieNames, Keys};

/// The pending address, if the visitor has one.
pub fn pending_email(req: &HttpRequest) -> Option<String> {
    let keys = req.app_data::<web::Data<Keys>>()?;
    let names = req.app_data::<web::Data<CookieNames>>()?;
    let cookie = req.cookie(&names.pending)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    jar.private(&keys.cookies)
        .get(&names.pending)
        .map(|cookie| cookie.value().to_owned())
}

/// The encrypted cookie that makes `email` the pending address for an hour.
pub fn pending_cookie(keys: &Keys, names: &CookieNames, email: &str) -> Cookie<'static> {
    let cookie = Cookie::build(names.pending.clone(), email.to_owned())
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
