//! Downloading one's own data (SECURITY.md item 39).

use chrono::Duration;
use reqwest::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};

use crate::helpers::{PASSWORD, spawn_app};

const ADA: &str = "ada@example.com";
const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

#[tokio::test]
async fn the_export_is_a_never_cached_json_download_of_the_users_own_rows() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let laptop = app.new_browser_as(FIREFOX);
    laptop.login(ADA, PASSWORD).await;
    app.new_browser().login(ADA, "Wrong-Password-123").await;
    let bob = app.new_browser();
    app.signed_up_user_in(&bob, "bob@example.com").await;
    // Bob, an administrator, acts on Ada: she learns what was done, not who did it.
    app.set_admin("bob@example.com", true);
    let ada_id = export_id(&laptop).await;
    let promoted = bob
        .post_form(
            &format!("/admin/users/{ada_id}/promote"),
            &[("next", "/admin/users")],
        )
        .await;
    assert_eq!(promoted.status(), 303);

    let response = laptop.get("/account/export").await;

    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert!(
        headers[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
        "{headers:?}"
    );
    assert!(
        headers[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("no-store"),
        "{headers:?}"
    );
    let export: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(export["profile"]["email"], ADA);
    let sessions = export["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{export:#}");
    assert!(
        sessions.iter().any(|s| s["user_agent"] == FIREFOX),
        "{export:#}"
    );
    let actions: Vec<&str> = export["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"login.success"), "{actions:?}");
    assert!(actions.contains(&"login.failure"), "{actions:?}");
    let promotion = export["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["action"] == "admin.promote")
        .unwrap_or_else(|| panic!("no promotion in {actions:?}"));
    assert_eq!(promotion["by"], "an administrator", "{promotion}");
    assert!(
        promotion["ip"].is_null(),
        "the administrator's address: {promotion}"
    );
    let text = export.to_string();
    assert!(
        !text.contains("bob@example.com"),
        "another user's data: {text}"
    );
    assert!(!text.contains("$2"), "a password hash: {text}");
}

#[tokio::test]
async fn the_export_asks_for_the_password_once_sudo_mode_is_over() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    app.clock.advance(Duration::minutes(11));

    let response = app.get("/account/export").await;

    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()[LOCATION],
        "/account/confirm?next=%2Faccount%2Fexport"
    );
}

/// The account id the export names.
async fn export_id(browser: &crate::helpers::Browser) -> i64 {
    let export: serde_json::Value =
        serde_json::from_str(&browser.get("/account/export").await.text().await.unwrap()).unwrap();
    export["profile"]["id"].as_i64().unwrap()
}
