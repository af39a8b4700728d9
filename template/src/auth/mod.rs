//! Who is asking: sessions, the signed-in user, and CSRF protection.

pub mod csrf;
pub mod current_user;
pub mod keys;
pub mod pending;
pub mod purge;
pub mod session_store;

pub use current_user::{AdminUser, CurrentUser};
pub use keys::Keys;
pub use session_store::{DbSessionStore, SessionUser};

/// Cookie names. With `Secure` cookies (an https `APP_BASE_URL`), the `__Host-`
/// prefix makes browsers refuse them from any subdomain or over plain http.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub secure: bool,
    pub session: String,
    pub csrf: String,
    pub pending: String,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        let prefix = if secure { "__Host-" } else { "" };
        Self {
            secure,
            session: format!("{prefix}session"),
            csrf: format!("{prefix}csrf"),
            pending: format!("{prefix}pending"),
        }
    }
}
