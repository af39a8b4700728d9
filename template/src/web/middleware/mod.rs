//! What requests pass through before a handler, outermost first: security headers,
//! the request log, the cap on a client's requests in progress, TRACE refusal, the
//! session cookie's lifetime, the CSRF check, on
//! the forms that check secrets or send mail the per-IP rate limits, and the handler's
//! deadline (`startup.rs` and `web::routes` put them in that order); on the admin
//! routes, the check that administrators use two-factor sign-in when it is required.

pub mod admin_two_factor;
pub mod concurrency;
pub mod csrf;
pub mod deadline;
pub mod methods;
pub mod rate_limit;
pub mod request_log;
pub mod security_headers;
pub mod session_cookie;
