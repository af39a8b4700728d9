//! The names of the application's cookies.

/// Cookie names. With `Secure` cookies (an https `APP_BASE_URL`), the `__Host-`
/// prefix makes browsers refuse them from any subdomain or over plain http.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub secure: bool,
    pub session: String,
    pub csrf: String,
    pub pending: String,
    pub device: String,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        let prefix = if secure { "__Host-" } else { "" };
        Self {
            secure,
            session: format!("{prefix}session"),
            csrf: format!("{prefix}csrf"),
            pending: format!("{prefix}pending"),
            device: format!("{prefix}device"),
        }
    }
}
