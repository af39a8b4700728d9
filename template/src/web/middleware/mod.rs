//! What requests pass through before a handler, outermost first: security headers,
//! the request log, TRACE refusal, the session cookie's lifetime, the CSRF check and, on the forms that check secrets or send mail,
//! the per-IP rate limit (`startup.rs` and `web::routes` put them in that order).

pub mod csrf;
pub mod methods;
pub mod rate_limit;
pub mod request_log;
pub mod security_headers;
pub mod session_cookie;
