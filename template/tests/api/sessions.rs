//! Sessions (SECURITY.md items 10-15), from the outside: what a browser or someone
//! holding a copy of a cookie can and cannot do.

use std::collections::HashSet;

use chrono::Duration;
use diesel::prelude::*;
use reqwest::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};

use {{crate_name}}::clock::Clock;
use {{crate_name}}::db::schema::sessions;
use {{crate_name}}::models::session::purge_expired_sessions;

use crate::helpers::{
    Browser, PASSWORD, TestApp, TestUser, path_of, reset_link_in, spawn_app, spawn_app_with,
};

const ADA: &str = "ada@example.com";
const GRACE: &str = "grace@example.com";
const NEW_PASSWORD: &str = "Tea-Kettle-Harbour-42";

#[tokio::test]
async fn visitors_get_no_session_cookie_until_they_sign_in() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let browser = app.new_browser();

    for path in ["/", "/login", "/signup", "/forgot-password"] {
        let response = browser.get(path).await;
        assert_eq!(set_cookie(&response, "session"), None, "GET {path}");
    }
    let login = browser.login(&ada.email, &ada.password).await;

    assert!(
        set_cookie(&login, "session").is_some(),
        "login set no session cookie"
    );
}

#[tokio::test]
async fn the_cookie_a_visitor_gets_before_login_carries_no_identity() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let browser = app.new_browser();
    let first_visit = browser.get("/login").await;
    let visitor_cookie = cookie_header(&first_visit);
    assert!(visitor_cookie.starts_with("csrf="), "{visitor_cookie}");

    browser.login(&ada.email, &ada.password).await;

    // Whoever kept the pre-login cookie (a shared computer, a planted cookie) is
    // still a stranger.
    assert_redirects_to_login(&get_with_cookie(&app, &visitor_cookie, "/dashboard").await);
}

#[tokio::test]
async fn the_session_id_and_the_csrf_token_change_at_every_login() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let browser = app.new_browser();
    let anonymous_token = browser.csrf_token().await;

    let first_login = browser.login(&ada.email, &ada.password).await;
    let first_cookie = cookie_header(&first_login);
    let first_token = browser.csrf_token().await;
    let second_login = browser.login(&ada.email, &ada.password).await;
    let second_cookie = cookie_header(&second_login);
    let second_token = browser.csrf_token().await;

    assert!(first_cookie.contains("session="), "{first_cookie}");
    assert!(second_cookie.contains("session="), "{second_cookie}");
    assert_ne!(first_cookie, second_cookie);
    assert_ne!(anonymous_token, first_token);
    assert_ne!(first_token, second_token);
    // The old session id is dead, the new one works.
    assert_redirects_to_login(&get_with_cookie(&app, &first_cookie, "/dashboard").await);
    assert_eq!(
        get_with_cookie(&app, &second_cookie, "/dashboard")
            .await
            .status(),
        200
    );
    // Tokens from before a login no longer count.
    for stale in [&anonymous_token, &first_token] {
        let response = post_with_token(&browser, "/logout", Some(stale), &[]).await;
        assert_eq!(response.status(), 403);
    }
    assert_eq!(browser.get("/dashboard").await.status(), 200);
}

#[tokio::test]
async fn a_replayed_cookie_after_logout_lands_on_the_login_page() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let browser = app.new_browser();
    let login = browser.login(&ada.email, &ada.password).await;
    let copied = cookie_header(&login);
    assert_eq!(
        get_with_cookie(&app, &copied, "/dashboard").await.status(),
        200,
        "the copied cookie should work while its session lasts"
    );

    let logout = browser.logout().await;
    let replayed = get_with_cookie(&app, &copied, "/dashboard").await;

    assert_eq!(logout.status(), 303);
    assert_redirects_to_login(&replayed);
    // The browser itself carries on signed out, and is told so.
    let login_page = browser.get("/login").await.text().await.unwrap();
    assert!(login_page.contains("You are signed out."), "{login_page}");
    assert_redirects_to_login(&browser.get("/dashboard").await);
}

#[tokio::test]
async fn a_session_left_alone_for_31_minutes_ends() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    assert_eq!(app.get("/dashboard").await.status(), 200);

    app.clock.advance(Duration::minutes(31));

    assert_redirects_to_login(&app.get("/dashboard").await);
}

