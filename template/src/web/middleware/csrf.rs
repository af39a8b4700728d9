//! CSRF protection for every state-changing request, in one middleware.
//!
//! Signed double-submit: the token is an HMAC (a key derived from `SESSION_SECRET`)
//! of a random nonce bound to the visitor: a cookie before login, the server-side
//! session after it, so the token changes at login and anonymous pages write nothing
//! to the database. Cross-site requests are also refused by their `Origin` and
//! `Sec-Fetch-Site` headers.

use std::time::Duration;

use actix_session::SessionExt;
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;

use crate::keys::random_token;
use crate::web::MAX_FORM_BYTES;
use crate::web::error::AppError;
use crate::web::state::State;

/// The form field that carries the token.
pub const FIELD: &str = "csrf_token";
/// The header that may carry the token instead (for scripts).
const HEADER: &str = "x-csrf-token";
/// The session value holding the signed-in visitor's nonce; set anew at login.
pub const SESSION_NONCE_KEY: &str = "csrf_nonce";

/// The token to put in this request's forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions().get::<Self>().cloned().ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("the CSRF middleware is missing"))
            }),
        )
    }
}

/// A fresh nonce for a new session; call at login so the token rotates.
pub fn new_nonce() -> String {
    random_token(16)
}

/// The middleware: checks unsafe requests, then makes the token available.
pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = State::of(req.request())?;
    let (keys, names) = (&state.keys, &state.cookie_names);

    let session_nonce = req
        .get_session()
        .get::<String>(SESSION_NONCE_KEY)
        .ok()
        .flatten();
    let cookie_nonce = req
        .cookie(&names.csrf)
        .map(|cookie| cookie.value().to_owned())
        .filter(|nonce| nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit()));
    let (nonce, new_cookie_nonce) = match (session_nonce, cookie_nonce) {
        (Some(nonce), _) | (None, Some(nonce)) => (nonce, None),
        (None, None) => {
            let nonce = new_nonce();
            (nonce.clone(), Some(nonce))
        }
    };

    if !is_safe(req.method()) {
        let refusal = if is_cross_site(req.request(), &state.settings.base_url) {
            Some(actix_web::Error::from(AppError::Forbidden))
        } else {
            match submitted_token(&mut req, state.settings.request_body_timeout).await {
                Ok(Some(token)) if keys.csrf_token_matches(&nonce, &token) => None,
                Ok(_) => Some(AppError::Forbidden.into()),
                Err(error) => Some(error),
            }
        };
        // A response rather than an `Err`: the outer middleware (error pages,
        // headers) only sees responses.
        if let Some(error) = refusal {
            return Ok(req.error_response(error).map_into_right_body());
        }
    }

    req.extensions_mut()
        .insert(CsrfToken(keys.csrf_token(&nonce)));
    let mut res = next.call(req).await?;
    if let Some(nonce) = new_cookie_nonce {
        let cookie = Cookie::build(names.csrf.clone(), nonce)
            .path("/")
            .http_only(true)
            .secure(names.secure)
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res.map_into_left_body())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Browsers say where a request comes from; anything but this site is refused.
fn is_cross_site(req: &HttpRequest, base_url: &str) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin" | "none"))
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    if origin == base_url {
        return false;
    }
    let origin_authority = origin
        .split_once("://")
        .map_or("", |(_, authority)| authority);
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    origin_authority.is_empty() || origin_authority != host
}

/// The token from the header, or from the urlencoded form body. The body is read
/// (within `timeout`, so a client trickling it in holds no connection) and put back,
/// so the handler still sees it.
async fn submitted_token(
    req: &mut ServiceRequest,
    timeout: Duration,
) -> Result<Option<String>, actix_web::Error> {
    if let Some(token) = req.headers().get(HEADER) {
        return Ok(token.to_str().ok().map(str::to_owned));
    }
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Ok(None);
    }
    let mut payload = req.take_payload();
    let body = tokio::time::timeout(timeout, read_form(&mut payload))
        .await
        .map_err(|_| AppError::RequestTimeout)??;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|fields| {
            fields
                .into_iter()
                .find_map(|(name, value)| (name == FIELD).then_some(value))
        });
    req.set_payload(Payload::from(body));
    Ok(token)
}

async fn read_form(payload: &mut Payload) -> Result<Bytes, actix_web::Error> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(AppError::PayloadTooLarge.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
