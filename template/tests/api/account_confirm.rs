//! Sudo mode: sensitive account actions need a password entered within the last
//! SUDO_MINUTES (SECURITY.md item 36).

use chrono::Duration;
use diesel::prelude::*;
use reqwest::header::LOCATION;

use {{crate_name}}::db::schema::users;

use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app, spawn_app_with};

const ADA: &str = "ada@example.com";

#[tokio::test]
async fn signing_in_unlocks_sensitive_actions_for_ten_minutes_then_the_password_is_asked_again() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let phone = app.new_browser();
    phone.login(ADA, PASSWORD).await;

    app.clock.advance(Duration::minutes(10));
    let stale = app
        .post_form("/account/sessions/sign-out-others", &[])
        .await;

    assert_eq!(stale.status(), 303);
    assert_eq!(
        stale.headers()[LOCATION],
        "/account/confirm?next=%2Faccount%2Fsessions"
    );
    assert_eq!(phone.get("/dashboard").await.status(), 200, "it went ahead");

    let confirmed = app
        .post_form(
            "/account/confirm?next=%2Faccount%2Fsessions",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(confirmed.status(), 303);
    assert_eq!(confirmed.headers()[LOCATION], "/account/sessions");
    let fresh = app
        .post_form("/account/sessions/sign-out-others", &[])
        .await;
    assert_eq!(fresh.headers()[LOCATION], "/account/sessions");
    assert_eq!(phone.get("/dashboard").await.status(), 303);
}

#[tokio::test]
async fn a_wrong_password_on_the_confirm_page_counts_like_a_failed_sign_in() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    app.clock.advance(Duration::minutes(11));

    let page = app.get("/account/confirm?next=%2Faccount%2Fsessions").await;
    let wrong = app
        .post_form(
            "/account/confirm?next=%2Faccount%2Fsessions",
            &[("password", "Not-My-Password-123")],
        )
        .await;

    assert_eq!(page.status(), 200);
    assert_eq!(wrong.status(), 422);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains("That is not your password."), "{wrong}");
    assert_eq!(failed_logins(&app), 1);
    let still_stale = app
        .post_form("/account/sessions/sign-out-others", &[])
        .await;
    assert!(
        still_stale.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/account/confirm"),
        "a wrong password started sudo mode"
    );
}

#[tokio::test]
async fn the_confirm_page_goes_on_only_to_pages_of_this_site() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    for next in ["https://evil.example/", "//evil.example/", "/logout"] {
        let query = serde_urlencoded::to_string([("next", next)]).unwrap();
        let response = app
            .post_form(
                &format!("/account/confirm?{query}"),
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), 303, "{next}");
        assert_eq!(response.headers()[LOCATION], "/account", "{next}");
    }
}

#[tokio::test]
async fn sudo_minutes_sets_how_long_a_password_unlocks_sensitive_actions() {
    let app = spawn_app_with(&[("SUDO_MINUTES", "1")]).await;
    app.signed_up_user(ADA).await;
    let phone = signed_in(&app).await;

    app.clock.advance(Duration::seconds(61));
    let stale = app
        .post_form("/account/sessions/sign-out-others", &[])
        .await;

    assert!(
        stale.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/account/confirm"),
        "sudo mode outlived SUDO_MINUTES=1"
    );
    assert_eq!(phone.get("/dashboard").await.status(), 200);
}

#[tokio::test]
async fn the_confirm_form_shares_the_per_address_limit_of_the_auth_forms() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_AUTH_BURST", "3"),
        ("RATE_LIMIT_AUTH_REFILL_SECONDS", "600"),
    ])
    .await;
    // Signing up and entering the code take two of the address's three requests.
    app.signed_up_user(ADA).await;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response = app
            .post_form("/account/confirm", &[("password", "Not-My-Password-123")])
            .await;
        statuses.push(response.status().as_u16());
    }

    assert_eq!(statuses, [422, 429]);
}

async fn signed_in(app: &TestApp) -> Browser {
    let browser = app.new_browser();
    assert_eq!(browser.login(ADA, PASSWORD).await.status(), 303);
    browser
}

fn failed_logins(app: &TestApp) -> i32 {
    let mut conn = app.pool.get().unwrap();
    users::table
        .filter(users::email.eq(ADA))
        .select(users::failed_login_count)
        .get_result(&mut conn)
        .unwrap()
}