#[tokio::test]
async fn activity_keeps_a_session_alive_but_not_beyond_12_hours() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    for step in 1..=35 {
        app.clock.advance(Duration::minutes(20));
        let response = app.get("/dashboard").await;
        assert_eq!(
            response.status(),
            200,
            "signed out {} minutes after login",
            step * 20
        );
    }
    app.clock.advance(Duration::minutes(20));

    assert_redirects_to_login(&app.get("/dashboard").await);
}

#[tokio::test]
async fn a_remembered_session_outlives_12_hours_but_ends_after_14_days() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let browser = app.new_browser();
    let login = remembered_login(&browser, &ada).await;
    assert_eq!(login.status(), 303);

    app.clock.advance(Duration::hours(13));
    let after_13_hours = browser.get("/dashboard").await.status();
    app.clock.advance(Duration::days(13) + Duration::hours(10));
    let after_13_days_23_hours = browser.get("/dashboard").await.status();
    app.clock.advance(Duration::hours(1) + Duration::minutes(1));
    let after_14_days = browser.get("/dashboard").await;

    assert_eq!(after_13_hours, 200);
    assert_eq!(after_13_days_23_hours, 200);
    assert_redirects_to_login(&after_14_days);
}

#[tokio::test]
async fn only_a_remembered_sign_in_keeps_its_cookie_after_the_browser_closes() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let session_cookie = |response: &reqwest::Response| -> HashSet<String> {
        let cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|header| header.to_str().unwrap())
            .find(|cookie| cookie.starts_with("session="))
            .expect("the sign-in sets the session cookie")
            .to_owned();
        attributes_of(&cookie)
            .into_iter()
            .map(|attribute| attribute.split('=').next().unwrap().to_owned())
            .collect()
    };

    let plain = app.new_browser().login(&ada.email, &ada.password).await;
    let remembered = remembered_login(&app.new_browser(), &ada).await;

    let plain = session_cookie(&plain);
    assert!(
        !plain.contains("max-age") && !plain.contains("expires"),
        "{plain:?}"
    );
    assert!(session_cookie(&remembered).contains("max-age"));
}

#[tokio::test]
async fn a_sign_in_without_remember_me_after_a_remembered_one_in_the_same_browser_is_not_remembered()
 {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let bob = app
        .signed_up_user_in(&app.new_browser(), "bob@example.com")
        .await;
    let shared = app.new_browser();
    remembered_login(&shared, &ada).await;

    let plain = shared.login(&bob.email, &bob.password).await;

    let cookie = plain
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|header| header.to_str().unwrap().to_owned())
        .find(|cookie| cookie.starts_with("session="))
        .expect("the sign-in sets the session cookie");
    let attributes = attributes_of(&cookie);
    assert!(
        !attributes
            .iter()
            .any(|a| a.starts_with("max-age") || a.starts_with("expires")),
        "Bob's session kept Ada's \"remember me\": {cookie}"
    );
}

