//! The admin's mail page: what is waiting or given up on, and retry or discard.

use chrono::Duration;
use diesel::prelude::*;

use {{crate_name}}::clock::Clock;
use {{crate_name}}::db::schema::{audit_events, outbox_messages};
use {{crate_name}}::models::outbox::{self, NewOutboxMessage};

use crate::helpers::{TestApp, spawn_app};

const ADMIN: &str = "admin@example.com";

async fn admin_app() -> TestApp {
    let app = spawn_app().await;
    app.signed_up_user(ADMIN).await;
    app.set_admin(ADMIN, true);
    app
}

/// A mail to `to` the worker gave up on, with `text`; its id.
fn given_up(app: &TestApp, to: &str, text: &str) -> i64 {
    let now = app.clock.now();
    let mut conn = app.pool.get().unwrap();
    outbox::insert(
        &mut conn,
        &NewOutboxMessage {
            user_id: None,
            kind: "password_reset",
            recipient: to,
            subject: "Reset your password",
            text_body: text,
            html_body: "<p>secret link</p>",
            created_at: now,
            // Not due: the worker leaves it alone until it is given up on below.
            next_attempt_at: now + Duration::days(1),
            attempts: 0,
            priority: 0,
        },
    )
    .unwrap();
    let id = outbox_messages::table
        .filter(outbox_messages::recipient.eq(to))
        .select(outbox_messages::id)
        .first(&mut conn)
        .unwrap();
    diesel::update(outbox_messages::table.find(id))
        .set((
            outbox_messages::attempts.eq(10),
            outbox_messages::failed_at.eq(Some(now)),
            outbox_messages::last_error.eq(Some("550 mailbox unavailable")),
        ))
        .execute(&mut conn)
        .unwrap();
    id
}

fn audited(app: &TestApp, action: &str) -> Vec<Option<String>> {
    let mut conn = app.pool.get().unwrap();
    audit_events::table
        .filter(audit_events::action.eq(action))
        .select(audit_events::target_email)
        .load(&mut conn)
        .unwrap()
}

#[tokio::test]
async fn the_mail_page_lists_what_was_not_sent_without_its_text() {
    let app = admin_app().await;
    given_up(
        &app,
        "bob@example.com",
        "https://example.com/reset?token=SECRET",
    );

    let page = app.get("/admin/mail").await.text().await.unwrap();

    assert!(page.contains("bob@example.com"), "{page}");
    assert!(page.contains("password reset"), "{page}");
    assert!(page.contains("550 mailbox unavailable"), "{page}");
    assert!(page.contains("Given up"), "{page}");
    assert!(
        !page.contains("SECRET") && !page.contains("secret link"),
        "{page}"
    );
}

#[tokio::test]
async fn the_mail_page_is_for_admins_only() {
    let app = spawn_app().await;
    let anonymous = app.new_browser().get("/admin/mail").await;
    app.signed_up_user("member@example.com").await;

    let member = app.get("/admin/mail").await;
    let retry = app.post_form("/admin/mail/1/retry", &[]).await;

    assert_eq!(anonymous.status(), 303);
    assert_eq!(member.status(), 403);
    assert_eq!(retry.status(), 403);
}

#[tokio::test]
async fn retry_sends_a_given_up_mail_again_and_is_audited() {
    let app = admin_app().await;
    let id = given_up(&app, "bob@example.com", "Choose a new password");

    let response = app.post_form(&format!("/admin/mail/{id}/retry"), &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/admin/mail");
    let mail = app.wait_for_mail("bob@example.com", "reset").await;
    assert!(mail.text.contains("Choose a new password"), "{}", mail.text);
    assert_eq!(
        audited(&app, "admin.mail_retry"),
        [Some("bob@example.com".to_owned())]
    );
}

#[tokio::test]
async fn discard_deletes_an_unsent_mail_and_is_audited() {
    let app = admin_app().await;
    let id = given_up(&app, "bob@example.com", "Choose a new password");

    let response = app
        .post_form(&format!("/admin/mail/{id}/discard"), &[])
        .await;
    let again = app
        .post_form(&format!("/admin/mail/{id}/discard"), &[])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(again.status(), 404);
    assert!(app.outbox_row("bob@example.com").is_none());
    assert_eq!(
        audited(&app, "admin.mail_discard"),
        [Some("bob@example.com".to_owned())]
    );
}

#[tokio::test]
async fn a_mail_whose_text_is_forgotten_cannot_be_retried() {
    let app = admin_app().await;
    let id = given_up(&app, "bob@example.com", "");

    let response = app.post_form(&format!("/admin/mail/{id}/retry"), &[]).await;

    assert_eq!(response.status(), 409);
    let page = response.text().await.unwrap();
    assert!(page.contains("its text is gone"), "{page}");
    assert!(audited(&app, "admin.mail_retry").is_empty());
}
