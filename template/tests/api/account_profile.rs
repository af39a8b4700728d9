//! The profile page: a signed-in user changes their name.

use reqwest::header::LOCATION;

use crate::helpers::spawn_app;

const ADA: &str = "ada@example.com";

#[tokio::test]
async fn a_new_name_is_saved_and_greets_the_user() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    let response = app
        .post_form("/account", &[("name", "  Ada Lovelace ")])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/account");
    let profile = app.get("/account").await.text().await.unwrap();
    assert!(profile.contains("Your name is saved."), "{profile}");
    assert!(profile.contains(r#"value="Ada Lovelace""#), "{profile}");
    let dashboard = app.get("/dashboard").await.text().await.unwrap();
    assert!(dashboard.contains("Hello, Ada Lovelace"), "{dashboard}");
}

#[tokio::test]
async fn a_name_the_rules_refuse_is_shown_again_with_the_reason() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let before = app.get("/account").await.text().await.unwrap();

    let response = app.post_form("/account", &[("name", "   ")]).await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"aria-invalid="true""#), "{page}");
    let after = app.get("/account").await.text().await.unwrap();
    let name = |page: &str| {
        regex::Regex::new(r#"id="name" name="name"[^>]* value="([^"]*)""#)
            .unwrap()
            .captures(page)
            .map(|c| c[1].to_owned())
    };
    assert_eq!(name(&after), name(&before));
}

#[tokio::test]
async fn the_profile_needs_a_signed_in_user() {
    let app = spawn_app().await;

    let response = app.new_browser().get("/account").await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/login?next=%2Faccount");
}
