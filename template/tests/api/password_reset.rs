//! Forgotten passwords (SECURITY.md items 2, 7 and 8): one answer for every
//! address, a mailed single-use link that expires, and a new password that takes over.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::header::{CACHE_CONTROL, HOST, LOCATION, REFERRER_POLICY};

use {{crate_name}}::db::schema::{outbox_messages, password_reset_tokens};
use {{crate_name}}::keys::token_hash;

use crate::helpers::{
    Browser, PASSWORD, TestApp, broken_rules_in, path_of, reset_link_in, spawn_app,
};
use crate::signup::without_tokens;

const ADA: &str = "ada@example.com";
const NOBODY: &str = "nobody@example.com";
const NEW_PASSWORD: &str = "Tea-Kettle-Harbour-42";
const OTHER_PASSWORD: &str = "Lighthouse-Keeper-1907";

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer_but_only_the_known_one_gets_mail() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let ada = app.new_browser();
    let stranger = app.new_browser();

    let known = ada.post_form("/forgot-password", &[("email", ADA)]).await;
    let unknown = stranger
        .post_form("/forgot-password", &[("email", NOBODY)])
        .await;

    assert_eq!(known.status(), 303);
    assert_eq!(unknown.status(), 303);
    assert_eq!(known.headers()[LOCATION], unknown.headers()[LOCATION]);
    assert_eq!(cookie_names(&known), cookie_names(&unknown));
    let known_page = ada.get("/login").await.text().await.unwrap();
    let unknown_page = stranger.get("/login").await.text().await.unwrap();
    assert!(
        known_page.contains("If ada@example.com has an account, we sent it a link"),
        "{known_page}"
    );
    assert_eq!(
        without_tokens(&known_page).replace(ADA, "EMAIL"),
        without_tokens(&unknown_page).replace(NOBODY, "EMAIL")
    );
    app.wait_for_mail(ADA, "reset").await;
    assert_eq!(mails_queued_to(&app, NOBODY), 0);
    assert!(app.mails_to(NOBODY).is_empty());
}

#[tokio::test]
async fn the_mailed_link_points_at_the_configured_site_with_a_256_bit_token() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    app.new_browser()
        .post_form("/forgot-password", &[("email", ADA)])
        .await;

    let mail = app.wait_for_mail(ADA, "reset").await;
    let link = reset_link_in(&mail.text).expect("no reset link in the mail");
    let token = link
        .strip_prefix("http://app.example.test/reset-password?token=")
        .unwrap_or_else(|| panic!("{link} is not on APP_BASE_URL"));
    assert_eq!(token.len(), 64, "{link}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{link}");
    assert!(mail.html_links_to(&link), "{}", mail.html);
}

#[tokio::test]
async fn a_forged_host_header_does_not_change_the_mailed_link() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let browser = app.new_browser();
    let token = browser.csrf_token().await;

    let response = browser
        .client
        .post(browser.url("/forgot-password"))
        .header(HOST, "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "host=evil.example;proto=https")
        .form(&[("csrf_token", token.as_str()), ("email", ADA)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 303);
    let mail = app.wait_for_mail(ADA, "reset").await;
    let link = reset_link_in(&mail.text).expect("no reset link in the mail");
    assert!(
        link.starts_with("http://app.example.test/reset-password?token="),
        "{link}"
    );
    assert!(!mail.text.contains("evil.example"), "{}", mail.text);
    assert!(!mail.html.contains("evil.example"), "{}", mail.html);
}

#[tokio::test]
async fn the_link_opens_a_new_password_form_whose_address_no_other_site_sees() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let link = request_reset_link(&app, ADA).await;

    let response = app.new_browser().get(&path_of(&link)).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[REFERRER_POLICY], "same-origin");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("Choose a new password"), "{page}");
}

#[tokio::test]
async fn an_unknown_link_shows_the_expired_page() {
    let app = spawn_app().await;

    let response = app
        .get(&format!("/reset-password?token={}", "0".repeat(64)))
        .await;

    assert_eq!(response.status(), 410);
    assert_eq!(response.headers()[REFERRER_POLICY], "same-origin");
    let page = response.text().await.unwrap();
    assert!(page.contains("This link has expired"), "{page}");
}