#[tokio::test]
async fn a_password_change_ends_the_users_other_sessions_but_not_the_changing_one() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let laptop = app.new_browser();
    laptop.login(&ada.email, &ada.password).await;
    let grace = app.new_browser();
    app.signed_up_user_in(&grace, GRACE).await;

    let response = app
        .post_form(
            "/account/password",
            &[
                ("current_password", &ada.password),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(
        app.get("/dashboard").await.status(),
        200,
        "the changing browser was signed out"
    );
    assert_redirects_to_login(&laptop.get("/dashboard").await);
    assert_eq!(
        grace.get("/dashboard").await.status(),
        200,
        "another user was signed out"
    );
}

#[tokio::test]
async fn a_password_reset_ends_every_session_of_the_user() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let laptop = app.new_browser();
    laptop.login(&ada.email, &ada.password).await;
    let phone = app.new_browser();
    phone.post_form("/forgot-password", &[("email", ADA)]).await;
    let mail = app.wait_for_mail(ADA, "reset").await;
    let link = reset_link_in(&mail.text).expect("no reset link in the mail");

    let response = phone
        .post_form(
            &path_of(&link),
            &[
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;

    assert_eq!(response.status(), 303);
    assert_redirects_to_login(&app.get("/dashboard").await);
    assert_redirects_to_login(&laptop.get("/dashboard").await);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_site_wide_host_only_and_small() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;

    let login = app.new_browser().login(&ada.email, &ada.password).await;

    let cookie = set_cookie(&login, "session").expect("login set no cookie named session");
    let attributes = attributes_of(&cookie);
    assert!(attributes.contains("httponly"), "{cookie}");
    assert!(attributes.contains("samesite=lax"), "{cookie}");
    assert!(attributes.contains("path=/"), "{cookie}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{cookie}"
    );
    assert!(cookie.len() < 4096, "{} bytes", cookie.len());
    // Plain http (APP_BASE_URL http://...): a Secure cookie would never come back,
    // and __Host- requires Secure.
    assert!(!attributes.contains("secure"), "{cookie}");
    assert!(
        login
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .all(|header| !header.to_str().unwrap().starts_with("__Host-")),
        "a __Host- cookie without Secure"
    );
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure_and_host_prefixed() {
    let app = spawn_app_with(&[("APP_BASE_URL", "https://app.example.test")]).await;
    let ada = app.signed_up_user(ADA).await;

    let login = app.new_browser().login(&ada.email, &ada.password).await;

    let cookie =
        set_cookie(&login, "__Host-session").expect("login set no cookie named __Host-session");
    let attributes = attributes_of(&cookie);
    assert!(attributes.contains("secure"), "{cookie}");
    assert!(attributes.contains("httponly"), "{cookie}");
    assert!(attributes.contains("samesite=lax"), "{cookie}");
    assert!(attributes.contains("path=/"), "{cookie}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{cookie}"
    );
    assert_eq!(set_cookie(&login, "session"), None);
}

#[tokio::test]
async fn every_cookie_the_app_sets_is_http_only_lax_site_wide_and_host_only() {
    let app = spawn_app().await;
    let browser = app.new_browser();

    let mut responses = vec![browser.get("/").await];
    responses.push(browser.signup("Ada Lovelace", ADA, PASSWORD).await);
    let code = app.latest_code_for(ADA).await;
    responses.push(browser.post_form("/verify", &[("code", &code)]).await);
    responses.push(browser.logout().await);

    let mut names = HashSet::new();
    for response in &responses {
        for header in response.headers().get_all(SET_COOKIE) {
            let cookie = header.to_str().unwrap();
            let (name, value) = cookie
                .split(';')
                .next()
                .and_then(|pair| pair.split_once('='))
                .unwrap();
            if value.is_empty() {
                continue; // a removal: it carries nothing
            }
            names.insert(name.to_owned());
            let attributes = attributes_of(cookie);
            assert!(attributes.contains("httponly"), "{cookie}");
            assert!(attributes.contains("samesite=lax"), "{cookie}");
            assert!(attributes.contains("path=/"), "{cookie}");
            assert!(
                !attributes.iter().any(|a| a.starts_with("domain")),
                "{cookie}"
            );
            assert!(cookie.len() < 4096, "{} bytes: {cookie}", cookie.len());
        }
    }
    for name in ["csrf", "pending", "session"] {
        assert!(names.contains(name), "no {name} cookie was set: {names:?}");
    }
    // Flash messages live in the session on the server: they can quote an address.
    assert!(!names.contains("_flash"), "{names:?}");
}

#[tokio::test]
async fn auth_forms_signed_in_pages_and_error_pages_are_never_cached() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let visitor = app.new_browser();
    let pending = app.new_browser();
    pending.signup("Grace Hopper", GRACE, PASSWORD).await;

    let pages = [
        (&visitor, "/login", 200),
        (&visitor, "/signup", 200),
        (&visitor, "/forgot-password", 200),
        (&pending, "/verify", 200),
        (&app.browser, "/dashboard", 200),
        (&app.browser, "/account/password", 200),
        (&visitor, "/no-such-page", 404),
    ];
    for (browser, path, status) in pages {
        let response = browser.get(path).await;
        assert_eq!(response.status(), status, "GET {path}");
        assert_eq!(cache_control(&response), ["no-store"], "GET {path}");
    }
    let refused = post_with_token(&visitor, "/login", None, &[("email", ADA)]).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(cache_control(&refused), ["no-store"], "the 403 page");
}

#[tokio::test]
async fn anonymous_visitors_store_no_session_rows() {
    let app = spawn_app().await;
    let visitor = app.new_browser();

    for path in ["/", "/login", "/signup", "/forgot-password", "/", "/login"] {
        assert_eq!(visitor.get(path).await.status(), 200, "GET {path}");
    }
    let failed_login = visitor.login("nobody@example.com", PASSWORD).await;

    assert_eq!(failed_login.status(), 422);
    assert_eq!(session_rows(&app), 0);
}

#[tokio::test]
async fn signed_in_page_views_store_no_further_session_rows() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let after_sign_in = session_rows(&app);

    for path in ["/", "/dashboard", "/account/password", "/dashboard"] {
        assert_eq!(app.get(path).await.status(), 200, "GET {path}");
    }

    assert_eq!(after_sign_in, 1);
    assert_eq!(session_rows(&app), 1);
}

#[tokio::test]
async fn ended_sessions_are_purged_and_live_ones_kept() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let grace = app.new_browser();
    app.signed_up_user_in(&grace, GRACE).await;
    // Ada's session idles out; Grace keeps hers alive.
    app.clock.advance(Duration::minutes(20));
    grace.get("/dashboard").await;
    app.clock.advance(Duration::minutes(15));

    let purged = {
        let mut conn = app.pool.get().unwrap();
        purge_expired_sessions(&mut conn, app.clock.now()).unwrap()
    };

    assert_eq!(purged, 1);
    assert_eq!(session_rows(&app), 1);
    assert_eq!(grace.get("/dashboard").await.status(), 200);
}

