//! Per-IP limits on the forms that guess or cost: sign-up, login, codes, resets and
//! the password change. Two of them: actix-governor in each instance's memory, which
//! costs nothing and turns a flood away first; then a budget in the database that
//! every instance shares, so running more instances gives no client more attempts.

use std::net::IpAddr;
use std::sync::Arc;

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::RETRY_AFTER;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use ipnet::IpNet;

use crate::config::RateLimitSettings;
use crate::models::rate_limit;
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::state::State;

/// The limiter's configuration, shared by every worker so an IP has one budget.
pub type AuthLimit = GovernorConfig<ClientIpKey, NoOpMiddleware<QuantaInstant>>;

/// POSTs only: showing a form costs nothing, sending it does.
pub fn auth_limit(limits: RateLimitSettings, trusted_proxies: &[IpNet]) -> AuthLimit {
    GovernorConfigBuilder::default()
        .period(limits.auth_refill)
        .burst_size(limits.auth_burst)
        .methods(vec![Method::POST])
        .key_extractor(ClientIpKey {
            trusted_proxies: Arc::new(trusted_proxies.to_vec()),
        })
        .finish()
        // Settings are validated to be at least 1, the only thing `finish` checks.
        .expect("rate limits are positive")
}

/// Keys the limit on the client's address, read through `TRUSTED_PROXIES` (a client
/// cannot get a fresh budget by sending its own `X-Forwarded-For`), and on the /64
/// for IPv6 (nor by moving to another address of its network).
#[derive(Debug, Clone)]
pub struct ClientIpKey {
    trusted_proxies: Arc<Vec<IpNet>>,
}

impl KeyExtractor for ClientIpKey {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, Self::KeyExtractionError> {
        let client = client_ip::of_request(req.request(), &self.trusted_proxies);
        Ok(client_ip::limit_key(client))
    }

    /// An empty 429 with `Retry-After`; the error pages give it its body.
    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now());
        // Rounded up: "0" would invite an immediate retry that fails again.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .insert_header((RETRY_AFTER, seconds.max(1)))
            .finish()
    }
}

/// The budget every instance shares, for a POST the in-process limit let through: one
/// upsert per attempt, counted per client (as above) and fixed window. Over it, 429
/// with `Retry-After` up to the window's end.
pub async fn shared_budget(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.method() == Method::POST
        && let Err(refusal) = count_attempt(&req).await
    {
        // A response, not an error: the layers outside still add their headers.
        return Ok(req
            .into_response(refusal.error_response())
            .map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Counts the request's attempt; refuses it when over the budget (or the database is out).
async fn count_attempt(req: &ServiceRequest) -> Result<(), AppError> {
    let state = State::of(req.request())?;
    let limits = state.settings.rate_limits;
    let client = client_ip::of_request(req.request(), &state.settings.trusted_proxies);
    let bucket = format!("auth {}", client_ip::limit_key(client));
    let now = state.now();
    let window = rate_limit::window_start(now, limits.auth_window);
    let hits = state
        .db(move |conn, _| rate_limit::count_hit(conn, &bucket, window))
        .await?;
    if hits > limits.auth_window_limit {
        let left = (window + limits.auth_window - now).num_milliseconds();
        // Rounded up: a retry a moment early would be refused again.
        let retry_after = ((left + 999) / 1000).max(1);
        return Err(AppError::TooManyRequests { retry_after });
    }
    Ok(())
}