#[tokio::test]
async fn the_new_password_replaces_the_old_one_and_the_owner_is_told_by_mail() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let link = request_reset_link(&app, ADA).await;
    let browser = app.new_browser();

    let response = reset_password(&browser, &link, NEW_PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/login");
    let page = browser.get("/login").await.text().await.unwrap();
    assert!(page.contains("Your password is changed."), "{page}");
    assert!(signs_in(&app, NEW_PASSWORD).await, "the new password fails");
    assert!(
        !signs_in(&app, PASSWORD).await,
        "the old password still works"
    );
    let notice = app.wait_for_mail(ADA, "password was changed").await;
    assert!(
        notice
            .text
            .contains("http://app.example.test/forgot-password"),
        "{}",
        notice.text
    );
}

#[tokio::test]
async fn a_weak_new_password_is_refused_and_the_link_still_works() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let link = request_reset_link(&app, ADA).await;
    let browser = app.new_browser();

    let weak = reset_password(&browser, &link, "password").await;

    assert_eq!(weak.status(), 422);
    let page = weak.text().await.unwrap();
    assert_eq!(
        broken_rules_in(&page),
        ["too_short", "needs_uppercase", "needs_digit", "too_common"]
    );
    assert_eq!(
        reset_password(&browser, &link, NEW_PASSWORD).await.status(),
        303
    );
    assert!(signs_in(&app, NEW_PASSWORD).await);
}

#[tokio::test]
async fn a_reset_link_works_only_once() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let link = request_reset_link(&app, ADA).await;
    let first = reset_password(&app.new_browser(), &link, NEW_PASSWORD).await;
    assert_eq!(first.status(), 303);

    let second = reset_password(&app.new_browser(), &link, OTHER_PASSWORD).await;
    let revisit = app.new_browser().get(&path_of(&link)).await;

    assert_eq!(second.status(), 410);
    let page = second.text().await.unwrap();
    assert!(page.contains("This link has expired"), "{page}");
    assert_eq!(revisit.status(), 410);
    assert!(signs_in(&app, NEW_PASSWORD).await);
    assert!(!signs_in(&app, OTHER_PASSWORD).await);
}

#[tokio::test]
async fn a_reset_link_expires_after_60_minutes() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let link = request_reset_link(&app, ADA).await;
    let browser = app.new_browser();

    app.clock.advance(Duration::minutes(59));
    let after_59_minutes = browser.get(&path_of(&link)).await.status();
    app.clock.advance(Duration::minutes(2));
    let after_61_minutes = reset_password(&browser, &link, NEW_PASSWORD).await;

    assert_eq!(after_59_minutes, 200);
    assert_eq!(after_61_minutes.status(), 410);
    assert!(
        signs_in(&app, PASSWORD).await,
        "the old password stopped working"
    );
}

#[tokio::test]
async fn a_newer_reset_request_kills_the_older_link() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let older = request_reset_link(&app, ADA).await;
    app.clock.advance(Duration::seconds(61));
    let newer = request_reset_link(&app, ADA).await;
    assert_ne!(older, newer);

    let with_older = reset_password(&app.new_browser(), &older, OTHER_PASSWORD).await;
    let with_newer = reset_password(&app.new_browser(), &newer, NEW_PASSWORD).await;

    assert_eq!(with_older.status(), 410);
    assert_eq!(with_newer.status(), 303);
    assert!(signs_in(&app, NEW_PASSWORD).await);
}

