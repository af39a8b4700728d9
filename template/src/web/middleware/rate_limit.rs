//! Per-IP limits on the forms that guess or cost: sign-up, login, codes, resets and
//! the password change.

use std::net::IpAddr;
use std::sync::Arc;

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::http::Method;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpResponse, HttpResponseBuilder};
use ipnet::IpNet;

use crate::config::RateLimitSettings;
use crate::web::client_ip;

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
