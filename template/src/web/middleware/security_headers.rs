//! The headers that tell browsers to lock the site down, on every response: pages,
//! redirects, static files and error pages alike.

use actix_web::middleware::DefaultHeaders;

/// Everything comes from this site; no inline scripts or styles, no plugins, no
/// framing, and forms post only here. A page that needs more should say so in this one
/// place, not loosen it per route.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Powerful browser features the app does not use, switched off for it and any frame.
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), \
     gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";

/// Two years, the value browsers' preload lists ask for.
const HSTS: &str = "max-age=63072000; includeSubDomains";

/// The headers, added where a response does not set its own (the password reset page
/// sets a stricter `Referrer-Policy`). `https` adds HSTS: only a site served over
/// https may ask browsers to insist on it.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add(("Permissions-Policy", PERMISSIONS_POLICY))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"));
    if https {
        headers.add(("Strict-Transport-Security", HSTS))
    } else {
        headers
    }
}
