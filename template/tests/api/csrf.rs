//! CSRF protection (SECURITY.md item 9), from the outside: what a forged form can
//! and cannot do.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use reqwest::header::LOCATION;

use {{crate_name}}::db::schema::{
    outbox_messages, passkeys, password_reset_tokens, sessions, two_factor, users,
    verification_codes,
};

use crate::helpers::{Browser, PASSWORD, TestApp, path_of, reset_link_in, spawn_app};
use crate::sessions::{assert_redirects_to_login, post_exactly, with_token};

const ADA: &str = "ada@example.com";
const GRACE: &str = "grace@example.com";
const NEW_PASSWORD: &str = "Tea-Kettle-Harbour-42";
const NEW_ADDRESS: &str = "ada.new@example.com";

#[tokio::test]
async fn posts_without_a_csrf_token_get_403_and_change_nothing() {
    every_form_refuses(Forgery::NoToken).await;
}

#[tokio::test]
async fn posts_with_another_browsers_csrf_token_get_403_and_change_nothing() {
    every_form_refuses(Forgery::AnotherBrowsersToken).await;
}

#[tokio::test]
async fn posts_from_another_sites_origin_get_403_even_with_a_valid_token() {
    every_form_refuses(Forgery::CrossSiteOrigin).await;
}

#[tokio::test]
async fn posts_the_browser_marks_cross_site_get_403_even_with_a_valid_token() {
    every_form_refuses(Forgery::CrossSiteFetch).await;
}

#[tokio::test]
async fn posts_from_this_site_pass_the_origin_and_fetch_metadata_checks() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let browser = app.new_browser();

    let token = browser.csrf_token().await;
    let login = post_exactly(
        &browser,
        "/login",
        &with_token(
            Some(&token),
            &[("email", &ada.email), ("password", &ada.password)],
        ),
        &[("origin", &app.address), ("sec-fetch-site", "same-origin")],
    )
    .await;
    // Behind a proxy the browser's origin is the public URL, not the Host the app sees.
    let token = browser.csrf_token().await;
    let logout = post_exactly(
        &browser,
        "/logout",
        &with_token(Some(&token), &[]),
        &[("origin", &app.settings.base_url)],
    )
    .await;

    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()[LOCATION], "/dashboard");
    assert_eq!(logout.status(), 303);
    assert_redirects_to_login(&browser.get("/dashboard").await);
}

#[tokio::test]
async fn get_requests_never_change_state() {
    let cast = Cast::new().await;
    let before = database_state(&cast.app);

    for (browser, path, fields) in cast.forms() {
        let query = serde_urlencoded::to_string(&fields).unwrap();
        let separator = if path.contains('?') { '&' } else { '?' };
        let response = browser.get(&format!("{path}{separator}{query}")).await;
        assert!(!response.status().is_server_error(), "GET {path}");
    }

    assert_eq!(
        database_state(&cast.app),
        before,
        "a GET changed the database"
    );
    cast.assert_nobody_signed_in_or_out().await;
}

/// How a forged POST differs from a form the app served to the browser.
#[derive(Debug, Clone, Copy)]
enum Forgery {
    /// No token at all.
    NoToken,
    /// A valid token, but another browser's.
    AnotherBrowsersToken,
    /// The browser's own token, posted by a page on another site.
    CrossSiteOrigin,
    /// The browser's own token, in a request the browser marks as cross-site.
    CrossSiteFetch,
}

/// A form as its user would send it: from which browser, to where, with which fields.
type Form<'a> = (&'a Browser, &'a str, Vec<(&'static str, &'a str)>);

/// A signed-in user (Ada, in the app's default browser), a visitor waiting for
/// their verification code and an anonymous visitor: someone for every form.
struct Cast {
    app: TestApp,
    pending: Browser,
    visitor: Browser,
    /// The code mailed to the pending visitor.
    code: String,
    /// The path of the reset link mailed to Ada.
    reset_path: String,
    /// The path that signs out Ada's second session (another browser of hers).
    sign_out_path: String,
    /// The code mailed to the address Ada asked to move to.
    email_code: String,
}

