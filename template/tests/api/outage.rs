//! The database goes away and comes back, or keeps a request waiting: visitors get the
//! "temporarily unavailable" page, never a 500 or an endless wait, and the app
//! recovers by itself.

use std::time::{Duration, Instant};

use crate::backend::{Outage, RowLock, TestDatabase};
use crate::helpers::{PASSWORD, spawn_app_on, spawn_app_with};
use crate::security::assert_error_page;

#[tokio::test]
async fn while_the_database_is_out_pages_answer_503_and_work_again_after_it() {
    let mut database = TestDatabase::create();
    let outage = Outage::around(&mut database);
    let app = spawn_app_on(database, &[]).await;
    app.signed_up_user("ann@example.com").await;
    let visitor = app.new_browser();
    visitor.get("/login").await;

    outage.begin();
    let login = visitor.login("ann@example.com", PASSWORD).await;
    let retry_after = login.headers().get("retry-after").cloned();
    assert_error_page(login, 503).await;
    assert!(retry_after.is_some(), "no Retry-After");
    let dashboard = app.get("/dashboard").await;
    if Outage::READS_FAIL {
        // The session itself cannot be read.
        assert!(dashboard.headers().contains_key("retry-after"));
        assert_error_page(dashboard, 503).await;
    } else {
        assert_eq!(dashboard.status(), 200);
    }
    outage.end();

    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get("/dashboard").await.status() != 200 {
        assert!(Instant::now() < deadline, "the dashboard did not come back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = visitor.login("ann@example.com", PASSWORD).await;
    assert_eq!(login.status(), 303);
}

#[tokio::test]
async fn a_request_kept_waiting_for_a_lock_past_the_lock_timeout_gets_503() {
    // Well past the one second allowed: without it the sign-in would wait as long as
    // the lock is held.
    sign_in_past_a_held_lock_gets_503(&[("DATABASE_LOCK_TIMEOUT_SECONDS", "1")]).await;
}

#[tokio::test]
async fn a_request_that_takes_longer_than_the_request_timeout_gets_503() {
    // The lock alone would keep the sign-in waiting for twenty seconds.
    sign_in_past_a_held_lock_gets_503(&[
        ("DATABASE_LOCK_TIMEOUT_SECONDS", "20"),
        ("REQUEST_TIMEOUT_SECONDS", "1"),
    ])
    .await;
}

/// With `settings`, a sign-in while another client holds the user's row gets the 503
/// page within four seconds, and succeeds once the lock is gone.
async fn sign_in_past_a_held_lock_gets_503(settings: &[(&str, &str)]) {
    let app = spawn_app_with(settings).await;
    app.signed_up_user("ann@example.com").await;
    let visitor = app.new_browser();
    visitor.get("/login").await;

    let lock = RowLock::on_user(&app.database.url, "ann@example.com");
    let login = tokio::time::timeout(
        Duration::from_secs(4),
        visitor.login("ann@example.com", PASSWORD),
    )
    .await
    .expect("the sign-in kept waiting for the lock");
    assert!(login.headers().contains_key("retry-after"));
    assert_error_page(login, 503).await;
    drop(lock);

    let login = visitor.login("ann@example.com", PASSWORD).await;
    assert_eq!(login.status(), 303);
}
