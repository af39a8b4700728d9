use diesel::prelude::*;

use {{crate_name}}::db::schema::{outbox_messages, users, verification_codes};
use {{crate_name}}::models::user;

use crate::helpers::{PASSWORD, broken_rules_in, password_checklist_in, spawn_app};

#[tokio::test]
async fn signup_creates_an_unverified_user_and_mails_a_code() {
    let app = spawn_app().await;

    let response = app
        .signup("Ada Lovelace", "Ada@Example.com", PASSWORD)
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/verify");
    let mut conn = app.pool.get().unwrap();
    let stored = user::get_user_by_email(&mut conn, "ada@example.com")
        .unwrap()
        .expect("no user row");
    assert_eq!(stored.name, "Ada Lovelace");
    assert!(stored.email_verified_at.is_none());
    assert!(!stored.is_admin);
    let mail = app.wait_for_mail("ada@example.com", "code").await;
    let code = crate::helpers::code_in(&mail.text).expect("no code in the mail");
    let page = app.get("/verify").await.text().await.unwrap();
    assert!(page.contains("ada@example.com"), "{page}");
    // Only an HMAC of the code is stored.
    let stored_hash: String = verification_codes::table
        .select(verification_codes::code_hash)
        .first(&mut conn)
        .unwrap();
    assert!(!stored_hash.contains(&code));
    assert_eq!(stored_hash.len(), 64);
}

#[tokio::test]
async fn signup_marks_each_broken_password_rule_once_in_the_checklist() {
    let app = spawn_app().await;

    let response = app.signup("Ada", "ada@example.com", "password").await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert_eq!(
        broken_rules_in(&page),
        ["too_short", "needs_uppercase", "needs_digit", "too_common"]
    );
    for rule in [
        "Use at least 12 characters.",
        "Include an upper-case letter.",
        "Include a digit.",
        "Avoid common passwords and simple variations of them.",
    ] {
        assert_eq!(page.matches(rule).count(), 1, "{rule:?} is not shown once");
    }
    assert!(
        page.contains(r#"aria-invalid="true" aria-describedby="password-errors password-rules""#),
        "the field does not point at its broken rules"
    );
    assert!(
        page.contains(r#"value="ada@example.com""#),
        "the email was lost"
    );
    let mut conn = app.pool.get().unwrap();
    let count: i64 = users::table.count().get_result(&mut conn).unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn signup_refuses_passwords_over_72_bytes_with_a_clear_message() {
    let app = spawn_app().await;
    let byte_limit_shown = |page: &str| {
        password_checklist_in(page)
            .iter()
            .find(|(id, ..)| id == "too_long")
            .map(|(_, shown, broken, _)| (*shown, *broken))
    };

    let form = app.browser.get("/signup").await.text().await.unwrap();
    assert_eq!(byte_limit_shown(&form), Some((false, false)));

    let long = format!("Aa1{}", "x".repeat(10 * 1024));
    let response = app.signup("Ada", "ada@example.com", &long).await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert_eq!(byte_limit_shown(&page), Some((true, true)), "{page}");
    assert!(page.contains("Use at most 72 bytes"), "{page}");
}

#[tokio::test]
async fn signup_ignores_fields_it_does_not_know() {
    let app = spawn_app().await;

    app.post_form(
        "/signup",
        &[
            ("name", "Mallory"),
            ("email", "mallory@example.com"),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
            ("is_admin", "1"),
            ("is_active", "1"),
            ("email_verified_at", "2020-01-01 00:00:00"),
        ],
    )
    .await;

    let mut conn = app.pool.get().unwrap();
    let stored = user::get_user_by_email(&mut conn, "mallory@example.com")
        .unwrap()
        .expect("no user row");
    assert!(!stored.is_admin);
    assert!(stored.email_verified_at.is_none());
}

#[tokio::test]
async fn signup_with_a_taken_email_looks_the_same_and_mails_the_owner_instead() {
    let app = spawn_app().await;
    app.signed_up_user("ada@example.com").await;
    let first = app.new_browser();
    let second = app.new_browser();

    let fresh = first.signup("Eve", "eve@example.com", PASSWORD).await;
    let taken = second.signup("Eve", "ada@example.com", PASSWORD).await;

    assert_eq!(fresh.status(), taken.status());
    assert_eq!(fresh.headers()["location"], taken.headers()["location"]);
    assert_eq!(cookie_names(&fresh), cookie_names(&taken));
    let fresh_page = first.get("/verify").await.text().await.unwrap();
    let taken_page = second.get("/verify").await.text().await.unwrap();
    assert_eq!(
        without_tokens(&fresh_page).replace("eve@example.com", "EMAIL"),
        without_tokens(&taken_page).replace("ada@example.com", "EMAIL")
    );
    let notice = app.wait_for_mail("ada@example.com", "sign up").await;
    assert!(notice.text.contains("/forgot-password"), "{}", notice.text);
    let mut conn = app.pool.get().unwrap();
    let count: i64 = users::table
        .filter(users::email.eq("ada@example.com"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(
        app.mails_to("ada@example.com").len(),
        2,
        "code + notice only"
    );
}

#[tokio::test]
async fn sign_up_attempt_notices_to_one_account_wait_a_minute_and_stop_at_five_an_hour() {
    let app = spawn_app().await;
    app.signed_up_user("ada@example.com").await;
    let notices = || {
        let mut conn = app.pool.get().unwrap();
        outbox_messages::table
            .filter(outbox_messages::kind.eq("signup_attempt"))
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap()
    };

    for _ in 0..3 {
        let taken = app
            .new_browser()
            .signup("Eve", "ada@example.com", PASSWORD)
            .await;
        assert_eq!(taken.headers()["location"], "/verify");
    }
    assert_eq!(notices(), 1);
    for _ in 0..6 {
        app.clock.advance(chrono::Duration::seconds(61));
        app.new_browser()
            .signup("Eve", "ada@example.com", PASSWORD)
            .await;
    }
    assert_eq!(notices(), 5);
}

fn cookie_names(response: &reqwest::Response) -> Vec<String> {
    let mut names: Vec<String> = response.cookies().map(|c| c.name().to_owned()).collect();
    names.sort();
    names
}

/// A page with its per-visitor CSRF tokens blanked out.
pub fn without_tokens(page: &str) -> String {
    let token = regex::Regex::new(r"[0-9a-f]{64}").unwrap();
    token.replace_all(page, "TOKEN").into_owned()
}