impl Cast {
    async fn new() -> Self {
        let app = spawn_app().await;
        app.signed_up_user(ADA).await;
        let pending = app.new_browser();
        pending.signup("Grace Hopper", GRACE, PASSWORD).await;
        let code = app.latest_code_for(GRACE).await;
        app.new_browser()
            .post_form("/forgot-password", &[("email", ADA)])
            .await;
        let mail = app.wait_for_mail(ADA, "reset").await;
        let reset_path = path_of(&reset_link_in(&mail.text).expect("no reset link in the mail"));
        app.post_form(
            "/account/email",
            &[("email", NEW_ADDRESS), ("current_password", PASSWORD)],
        )
        .await;
        let email_code = app.latest_code_for(NEW_ADDRESS).await;
        let visitor = app.new_browser();
        visitor.get("/").await;
        app.new_browser().login(ADA, PASSWORD).await;
        let second_session: i64 = {
            let mut conn = app.pool.get().unwrap();
            sessions::table
                .filter(sessions::user_id.is_not_null())
                .select(diesel::dsl::max(sessions::id))
                .get_result::<Option<i64>>(&mut conn)
                .unwrap()
                .expect("no session")
        };
        let sign_out_path = format!("/account/sessions/{second_session}/sign-out");
        // Past the resend cooldown, so a resend would send a code.
        app.clock.advance(Duration::minutes(2));
        Self {
            app,
            pending,
            visitor,
            code,
            reset_path,
            sign_out_path,
            email_code,
        }
    }

    /// Every state-changing form, filled in by the one who would send it.
    fn forms(&self) -> Vec<Form<'_>> {
        vec![
            (
                &self.visitor,
                "/login",
                vec![("email", ADA), ("password", PASSWORD)],
            ),
            (
                &self.visitor,
                "/signup",
                vec![
                    ("name", "Mallory"),
                    ("email", "mallory@example.com"),
                    ("password", PASSWORD),
                    ("password_confirmation", PASSWORD),
                ],
            ),
            (&self.pending, "/verify", vec![("code", &self.code)]),
            (&self.pending, "/verify/resend", vec![]),
            (&self.visitor, "/forgot-password", vec![("email", ADA)]),
            (
                &self.visitor,
                &self.reset_path,
                vec![
                    ("password", NEW_PASSWORD),
                    ("password_confirmation", NEW_PASSWORD),
                ],
            ),
            (
                &self.app.browser,
                "/account/password",
                vec![
                    ("current_password", PASSWORD),
                    ("password", NEW_PASSWORD),
                    ("password_confirmation", NEW_PASSWORD),
                ],
            ),
            (&self.app.browser, "/account", vec![("name", "Not Ada")]),
            (
                &self.app.browser,
                "/account/email",
                vec![
                    ("email", "ada.other@example.com"),
                    ("current_password", PASSWORD),
                ],
            ),
            (
                &self.app.browser,
                "/account/email/confirm",
                vec![("code", &self.email_code)],
            ),
            (&self.app.browser, "/account/email/cancel", vec![]),
            (&self.app.browser, "/account/two-factor", vec![]),
            (
                &self.app.browser,
                "/account/two-factor/enable",
                vec![("code", "123456")],
            ),
            (
                &self.app.browser,
                "/account/two-factor/recovery-codes",
                vec![],
            ),
            (&self.app.browser, "/account/two-factor/disable", vec![]),
            (&self.visitor, "/login/two-factor", vec![("code", "123456")]),
            (&self.visitor, "/login/two-factor/passkey/options", vec![]),
            (
                &self.visitor,
                "/login/two-factor/passkey",
                vec![("credential", "{}")],
            ),
            (&self.visitor, "/login/passkey/options", vec![]),
            (&self.visitor, "/login/passkey", vec![("credential", "{}")]),
            (&self.app.browser, "/account/passkeys/options", vec![]),
            (
                &self.app.browser,
                "/account/passkeys",
                vec![("name", "Laptop"), ("credential", "{}")],
            ),
            (&self.app.browser, "/account/passkeys/1/remove", vec![]),
            (
                &self.app.browser,
                "/account/confirm",
                vec![("password", PASSWORD)],
            ),
            (&self.app.browser, &self.sign_out_path, vec![]),
            (
                &self.app.browser,
                "/account/sessions/sign-out-others",
                vec![],
            ),
            (&self.app.browser, "/logout", vec![]),
        ]
    }

    /// Ada is still signed in, the visitors still are not.
    async fn assert_nobody_signed_in_or_out(&self) {
        assert_eq!(
            self.app.get("/dashboard").await.status(),
            200,
            "Ada was signed out"
        );
        assert_redirects_to_login(&self.visitor.get("/dashboard").await);
        assert_redirects_to_login(&self.pending.get("/dashboard").await);
    }
}

