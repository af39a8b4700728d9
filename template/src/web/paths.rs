//! Every path the routes answer and the handlers redirect to, once. (Links in mail are
//! built in `mail::message`, below the web layer; the tests follow every mailed link.)

pub const HOME: &str = "/";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const SIGNUP: &str = "/signup";
pub const VERIFY: &str = "/verify";
pub const VERIFY_RESEND: &str = "/verify/resend";
pub const LOGIN: &str = "/login";
pub const LOGOUT: &str = "/logout";
pub const FORGOT_PASSWORD: &str = "/forgot-password";
pub const RESET_PASSWORD: &str = "/reset-password";
pub const DASHBOARD: &str = "/dashboard";
pub const ACCOUNT: &str = "/account";
pub const ACCOUNT_EMAIL: &str = "/account/email";
pub const ACCOUNT_EMAIL_CONFIRM: &str = "/account/email/confirm";
pub const ACCOUNT_EMAIL_CANCEL: &str = "/account/email/cancel";
pub const ACCOUNT_PASSWORD: &str = "/account/password";
pub const ACCOUNT_CONFIRM: &str = "/account/confirm";
pub const ACCOUNT_DELETE: &str = "/account/delete";
pub const ACCOUNT_EXPORT: &str = "/account/export";
pub const ACCOUNT_SESSIONS: &str = "/account/sessions";
pub const ACCOUNT_SESSION_SIGN_OUT: &str = "/account/sessions/{id}/sign-out";
pub const ACCOUNT_SESSIONS_SIGN_OUT_OTHERS: &str = "/account/sessions/sign-out-others";
pub const ADMIN: &str = "/admin";
pub const ADMIN_USERS: &str = "/admin/users";
pub const ADMIN_AUDIT: &str = "/admin/audit";
pub const ADMIN_MAIL: &str = "/admin/mail";
pub const ADMIN_MAIL_ACTION: &str = "/admin/mail/{id}/{action}";
pub const ADMIN_RESEND_VERIFICATION: &str = "/admin/users/{id}/resend-verification";
pub const ADMIN_USER_ACTION: &str = "/admin/users/{id}/{action}";
pub const STATIC: &str = "/static";