#[tokio::test]
async fn reset_mail_to_one_account_waits_a_minute_and_stops_at_five_an_hour() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let first_link = request_reset_link(&app, ADA).await;
    let answer =
        |response: reqwest::Response| (response.status(), response.headers()[LOCATION].clone());
    let usual = answer(
        app.post_form("/forgot-password", &[("email", NOBODY)])
            .await,
    );

    // Within the minute: the usual answer, no mail, and the mailed link still works.
    for _ in 0..3 {
        let again = app.post_form("/forgot-password", &[("email", ADA)]).await;
        assert_eq!(answer(again), usual);
    }
    assert_eq!(reset_mails_queued(&app), 1);
    // A minute apart, five in the hour, then none until the hour has passed.
    for _ in 0..5 {
        app.clock.advance(Duration::seconds(61));
        app.post_form("/forgot-password", &[("email", ADA)]).await;
    }
    assert_eq!(reset_mails_queued(&app), 5);
    app.clock.advance(Duration::minutes(56));
    app.post_form("/forgot-password", &[("email", ADA)]).await;
    assert_eq!(reset_mails_queued(&app), 6);
    assert_eq!(
        reset_password(&app.new_browser(), &first_link, NEW_PASSWORD)
            .await
            .status(),
        410,
        "newer links replaced the first one"
    );
}

#[tokio::test]
async fn a_password_change_kills_an_unused_reset_link() {
    let app = spawn_app().await;
    let ada = app.signed_up_user(ADA).await;
    let link = request_reset_link(&app, ADA).await;
    let change = app
        .post_form(
            "/account/password",
            &[
                ("current_password", &ada.password),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(change.status(), 303);

    let response = reset_password(&app.new_browser(), &link, OTHER_PASSWORD).await;

    assert_eq!(response.status(), 410);
    assert!(signs_in(&app, NEW_PASSWORD).await);
}

#[tokio::test]
async fn two_parallel_redemptions_of_one_link_let_exactly_one_through() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let link = request_reset_link(&app, ADA).await;
    let (first, second) = (app.new_browser(), app.new_browser());

    let (first, second) = tokio::join!(
        reset_password(&first, &link, NEW_PASSWORD),
        reset_password(&second, &link, OTHER_PASSWORD),
    );

    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 410]);
    let new_works = signs_in(&app, NEW_PASSWORD).await;
    let other_works = signs_in(&app, OTHER_PASSWORD).await;
    assert!(new_works != other_works, "both or neither password works");
    assert_eq!(changed_notices_queued(&app), 1);
}

#[tokio::test]
async fn only_a_hash_of_the_reset_token_is_stored() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    let link = request_reset_link(&app, ADA).await;

    let token = link.rsplit("token=").next().unwrap();
    let mut conn = app.pool.get().unwrap();
    let stored: Vec<String> = password_reset_tokens::table
        .select(password_reset_tokens::token_hash)
        .load(&mut conn)
        .unwrap();
    assert_eq!(stored, [token_hash(token)]);
    assert!(!stored[0].contains(token));
}

/// Asks for a reset link for `email` from a browser of its own, and returns the
/// link in the mail as written.
pub async fn request_reset_link(app: &TestApp, email: &str) -> String {
    let response = app
        .new_browser()
        .post_form("/forgot-password", &[("email", email)])
        .await;
    assert_eq!(response.status(), 303);
    let mail = app.wait_for_mail(email, "reset").await;
    reset_link_in(&mail.text).expect("no reset link in the mail")
}

/// Submits the form behind the link, as someone who opened it in `browser`.
async fn reset_password(browser: &Browser, link: &str, password: &str) -> reqwest::Response {
    browser
        .post_form(
            &path_of(link),
            &[("password", password), ("password_confirmation", password)],
        )
        .await
}

/// Whether `password` signs Ada in, from a browser of its own.
async fn signs_in(app: &TestApp, password: &str) -> bool {
    let response = app.new_browser().login(ADA, password).await;
    response
        .headers()
        .get(LOCATION)
        .is_some_and(|location| location == "/dashboard")
}

fn mails_queued_to(app: &TestApp, email: &str) -> i64 {
    let mut conn = app.pool.get().unwrap();
    outbox_messages::table
        .filter(outbox_messages::recipient.eq(email))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn reset_mails_queued(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    outbox_messages::table
        .filter(outbox_messages::recipient.eq(ADA))
        .filter(outbox_messages::kind.eq("password_reset"))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn changed_notices_queued(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    outbox_messages::table
        .filter(outbox_messages::kind.eq("password_changed"))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn cookie_names(response: &reqwest::Response) -> Vec<String> {
    let mut names: Vec<String> = response.cookies().map(|c| c.name().to_owned()).collect();
    names.sort();
    names
}