/// Sends every form forged in one way: each must get 403 and leave the database
/// and everyone's sign-in as they were.
async fn every_form_refuses(forgery: Forgery) {
    let cast = Cast::new().await;
    let before = database_state(&cast.app);

    for (browser, path, fields) in cast.forms() {
        let response = forged_post(&cast.app, browser, path, &fields, forgery).await;
        assert_eq!(response.status(), 403, "{forgery:?}: POST {path}");
    }

    assert_eq!(
        database_state(&cast.app),
        before,
        "a refused POST changed the database"
    );
    cast.assert_nobody_signed_in_or_out().await;
}

async fn forged_post(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    forgery: Forgery,
) -> reqwest::Response {
    let token = match forgery {
        Forgery::NoToken => None,
        Forgery::AnotherBrowsersToken => Some(app.new_browser().csrf_token().await),
        Forgery::CrossSiteOrigin | Forgery::CrossSiteFetch => Some(browser.csrf_token().await),
    };
    let headers: &[(&str, &str)] = match forgery {
        Forgery::CrossSiteOrigin => &[("origin", "https://evil.example")],
        Forgery::CrossSiteFetch => &[("sec-fetch-site", "cross-site")],
        Forgery::NoToken | Forgery::AnotherBrowsersToken => &[],
    };
    post_exactly(
        browser,
        path,
        &with_token(token.as_deref(), fields),
        headers,
    )
    .await
}

/// What a state-changing request could leave behind, in a form to compare.
fn database_state(app: &TestApp) -> String {
    type UserRow = (
        String,
        String,
        String,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        i32,
    );
    let mut conn = app.pool.get().unwrap();
    let users: Vec<UserRow> = users::table
        .select((
            users::email,
            users::name,
            users::password_hash,
            users::email_verified_at,
            users::last_login_at,
            users::failed_login_count,
        ))
        .order(users::id)
        .load(&mut conn)
        .unwrap();
    let sessions: Vec<(String, Option<i64>, String)> = sessions::table
        .select((sessions::key_hash, sessions::user_id, sessions::state))
        .order(sessions::id)
        .load(&mut conn)
        .unwrap();
    // A flash message is shown once: the page that shows it removes it, which is a
    // read, not a change.
    let sessions: Vec<_> = sessions
        .into_iter()
        .map(|(key, user, state)| {
            let mut state: BTreeMap<String, String> = serde_json::from_str(&state).unwrap();
            state.remove("_flash");
            (key, user, state)
        })
        .collect();
    let codes: Vec<(i32, Option<NaiveDateTime>)> = verification_codes::table
        .select((
            verification_codes::attempts,
            verification_codes::consumed_at,
        ))
        .order(verification_codes::id)
        .load(&mut conn)
        .unwrap();
    let reset_tokens: Vec<Option<NaiveDateTime>> = password_reset_tokens::table
        .select(password_reset_tokens::used_at)
        .order(password_reset_tokens::id)
        .load(&mut conn)
        .unwrap();
    let second_factors: i64 = two_factor::table.count().get_result(&mut conn).unwrap();
    let passkeys: i64 = passkeys::table.count().get_result(&mut conn).unwrap();
    let mails: i64 = outbox_messages::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    format!(
        "users: {users:?}\nsessions: {sessions:?}\ncodes: {codes:?}\n\
         reset tokens used: {reset_tokens:?}\nsecond factors: {second_factors}\n\
         passkeys: {passkeys}\nmails: {mails}"
    )
}
