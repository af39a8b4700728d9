//! What a handler can fail with, and how every error response becomes a page.

use std::panic::AssertUnwindSafe;

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::FutureExt;
use tera::Context;

use crate::accounts::FlowError;
use crate::accounts::hashing::HashError;
use crate::db::DbError;
use crate::sessions::SessionUser;
use crate::sessions::store::UNREADABLE_KEY;
use crate::telemetry::error_chain;
use crate::templates::Templates;
use crate::web::auth::signed_in_user;
use crate::web::middleware::csrf::CsrfToken;
use crate::web::paths;
use crate::web::sudo;

/// Everything a handler can fail with. Only the status code and a generic page
/// reach the browser; the cause is logged for 5xx errors.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("page not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    LoginRequired { next: String },
    /// A sensitive action outside sudo mode: the password first, then `next`.
    #[error("password confirmation required")]
    ConfirmationRequired { next: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request body too slow")]
    RequestTimeout,
    /// The handler took longer than `REQUEST_TIMEOUT_SECONDS`.
    #[error("the request took longer than {0:?}")]
    Overdue(std::time::Duration),
    /// Over the auth budget every instance shares: come back after `retry_after` seconds.
    #[error("too many attempts")]
    TooManyRequests { retry_after: i64 },
    /// Too many password checks queued: come back after `retry_after` seconds.
    #[error("busy with password work")]
    Busy { retry_after: u64 },
    #[error("database error")]
    Database(#[from] DbError),
    /// The visitor's session could not be read: the database is out.
    #[error("session store unavailable")]
    SessionStoreUnavailable,
    #[error("template rendering failed")]
    Template(#[from] tera::Error),
    #[error("mail could not be composed")]
    Mail(#[from] crate::mail::MailError),
    #[error("response could not be built")]
    Http(#[from] actix_web::error::HttpError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(DbError::Query(error))
    }
}

impl From<HashError> for AppError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy { retry_after } => Self::Busy {
                retry_after: retry_after.as_secs_f64().ceil() as u64,
            },
            error => Self::Internal(error.into()),
        }
    }
}

impl From<FlowError> for AppError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::Database(error) => error.into(),
            FlowError::Mail(error) => Self::Mail(error),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::LoginRequired { .. } | Self::ConfirmationRequired { .. } => StatusCode::SEE_OTHER,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy { .. } | Self::SessionStoreUnavailable | Self::Overdue(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Database(error) if error.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_)
            | Self::Template(_)
            | Self::Mail(_)
            | Self::Http(_)
            | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::LoginRequired { next } = self {
            return redirect_to_login(next);
        }
        if let Self::ConfirmationRequired { next } = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, sudo::confirm_href(next)))
                .finish();
        }
        if let Self::Busy { retry_after } = self {
            // The server works as designed: at capacity, it says so at once.
            tracing::warn!(retry_after, "refused: too many password checks queued");
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, retry_after.to_string()))
                .finish();
        }
        if let Self::TooManyRequests { retry_after } = self {
            // An expected outcome, in the request's log line like the in-process limit's.
            return HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, retry_after.to_string()))
                .finish();
        }
        let status = self.status_code();
        // The session store logged its own failure, with the cause.
        if status.is_server_error() && !matches!(self, Self::SessionStoreUnavailable) {
            tracing::error!(error = %error_chain(self), "request failed");
        }
        // The body is replaced by the styled page in `render_error_page`.
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // The database is out or slow: browsers and clients may try again shortly.
            response.insert_header((
                header::RETRY_AFTER,
                DATABASE_RETRY_AFTER_SECONDS.to_string(),
            ));
        }
        response.finish()
    }
}

/// What a 503 for an unusable database asks clients to wait before trying again.
const DATABASE_RETRY_AFTER_SECONDS: u64 = 5;

/// A session the store could not read (the database is out) ends here, before any
/// handler, with the 503 page; see `sessions::store::UNREADABLE_KEY`.
pub async fn refuse_unreadable_session(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let unreadable = req
        .get_session()
        .get::<bool>(UNREADABLE_KEY)
        .ok()
        .flatten()
        .is_some();
    if unreadable {
        return Ok(req.error_response(AppError::SessionStoreUnavailable));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// Sends a visitor to the login page, which returns them to `next` afterwards.
fn redirect_to_login(next: &str) -> HttpResponse {
    let location = if next.is_empty() {
        paths::LOGIN.to_owned()
    } else {
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        format!("{}?{query}", paths::LOGIN)
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Turns a panic in a handler into the 500 page; actix-web would drop the connection.
/// Wraps each resource (see `web::resource`): only there, after routing, may the request
/// be kept aside for the answer.
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request = req.request().clone();
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(response) => response.map(ServiceResponse::map_into_boxed_body),
        Err(_) => {
            // The panic's message and location are already in the log (panic hook).
            tracing::error!(path = %request.path(), "request handler panicked");
            Ok(ServiceResponse::new(
                request,
                HttpResponse::InternalServerError().finish(),
            ))
        }
    }
}

/// Who is signed in, noted on the way in: error pages are rendered after the session
/// middleware has saved the session and emptied it.
#[derive(Clone)]
struct Visitor(Option<SessionUser>);

/// Notes the signed-in user for the error pages; wrap it inside the session.
pub async fn note_visitor(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let visitor = Visitor(signed_in_user(req.request()));
    req.extensions_mut().insert(visitor);
    next.call(req).await
}

/// Replaces the body of every error response that carries no page of its own
/// (errors from handlers and from actix-web itself: 404, 405, 413, ...) with
/// `templates/errors/<code>.html`, so no internal message ever reaches a browser.
pub fn render_error_page<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let has_own_page = res.response().error().is_none()
        && res.response().headers().get(header::CONTENT_TYPE).is_some();
    if has_own_page {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let page = res
        .request()
        .app_data::<web::Data<Templates>>()
        .map(|templates| error_page(templates, status, res.request()))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned());
    let (req, mut res) = res.into_parts();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let res = ServiceResponse::new(req, res.set_body(page))
        .map_into_boxed_body()
        .map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// The page for `status`: its own template when there is one, else the generic page
/// for its class (400 or 500).
fn error_page(templates: &Templates, status: StatusCode, req: &HttpRequest) -> String {
    let mut context = Context::new();
    // The signed-in header needs the CSRF token of its sign-out form, which a request
    // the CSRF check refused never got: such a page shows the signed-out header.
    let extensions = req.extensions();
    if let (Some(Visitor(Some(user))), Some(CsrfToken(token))) =
        (extensions.get::<Visitor>(), extensions.get::<CsrfToken>())
    {
        context.insert("current_user", user);
        context.insert("csrf_token", token);
    }
    context.insert("status", &status.as_u16());
    context.insert("reason", status.canonical_reason().unwrap_or("Error"));
    let fallback = if status.is_server_error() { 500 } else { 400 };
    [status.as_u16(), fallback]
        .iter()
        .find_map(|code| {
            templates
                .render(&format!("errors/{code}.html"), &context)
                .ok()
        })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned())
}
