//! Redirects, and the one check every user-supplied redirect target goes through.

use actix_web::HttpResponse;
use actix_web::dev::ResourceDef;
use actix_web::http::header;

use crate::web::paths;

/// A 303 redirect, the right answer to a form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The routes that only take a form POST: following a redirect there ends on the 405
/// page.
const POST_ONLY: [&str; 7] = [
    paths::LOGOUT,
    paths::VERIFY_RESEND,
    paths::ADMIN_MAIL_ACTION,
    paths::ADMIN_RESEND_VERIFICATION,
    paths::ADMIN_USER_ACTION,
    paths::ACCOUNT_SESSION_SIGN_OUT,
    paths::ACCOUNT_SESSIONS_SIGN_OUT_OTHERS,
];

/// `next` if it is a page on this site, else `None`. Refuses everything a browser
/// could read as another host: `//x`, `/\x`, `\\x`, `https:x`, encoded slashes
/// (`/%2F%2Fx`), control characters and whitespace (`%09//x` decodes to a tab); and
/// the routes a browser cannot open (`/logout`).
pub fn safe_next(next: &str) -> Option<&str> {
    let looks_local = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2048
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    if !looks_local {
        return None;
    }
    let lower = next.to_ascii_lowercase();
    // A slash or backslash hidden behind percent-encoding right after the first one.
    let hides_host = ["/%2f", "/%5c"].iter().any(|p| lower.starts_with(p));
    let hides_control = lower.contains("%0") || lower.contains("%1") || lower.contains("%7f");
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let post_only = POST_ONLY
        .iter()
        .any(|route| ResourceDef::new(*route).is_match(path));
    (!hides_host && !hides_control && !post_only).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn paths_on_this_site_are_accepted() {
        for next in ["/", "/dashboard", "/admin/users?page=2&q=a%20b", "/a/b#c"] {
            assert_eq!(safe_next(next), Some(next));
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_is_refused() {
        for next in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https:evil.example",
            "https://evil.example",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "%09//evil.example",
            "/%09/evil.example",
            "javascript:alert(1)",
            " /dashboard",
            "/dash\tboard",
            "",
        ] {
            assert_eq!(safe_next(next), None, "{next:?} was accepted");
        }
    }

    #[test]
    fn paths_that_only_take_a_form_post_are_refused() {
        for next in [
            "/logout",
            "/verify/resend",
            "/admin/users/5/disable",
            "/admin/users/5/resend-verification?x=1",
        ] {
            assert_eq!(safe_next(next), None, "{next:?} was accepted");
        }
        assert_eq!(safe_next("/admin/users/"), Some("/admin/users/"));
    }
}
