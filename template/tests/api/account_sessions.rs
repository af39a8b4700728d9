//! The sessions page: every signed-in device of the user, and signing them out
//! (SECURITY.md item 37).

use diesel::prelude::*;
use reqwest::header::LOCATION;

use {{crate_name}}::db::schema::{audit_events, sessions, users};

use crate::helpers::{Browser, FIREFOX_ON_WINDOWS, PASSWORD, TestApp, spawn_app};

const ADA: &str = "ada@example.com";
const SAFARI_ON_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \
     AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

#[tokio::test]
async fn the_sessions_page_lists_each_signed_in_browser_and_marks_this_one() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let laptop = signed_in_as(&app, FIREFOX_ON_WINDOWS).await;
    signed_in_as(&app, SAFARI_ON_IPHONE).await;

    let page = laptop.get("/account/sessions").await;

    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let listed = listed_sessions(&page);
    assert_eq!(listed.len(), 3, "{page}");
    assert_eq!(
        listed[0],
        ("Firefox on Windows 10".to_owned(), true),
        "this device comes first, marked"
    );
    assert!(
        listed.contains(&("Safari on iOS (iPhone)".to_owned(), false)),
        "{listed:?}"
    );
    assert!(page.contains("127.0.0.1"), "the address is not shown");
    // No one else's sessions.
    let other = app.new_browser();
    app.signed_up_user_in(&other, "bob@example.com").await;
    let bobs = other.get("/account/sessions").await.text().await.unwrap();
    assert_eq!(listed_sessions(&bobs).len(), 1, "{bobs}");
}

#[tokio::test]
async fn signing_out_one_session_sends_that_browser_to_the_login_page() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let phone = signed_in_as(&app, SAFARI_ON_IPHONE).await;
    let laptop = signed_in_as(&app, FIREFOX_ON_WINDOWS).await;
    let page = laptop.get("/account/sessions").await.text().await.unwrap();
    let phone_id = session_id_of(&page, "Safari on iOS (iPhone)");

    let response = laptop
        .post_form(&format!("/account/sessions/{phone_id}/sign-out"), &[])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/account/sessions");
    let after = phone.get("/dashboard").await;
    assert_eq!(after.status(), 303);
    assert!(
        after.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "the phone is still signed in"
    );
    assert_eq!(laptop.get("/dashboard").await.status(), 200);
    assert_eq!(app.get("/dashboard").await.status(), 200);
    assert_eq!(audit_actions(&app), ["account.sign_out_session"]);
    app.set_admin(ADA, true);
    let log = app
        .get("/admin/audit?kind=account")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        log.contains(r#"Signed out one of their sessions<span class="action-id"><span class="sr-only">: </span>account.sign_out_session</span>"#),
        "{log}"
    );
    assert!(!log.contains("login.success"), "{log}");
}

#[tokio::test]
async fn signing_out_every_other_session_keeps_only_this_one() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let phone = signed_in_as(&app, SAFARI_ON_IPHONE).await;
    let laptop = signed_in_as(&app, FIREFOX_ON_WINDOWS).await;

    let response = laptop
        .post_form("/account/sessions/sign-out-others", &[])
        .await;

    assert_eq!(response.status(), 303);
    let page = laptop.get("/account/sessions").await.text().await.unwrap();
    assert!(
        page.contains("The 2 other sessions are signed out."),
        "{page}"
    );
    assert_eq!(listed_sessions(&page).len(), 1, "{page}");
    for other in [&phone, &app.browser] {
        assert_eq!(other.get("/dashboard").await.status(), 303);
    }
    assert_eq!(live_sessions(&app), 1);
}

#[tokio::test]
async fn nobody_signs_out_a_session_of_another_account() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let page = app.get("/account/sessions").await.text().await.unwrap();
    let adas = session_id_of(&page, "Unknown browser");
    let mallory = app.new_browser();
    app.signed_up_user_in(&mallory, "mallory@example.com").await;

    let response = mallory
        .post_form(&format!("/account/sessions/{adas}/sign-out"), &[])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(
        app.get("/dashboard").await.status(),
        200,
        "ada was signed out"
    );
    let page = mallory.get("/account/sessions").await.text().await.unwrap();
    assert!(page.contains("That session had ended already."), "{page}");
}

#[tokio::test]
async fn the_sessions_page_and_its_actions_need_a_signed_in_user() {
    let app = spawn_app().await;
    let stranger = app.new_browser();

    let page = stranger.get("/account/sessions").await;
    let action = stranger
        .post_form("/account/sessions/sign-out-others", &[])
        .await;

    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()[LOCATION],
        "/login?next=%2Faccount%2Fsessions"
    );
    assert_eq!(action.status(), 303);
    assert_eq!(action.headers()[LOCATION], "/login");
}

/// A browser with this User-Agent, signed in as ADA.
async fn signed_in_as(app: &TestApp, user_agent: &str) -> Browser {
    let browser = app.new_browser_as(user_agent);
    let response = browser.login(ADA, PASSWORD).await;
    assert_eq!(response.status(), 303, "the login failed");
    browser
}

/// The sessions a page lists, as "browser on system" and whether it is this device.
fn listed_sessions(page: &str) -> Vec<(String, bool)> {
    let pattern = regex::Regex::new(
        r#"data-session-id="\d+"( data-this-device)?>\s*<div class="min-w-0">\s*<h2 class="session-title">([^<]*?)(?: <span|</h2>)"#,
    )
    .unwrap();
    pattern
        .captures_iter(page)
        .map(|c| (c[2].to_owned(), c.get(1).is_some()))
        .collect()
}

/// The id of the listed session named `what`.
fn session_id_of(page: &str, what: &str) -> String {
    let pattern = regex::Regex::new(
        r#"data-session-id="(\d+)"[^>]*>\s*<div class="min-w-0">\s*<h2 class="session-title">([^<]*?)(?: <span|</h2>)"#,
    )
    .unwrap();
    pattern
        .captures_iter(page)
        .find(|c| &c[2] == what)
        .unwrap_or_else(|| panic!("no session of {what} in {page}"))[1]
        .to_owned()
}

fn live_sessions(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    sessions::table
        .inner_join(users::table)
        .filter(users::email.eq(ADA))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn audit_actions(app: &TestApp) -> Vec<String> {
    let mut conn = app.pool.get().unwrap();
    audit_events::table
        .filter(audit_events::action.like("account.%"))
        .select(audit_events::action)
        .load(&mut conn)
        .unwrap()
}