/// Posts a form with exactly this token (or none), whatever the browser's own is.
async fn post_with_token(
    browser: &Browser,
    path: &str,
    token: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    post_exactly(browser, path, &with_token(token, fields), &[]).await
}

pub fn with_token<'a>(
    token: Option<&'a str>,
    fields: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = token
        .map(|token| ("csrf_token", token))
        .into_iter()
        .collect();
    form.extend_from_slice(fields);
    form
}

/// Posts exactly these form fields, with extra request headers.
pub async fn post_exactly(
    browser: &Browser,
    path: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = browser.client.post(browser.url(path)).form(form);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request failed")
}

fn session_rows(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    sessions::table.count().get_result(&mut conn).unwrap()
}

/// A 303 to the login page: what a visitor without a live session gets.
pub fn assert_redirects_to_login(response: &reqwest::Response) {
    assert_eq!(response.status(), 303, "{}", response.url());
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(location.starts_with("/login"), "redirected to {location}");
}

/// The full `Set-Cookie` line for the cookie called `name`, unless it is a removal.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|header| header.to_str().unwrap().to_owned())
        .find(|cookie| {
            cookie
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .is_some_and(|rest| !rest.starts_with(';') && !rest.is_empty())
        })
}

/// Signs `user` in from `browser` with "remember me" ticked.
async fn remembered_login(browser: &Browser, user: &TestUser) -> reqwest::Response {
    browser
        .post_form(
            "/login",
            &[
                ("email", &user.email),
                ("password", &user.password),
                ("remember_me", "1"),
            ],
        )
        .await
}

/// The attributes of a `Set-Cookie` line, lower-cased, without the name and value.
fn attributes_of(cookie: &str) -> HashSet<String> {
    cookie
        .split(';')
        .skip(1)
        .map(|attribute| attribute.trim().to_ascii_lowercase())
        .collect()
}

/// The `Cookie` header a browser would send back for what `response` set: a copy
/// of the visitor's identity, as anyone who got hold of it could replay it.
fn cookie_header(response: &reqwest::Response) -> String {
    response
        .cookies()
        .filter(|cookie| !cookie.value().is_empty())
        .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A GET from a client with no cookie jar that sends exactly `cookie`.
async fn get_with_cookie(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("request failed")
}

fn cache_control(response: &reqwest::Response) -> Vec<&str> {
    response
        .headers()
        .get_all(CACHE_CONTROL)
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect()
}
