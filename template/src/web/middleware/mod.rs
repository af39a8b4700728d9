//! What requests pass through before a handler, outermost first: security headers,
//! the request log, the cap on a client's requests in progress, TRACE refusal, the
//! session cookie's lifetime, the CSRF check, on
//! the forms that check secrets or send mail the per-IP rate limits, and the handler's
//! deadline (`startup.rs` and `web::routes` put them in that order).

pub mod concurrency;
pub mod csrf;
pub mod deadline;
pub mod methods;
pub mod rate_limit;
pub mod request_log;
pub mod security_headers;
pub mod session_cookie;
