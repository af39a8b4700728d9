//! The background jobs: what the purge deletes and, above all, what it keeps.

use chrono::Duration;

use {{crate_name}}::clock::Clock;
use {{crate_name}}::jobs::purge_expired;

use crate::helpers::{PASSWORD, TestApp, path_of, spawn_app_with};
use crate::password_reset::request_reset_link;

const EMAIL: &str = "ada@example.com";
const TWO_DAYS_IN_MINUTES: &str = "2880";

fn purge(app: &TestApp) {
    let mut conn = app.pool.get().unwrap();
    purge_expired(&mut conn, app.clock.now()).unwrap();
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
