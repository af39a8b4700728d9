//! Two instances of the app on one database, as behind a load balancer: what one does
//! holds on the other.

use std::time::Duration as StdDuration;

use chrono::Duration;
use futures_util::future::join_all;

use {{crate_name}}::models::user;

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};
use crate::security::assert_error_page;

#[tokio::test]
async fn the_auth_budget_is_one_for_every_instance() {
    let a = spawn_app_with(&[("RATE_LIMIT_AUTH_WINDOW_LIMIT", "4")]).await;
    let b = a.another_instance().await;
    let on_a = &a.browser;
    let on_b = a.browser.on(&b.address);

    let mut statuses = Vec::new();
    for browser in [on_a, &on_b, on_a, &on_b] {
        let response = browser.login("nobody@example.com", "wrong").await;
        statuses.push(response.status().as_u16());
    }
    let over_on_a = on_a.login("nobody@example.com", "wrong").await;
    let over_on_b = on_b
        .post_form("/forgot-password", &[("email", "nobody@example.com")])
        .await;

    assert!(statuses.iter().all(|status| *status != 429), "{statuses:?}");
    for over in [over_on_a, over_on_b] {
        let retry_after: i64 = over.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=600).contains(&retry_after), "{retry_after}");
        assert_error_page(over, 429).await;
    }
    // The window ends on B's clock: B takes attempts again, counted afresh.
    b.clock.advance(Duration::minutes(10));
    let next_window = on_b.login("nobody@example.com", "wrong").await;
    assert_ne!(next_window.status(), 429);
}

#[tokio::test]
async fn a_session_started_on_one_instance_is_valid_on_the_other_and_ends_on_both() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let user = a.signed_up_user("ada@example.com").await;
    let on_b = a.browser.on(&b.address);
    assert_eq!(on_b.get("/dashboard").await.status(), 200);

    // Signed in twice; the password changed on B ends the other session, on A too.
    let second = a.new_browser();
    assert_eq!(second.login(&user.email, PASSWORD).await.status(), 303);
    assert_eq!(second.get("/dashboard").await.status(), 200);
    let changed = on_b
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "Another-Horse-Battery-7"),
                ("password_confirmation", "Another-Horse-Battery-7"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303, "the password change failed");
    assert_eq!(second.get("/dashboard").await.status(), 303);
    assert_eq!(a.get("/dashboard").await.status(), 200);

    // Signing out on B ends the session on A.
    assert_eq!(on_b.logout().await.status(), 303);
    let after = a.get("/dashboard").await;
    assert_eq!(after.status(), 303);
    assert!(
        after.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}

#[tokio::test]
async fn failures_spread_over_both_instances_lock_the_account_once_with_one_mail() {
    let a = spawn_app_with(&[("LOGIN_MAX_FAILURES", "6")]).await;
    let b = a.another_instance().await;
    let user = a.signed_up_user("ada@example.com").await;
    let stranger = a.new_browser();
    let token = stranger.csrf_token().await;

    // Twenty at once, every other one to B.
    let attempts = (0..20).map(|i| {
        let address = if i % 2 == 0 { &a.address } else { &b.address };
        stranger
            .client
            .post(format!("{address}/login"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", user.email.as_str()),
                ("password", "Wrong-Password-123"),
            ])
            .send()
    });
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .into_iter()
        .map(|response| response.unwrap().status().as_u16())
        .collect();

    assert!(statuses.iter().all(|status| *status == 422), "{statuses:?}");
    let right_on_b = stranger.on(&b.address).login(&user.email, PASSWORD).await;
    assert_eq!(
        right_on_b.status(),
        422,
        "a locked account let a stranger in"
    );
    a.wait_for_mail(&user.email, "locked").await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let locked_mails = a
        .mails_to(&user.email)
        .iter()
        .filter(|mail| mail.subject.to_lowercase().contains("locked"))
        .count();
    assert_eq!(locked_mails, 1);
}

#[tokio::test]
async fn a_demotion_and_a_disable_on_one_instance_hold_on_the_other_at_the_next_request() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    a.signed_up_user("root@example.com").await;
    a.set_admin("root@example.com", true);
    let ann = a.new_browser();
    a.signed_up_user_in(&ann, "ann@example.com").await;
    a.set_admin("ann@example.com", true);
    assert_eq!(ann.get("/admin").await.status(), 200);
    let ann_id = {
        let mut conn = a.pool.get().unwrap();
        user::get_user_by_email(&mut conn, "ann@example.com")
            .unwrap()
            .unwrap()
            .id
    };
    let root_on_b = a.browser.on(&b.address);

    let demoted = root_on_b
        .post_form(&format!("/admin/users/{ann_id}/demote"), &[])
        .await;
    assert_eq!(demoted.status(), 303);
    assert_eq!(ann.get("/admin").await.status(), 403);
    assert_eq!(ann.get("/dashboard").await.status(), 200);

    let disabled = root_on_b
        .post_form(&format!("/admin/users/{ann_id}/disable"), &[])
        .await;
    assert_eq!(disabled.status(), 303);
    let after = ann.get("/dashboard").await;
    assert_eq!(after.status(), 303);
    assert!(
        after.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}
