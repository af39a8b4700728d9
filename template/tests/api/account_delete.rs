//! Deleting one's own account (SECURITY.md item 38).

use chrono::Duration;
use diesel::prelude::*;
use reqwest::header::LOCATION;

use {{crate_name}}::db::schema::{audit_events, sessions, users};

use crate::helpers::{PASSWORD, TestApp, spawn_app};

const ADA: &str = "ada@example.com";

#[tokio::test]
async fn typing_the_address_deletes_the_account_everywhere_and_mails_a_receipt() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let id = user_id(&app, ADA).expect("no account");
    let phone = app.new_browser();
    phone.login(ADA, PASSWORD).await;

    assert_eq!(app.get("/account/delete").await.status(), 200);
    let response = app
        .post_form("/account/delete", &[("email", " ADA@example.com ")])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/");
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains("Your account is deleted."), "{home}");
    assert_eq!(user_id(&app, ADA), None);
    for browser in [&app.browser, &phone] {
        assert_eq!(browser.get("/dashboard").await.status(), 303);
    }
    let mut conn = app.pool.get().unwrap();
    let left: i64 = sessions::table
        .filter(sessions::user_id.eq(id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(left, 0);
    // The log keeps what happened, naming the account by its id.
    let logged: Vec<(String, Option<i64>)> = audit_events::table
        .filter(audit_events::action.eq("account.delete"))
        .select((audit_events::action, audit_events::target_id))
        .load(&mut conn)
        .unwrap();
    assert_eq!(logged, [("account.delete".to_owned(), Some(id))]);
    let receipt = app.wait_for_mail(ADA, "deleted").await;
    assert!(receipt.text.contains("Your"), "{}", receipt.text);
    // The address is free again.
    let again = app.new_browser().signup("Ada", ADA, PASSWORD).await;
    assert_eq!(again.status(), 303);
    assert!(user_id(&app, ADA).is_some());
}

#[tokio::test]
async fn another_address_typed_deletes_nothing() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    let response = app
        .post_form("/account/delete", &[("email", "someone@example.com")])
        .await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("exactly as shown above"), "{page}");
    assert!(user_id(&app, ADA).is_some());
    assert_eq!(app.get("/dashboard").await.status(), 200);
}

#[tokio::test]
async fn deleting_the_account_asks_for_the_password_once_sudo_mode_is_over() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    app.clock.advance(Duration::minutes(11));

    let page = app.get("/account/delete").await;
    let post = app.post_form("/account/delete", &[("email", ADA)]).await;

    for response in [page, post] {
        assert_eq!(response.status(), 303);
        assert_eq!(
            response.headers()[LOCATION],
            "/account/confirm?next=%2Faccount%2Fdelete"
        );
    }
    assert!(user_id(&app, ADA).is_some());
}

#[tokio::test]
async fn the_last_administrator_cannot_delete_their_account() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    app.set_admin(ADA, true);

    let refused = app.post_form("/account/delete", &[("email", ADA)]).await;

    assert_eq!(refused.status(), 409);
    let page = refused.text().await.unwrap();
    assert!(page.contains("only administrator"), "{page}");
    assert!(user_id(&app, ADA).is_some());

    let grace = app.new_browser();
    app.signed_up_user_in(&grace, "grace@example.com").await;
    app.set_admin("grace@example.com", true);
    let deleted = app.post_form("/account/delete", &[("email", ADA)]).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(user_id(&app, ADA), None);
}

fn user_id(app: &TestApp, email: &str) -> Option<i64> {
    let mut conn = app.pool.get().unwrap();
    users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .get_result(&mut conn)
        .optional()
        .unwrap()
}
