//! The request log: one line per request when it ends, with the client's address read
//! through `TRUSTED_PROXIES` as everywhere else (a forged `X-Forwarded-For` is not
//! believed here either), and errors logged for what they are.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::field::Empty;
use tracing::{Level, Span};
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::paths;
use crate::web::state::State;

/// Builds each request's span for `TracingLogger`.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let client = request
            .app_data::<State>()
            .map(|state| client_ip::of_request(request.request(), &state.settings.trusted_proxies));
        let request_id = request.extensions().get::<RequestId>().copied();
        let route = request.match_pattern();
        let route = route.as_deref().unwrap_or("default");
        macro_rules! request_span {
            ($level:expr) => {
                tracing::span!(
                    $level,
                    "request",
                    method = %request.method(),
                    route = %route,
                    // Without the query: it can carry a password reset token, or a
                    // search for someone's address, which the log must not keep.
                    path = %request.path(),
                    client_ip = client.map(tracing::field::display),
                    request_id = request_id.map(tracing::field::display),
                    status = Empty,
                )
            };
        }
        // A page's stylesheet, script and fonts would bury its own line, and so would
        // the probes a load balancer or HEALTHCHECK asks every few seconds. (`span!`
        // needs its level as a constant.)
        if route.starts_with(paths::STATIC) || route == paths::HEALTHZ || route == paths::READYZ {
            request_span!(Level::DEBUG)
        } else {
            request_span!(Level::INFO)
        }
    }

    /// Records the status. A redirect to login, a 404, a refused form or a 429 is an
    /// expected outcome and stays in the request's line; a fault is logged at ERROR:
    /// by `AppError` itself, with its causes, or here when something else failed.
    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error) = match outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(error) => (error.as_response_error().status_code(), Some(error)),
        };
        span.record("status", status.as_u16());
        if let Some(error) = error.filter(|_| status.is_server_error())
            && error.as_error::<AppError>().is_none()
        {
            tracing::error!(parent: &span, %error, "request failed");
        }
    }
}
