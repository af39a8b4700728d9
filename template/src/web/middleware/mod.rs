//! What every request passes through, outermost first: security headers, TRACE
//! refusal, the per-IP limit on the forms that check secrets, and the CSRF check.

pub mod csrf;
pub mod methods;
pub mod rate_limit;
pub mod security_headers;
