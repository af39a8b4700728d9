//! The background jobs: what the purge deletes and, above all, what it keeps.

use chrono::Duration;
use diesel::prelude::*;

use {{crate_name}}::clock::Clock;
use {{crate_name}}::db::schema::{audit_events, outbox_messages, users};
use {{crate_name}}::jobs::purge_expired;

use crate::helpers::{PASSWORD, TestApp, eventually, path_of, spawn_app, spawn_app_with};
use crate::password_reset::request_reset_link;

const EMAIL: &str = "ada@example.com";
const TWO_DAYS_IN_MINUTES: &str = "2880";

fn purge(app: &TestApp) {
    let mut conn = app.pool.get().unwrap();
    purge_expired(&mut conn, &app.settings.retention, app.clock.now()).unwrap();
}

#[tokio::test]
async fn a_reset_link_that_lives_two_days_survives_the_purge_after_one() {
    let app = spawn_app_with(&[("PASSWORD_RESET_MINUTES", TWO_DAYS_IN_MINUTES)]).await;
    app.signed_up_user(EMAIL).await;
    let link = request_reset_link(&app, EMAIL).await;

    app.clock.advance(Duration::hours(25));
    purge(&app);
    let after_25_hours = app.new_browser().get(&path_of(&link)).await.status();
    app.clock.advance(Duration::hours(24));
    purge(&app);
    let after_49_hours = app.new_browser().get(&path_of(&link)).await.status();

    assert_eq!(after_25_hours, 200, "the link died before its time");
    assert_eq!(after_49_hours, 410);
}

#[tokio::test]
async fn a_code_that_lives_two_days_survives_the_purge_after_one() {
    let app = spawn_app_with(&[("VERIFICATION_CODE_MINUTES", TWO_DAYS_IN_MINUTES)]).await;
    app.signup("Ada Lovelace", EMAIL, PASSWORD).await;
    let code = app.latest_code_for(EMAIL).await;

    app.clock.advance(Duration::hours(25));
    purge(&app);
    let response = app.post_form("/verify", &[("code", &code)]).await;

    assert_eq!(response.status(), 303, "the code died before its time");
    assert_eq!(response.headers()["location"], "/dashboard");
}

#[tokio::test]
async fn an_account_never_verified_is_deleted_after_seven_days_and_its_address_is_free() {
    let app = spawn_app().await;
    app.signup("Ada Lovelace", EMAIL, PASSWORD).await;
    let accounts = || -> i64 {
        let mut conn = app.pool.get().unwrap();
        users::table.count().get_result(&mut conn).unwrap()
    };

    app.clock.advance(Duration::days(6));
    purge(&app);
    let after_six_days = accounts();
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    purge(&app);

    assert_eq!(after_six_days, 1);
    assert_eq!(accounts(), 0, "its codes could be guessed at for ever");
    app.new_browser()
        .signup("Ada Lovelace", EMAIL, PASSWORD)
        .await;
    assert_eq!(accounts(), 1);
}

#[tokio::test]
async fn sent_mail_keeps_no_code_and_mail_given_up_on_forgets_its_text_after_a_week() {
    let app = spawn_app().await;
    app.signed_up_user(EMAIL).await;
    let texts = || -> Vec<(String, String, String)> {
        let mut conn = app.pool.get().unwrap();
        outbox_messages::table
            .select((
                outbox_messages::subject,
                outbox_messages::text_body,
                outbox_messages::html_body,
            ))
            .load(&mut conn)
            .unwrap()
    };
    // Sent: the subject carried the code, so it goes with the bodies.
    let sent = eventually("the code mail is marked sent", || {
        texts().into_iter().find(|(_, text, _)| text.is_empty())
    })
    .await;
    assert_eq!(sent, (String::new(), String::new(), String::new()));

    // The same mail, given up on instead.
    let mut conn = app.pool.get().unwrap();
    diesel::update(outbox_messages::table)
        .set((
            outbox_messages::subject.eq("123456 is your code"),
            outbox_messages::text_body.eq("Your code is 123456"),
            outbox_messages::sent_at.eq(None::<chrono::NaiveDateTime>),
            outbox_messages::failed_at.eq(Some(app.clock.now())),
        ))
        .execute(&mut conn)
        .unwrap();
    app.clock.advance(Duration::days(6));
    purge(&app);
    assert_eq!(
        texts()[0].1,
        "Your code is 123456",
        "kept a week for the admin"
    );
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    purge(&app);
    assert_eq!(texts(), [(String::new(), String::new(), String::new())]);
}

#[tokio::test]
async fn audit_entries_older_than_the_retention_setting_are_deleted() {
    let app = spawn_app_with(&[("AUDIT_RETENTION_DAYS", "30")]).await;
    for _ in 0..3 {
        app.new_browser().login("nobody@example.com", "wrong").await;
    }
    app.clock.advance(Duration::days(30) + Duration::minutes(1));
    app.new_browser().login("nobody@example.com", "wrong").await;

    purge(&app);

    let mut conn = app.pool.get().unwrap();
    let left: i64 = audit_events::table.count().get_result(&mut conn).unwrap();
    assert_eq!(left, 1);
}
