//! What a signed-in user may do: change their password (SECURITY.md item 13), and
//! who may see the admin pages (item 16).

use diesel::prelude::*;
use reqwest::header::LOCATION;

use {{crate_name}}::db::schema::{outbox_messages, users};

use crate::helpers::{Browser, PASSWORD, TestApp, broken_rules_in, spawn_app, spawn_app_with};

const ADA: &str = "ada@example.com";
const NEW_PASSWORD: &str = "Tea-Kettle-Harbour-42";

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let laptop = signed_in_browser(&app).await;
    let hash_before = password_hash(&app);

    let response = change_password(&app, "Not-My-Password-123", NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("That is not your current password."),
        "{page}"
    );
    assert_eq!(password_hash(&app), hash_before);
    assert_eq!(changed_notices_queued(&app), 0);
    assert_eq!(
        laptop.get("/dashboard").await.status(),
        200,
        "the laptop was signed out"
    );
    assert!(signs_in(&app, PASSWORD).await);
}

#[tokio::test]
async fn wrong_current_passwords_count_like_failed_logins_and_lock_the_account() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    for _ in 0..10 {
        let response =
            change_password(&app, "Not-My-Password-123", NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(response.status(), 422);
    }

    // Locked: not even the right password gets in, here or at the login form.
    let with_the_right_one = change_password(&app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(with_the_right_one.status(), 422);
    let page = with_the_right_one.text().await.unwrap();
    assert!(page.contains("Too many wrong passwords"), "{page}");
    assert!(!signs_in(&app, PASSWORD).await);
    app.wait_for_mail(ADA, "locked").await;
    assert_eq!(changed_notices_queued(&app), 0);
}

#[tokio::test]
async fn the_password_form_shares_the_per_address_limit_of_the_auth_forms() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_AUTH_BURST", "3"),
        ("RATE_LIMIT_AUTH_REFILL_SECONDS", "600"),
    ])
    .await;
    // Signing up and entering the code take two of the address's three requests.
    app.signed_up_user(ADA).await;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response =
            change_password(&app, "Not-My-Password-123", NEW_PASSWORD, NEW_PASSWORD).await;
        statuses.push(response.status().as_u16());
    }

    assert_eq!(statuses, [422, 429]);
    assert_eq!(app.get("/account/password").await.status(), 200);
}

#[tokio::test]
async fn a_new_password_that_breaks_the_policy_is_refused_with_every_broken_rule_marked() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let hash_before = password_hash(&app);

    let response = change_password(&app, PASSWORD, "password", "passwort").await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert_eq!(
        broken_rules_in(&page),
        ["too_short", "needs_uppercase", "needs_digit", "too_common"]
    );
    assert!(page.contains("<li>The two passwords differ.</li>"));
    assert_eq!(password_hash(&app), hash_before);
    assert_eq!(changed_notices_queued(&app), 0);
}

#[tokio::test]
async fn an_administrator_lands_in_the_admin_area_from_the_login_page_and_a_password_change() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    app.set_admin(ADA, true);

    let login_page = app.get("/login").await;
    let changed = change_password(&app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(login_page.status(), 303);
    assert_eq!(login_page.headers()[LOCATION], "/admin");
    assert_eq!(changed.status(), 303);
    assert_eq!(changed.headers()[LOCATION], "/admin");
}

#[tokio::test]
async fn a_password_change_mails_a_notice_and_signs_out_other_browsers() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let laptop = signed_in_browser(&app).await;

    let response = change_password(&app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/dashboard");
    let dashboard = app.get("/dashboard").await.text().await.unwrap();
    assert!(
        dashboard.contains("Your password is changed. Other devices have been signed out."),
        "{dashboard}"
    );
    let notice = app.wait_for_mail(ADA, "password was changed").await;
    assert!(notice.text.contains("was just changed"), "{}", notice.text);
    let laptop_dashboard = laptop.get("/dashboard").await;
    assert_eq!(laptop_dashboard.status(), 303);
    assert!(signs_in(&app, NEW_PASSWORD).await, "the new password fails");
    assert!(
        !signs_in(&app, PASSWORD).await,
        "the old password still works"
    );
}

#[tokio::test]
async fn visitors_are_sent_to_login_and_brought_back_to_the_password_form() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let hash_before = password_hash(&app);
    let visitor = app.new_browser();

    let form = visitor.get("/account/password").await;
    let post = visitor
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    let login = visitor
        .post_form(
            "/login?next=%2Faccount%2Fpassword",
            &[("email", ADA), ("password", PASSWORD)],
        )
        .await;

    assert_eq!(form.status(), 303);
    assert_eq!(
        form.headers()[LOCATION],
        "/login?next=%2Faccount%2Fpassword"
    );
    // Back to the form after login, not to its POST-only route.
    assert_eq!(post.status(), 303);
    assert_eq!(post.headers()[LOCATION], "/login");
    assert_eq!(password_hash(&app), hash_before);
    assert_eq!(login.headers()[LOCATION], "/account/password");
}

#[tokio::test]
async fn visitors_asking_for_admin_are_sent_to_login() {
    let app = spawn_app().await;

    let response = app.get("/admin").await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/login?next=%2Fadmin");
}

#[tokio::test]
async fn a_user_without_admin_rights_gets_403_from_admin() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    let response = app.get("/admin").await;

    assert_eq!(response.status(), 403);
    let page = response.text().await.unwrap();
    assert!(page.contains("You can't do that"), "{page}");
    assert!(!page.contains("Administration"), "{page}");
}

#[tokio::test]
async fn an_admin_lands_on_admin_after_login_and_sees_it() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    app.set_admin(ADA, true);
    let browser = app.new_browser();

    let login = browser.login(ADA, PASSWORD).await;
    let admin = browser.get("/admin").await;

    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()[LOCATION], "/admin");
    assert_eq!(admin.status(), 200);
    let page = admin.text().await.unwrap();
    assert!(page.contains("Administration"), "{page}");
    assert!(
        page.contains("Signed in as administrator ada@example.com"),
        "{page}"
    );
}

#[tokio::test]
async fn a_demoted_admin_loses_the_admin_pages_on_the_next_request() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    app.set_admin(ADA, true);
    let browser = signed_in_browser(&app).await;
    assert_eq!(browser.get("/admin").await.status(), 200);

    app.set_admin(ADA, false);

    assert_eq!(browser.get("/admin").await.status(), 403);
    assert_eq!(browser.get("/dashboard").await.status(), 200);
}

/// Another browser where Ada is signed in.
async fn signed_in_browser(app: &TestApp) -> Browser {
    let browser = app.new_browser();
    let response = browser.login(ADA, PASSWORD).await;
    assert_eq!(response.status(), 303, "login failed");
    browser
}

/// Sends the change-password form from the app's default browser.
async fn change_password(
    app: &TestApp,
    current: &str,
    new: &str,
    confirmation: &str,
) -> reqwest::Response {
    app.post_form(
        "/account/password",
        &[
            ("current_password", current),
            ("password", new),
            ("password_confirmation", confirmation),
        ],
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

fn password_hash(app: &TestApp) -> String {
    let mut conn = app.pool.get().unwrap();
    users::table
        .filter(users::email.eq(ADA))
        .select(users::password_hash)
        .first(&mut conn)
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
