use chrono::Duration;
use diesel::prelude::*;
use futures_util::future::join_all;

use {{crate_name}}::db::schema::{outbox_messages, verification_codes};
use {{crate_name}}::models::user;

use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::signup::without_tokens;

const EMAIL: &str = "ada@example.com";

async fn signed_up(app: &TestApp) -> String {
    app.signup("Ada Lovelace", EMAIL, PASSWORD).await;
    app.latest_code_for(EMAIL).await
}

async fn enter_code(app: &TestApp, code: &str) -> reqwest::Response {
    app.post_form("/verify", &[("code", code)]).await
}

fn other_code(code: &str) -> String {
    let number: u32 = code.parse().unwrap();
    format!("{:06}", (number + 1) % 1_000_000)
}

#[tokio::test]
async fn the_right_code_verifies_the_address_and_signs_the_user_in() {
    let app = spawn_app().await;
    let code = signed_up(&app).await;

    let response = enter_code(&app, &code).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/dashboard");
    let dashboard = app.get("/dashboard").await;
    assert_eq!(dashboard.status(), 200);
    assert!(
        dashboard
            .text()
            .await
            .unwrap()
            .contains("Hello, Ada Lovelace")
    );
    let mut conn = app.pool.get().unwrap();
    let stored = user::get_user_by_email(&mut conn, EMAIL).unwrap().unwrap();
    assert!(stored.email_verified_at.is_some());
}

#[tokio::test]
async fn unverified_users_cannot_reach_signed_in_pages() {
    let app = spawn_app().await;
    signed_up(&app).await;

    let response = app.get("/dashboard").await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?next=%2Fdashboard");
}

#[tokio::test]
async fn a_wrong_code_is_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let code = signed_up(&app).await;

    let response = enter_code(&app, &other_code(&code)).await;

    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("That code is not right")
    );
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let app = spawn_app().await;
    let code = signed_up(&app).await;

    app.clock
        .advance(Duration::minutes(10) + Duration::seconds(1));
    let response = enter_code(&app, &code).await;

    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn the_verify_page_says_how_long_the_code_works() {
    let default = spawn_app().await;
    let shorter = spawn_app_with(&[("VERIFICATION_CODE_MINUTES", "1")]).await;
    signed_up(&default).await;
    signed_up(&shorter).await;

    let default_page = default.get("/verify").await.text().await.unwrap();
    let shorter_page = shorter.get("/verify").await.text().await.unwrap();

    assert!(
        default_page.contains("It works for 10 minutes."),
        "{default_page}"
    );
    assert!(
        shorter_page.contains("It works for 1 minute."),
        "{shorter_page}"
    );
}

#[tokio::test]
async fn five_wrong_guesses_kill_the_code() {
    let app = spawn_app().await;
    let code = signed_up(&app).await;
    for _ in 0..5 {
        let response = enter_code(&app, &other_code(&code)).await;
        assert_eq!(response.status(), 422);
    }

    let response = enter_code(&app, &code).await;

    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("expired or was tried too often")
    );
    let dashboard = app.get("/dashboard").await;
    assert_eq!(dashboard.status(), 303);
}

#[tokio::test]
async fn a_new_code_kills_the_old_one() {
    let app = spawn_app().await;
    let old_code = signed_up(&app).await;
    app.clock.advance(Duration::seconds(61));
    app.post_form("/verify/resend", &[]).await;
    let new_code = app.latest_code_for(EMAIL).await;

    let old = enter_code(&app, &old_code).await;
    let new = enter_code(&app, &new_code).await;

    if old_code != new_code {
        assert_eq!(old.status(), 422);
    }
    assert_eq!(new.status(), 303);
}

#[tokio::test]
async fn a_code_works_only_once() {
    let app = spawn_app().await;
    let code = signed_up(&app).await;
    let other = app.new_browser();
    // The second browser waits for the same address's code, like a second tab.
    other.signup("Ada Lovelace", EMAIL, PASSWORD).await;

    enter_code(&app, &code).await;
    let replay = other.post_form("/verify", &[("code", code.as_str())]).await;

    assert_eq!(replay.status(), 422);
    let mut conn = app.pool.get().unwrap();
    let unused: i64 = verification_codes::table
        .filter(verification_codes::consumed_at.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(unused, 0);
}

#[tokio::test]
async fn resending_waits_for_the_cooldown_and_stops_at_the_hourly_cap() {
    let app = spawn_app().await;
    signed_up(&app).await;

    let too_soon = app.post_form("/verify/resend", &[]).await;
    assert_eq!(too_soon.headers()["location"], "/verify");
    let page = app.get("/verify").await.text().await.unwrap();
    assert!(page.contains("Please wait"), "{page}");

    for _ in 0..4 {
        app.clock.advance(Duration::seconds(61));
        app.post_form("/verify/resend", &[]).await;
        app.latest_code_for(EMAIL).await;
    }
    app.clock.advance(Duration::seconds(61));
    app.post_form("/verify/resend", &[]).await;

    let page = app.get("/verify").await.text().await.unwrap();
    assert!(page.contains("too many codes"), "{page}");
    assert_eq!(app.mails_to(EMAIL).len(), 5);
}

/// The seconds the verify page's "send a new code" button counts down from.
async fn resend_countdown(browser: &crate::helpers::Browser) -> i64 {
    let page = browser.get("/verify").await.text().await.unwrap();
    let pattern = regex::Regex::new(r#"data-countdown-seconds="([0-9]+)""#).unwrap();
    let captures = pattern
        .captures(&page)
        .expect("a countdown on the resend button");
    captures[1].parse().unwrap()
}

#[tokio::test]
async fn the_verify_page_counts_down_to_the_next_code_alike_for_new_and_taken_addresses() {
    let app = spawn_app().await;
    signed_up(&app).await;
    assert_eq!(resend_countdown(&app).await, 60);

    app.clock.advance(Duration::seconds(45));
    assert_eq!(resend_countdown(&app).await, 15);
    app.clock.advance(Duration::seconds(16));
    assert_eq!(resend_countdown(&app).await, 0);
    app.post_form("/verify/resend", &[]).await;
    assert_eq!(resend_countdown(&app).await, 60);

    // Signing up again with the address, from elsewhere, looks the same.
    let stranger = app.new_browser();
    stranger.signup("Someone Else", EMAIL, PASSWORD).await;
    assert_eq!(resend_countdown(&stranger).await, 60);
}

#[tokio::test]
async fn the_code_form_needs_a_pending_signup() {
    let app = spawn_app().await;

    let page = app.get("/verify").await;
    let post = app.post_form("/verify", &[("code", "123456")]).await;

    assert_eq!(page.headers()["location"], "/login");
    assert_eq!(post.headers()["location"], "/login");
}

#[tokio::test]
async fn only_a_keyed_hash_of_the_code_is_stored() {
    let app = spawn_app().await;
    let code = signed_up(&app).await;

    let stored: String = {
        let mut conn = app.pool.get().unwrap();
        verification_codes::table
            .select(verification_codes::code_hash)
            .first(&mut conn)
            .unwrap()
    };

    assert!(!stored.contains(&code), "{stored}");
    // HMAC-SHA-256: 32 bytes in hex. A plain hash of a 6-digit code could be reversed
    // by trying all million codes; the server's key makes that impossible.
    assert_eq!(stored.len(), 64, "{stored}");
    assert!(stored.bytes().all(|b| b.is_ascii_hexdigit()), "{stored}");
    let unkeyed = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(code.as_bytes()));
    assert_ne!(stored, unkeyed);
}

#[tokio::test]
async fn parallel_resends_and_sign_ins_send_one_code_and_one_mail() {
    let app = spawn_app().await;
    signed_up(&app).await;
    let token = app.csrf_token().await;
    app.clock.advance(Duration::seconds(61));

    let resends = (0..20).map(|_| {
        app.client
            .post(app.url("/verify/resend"))
            .form(&[("csrf_token", token.as_str())])
            .send()
    });
    for response in join_all(resends).await {
        assert_eq!(response.unwrap().status(), 303);
    }

    assert_eq!(
        codes_and_mails(&app),
        (2, 2),
        "one new code after the signup's"
    );
    app.clock.advance(Duration::seconds(61));
    let browsers: Vec<_> = (0..20).map(|_| app.new_browser()).collect();
    let sign_ins = browsers
        .iter()
        .map(|browser| browser.login(EMAIL, PASSWORD));
    for response in join_all(sign_ins).await {
        assert_eq!(response.headers()["location"], "/verify");
    }
    assert_eq!(
        codes_and_mails(&app),
        (3, 3),
        "one new code for all the sign-ins"
    );
}

/// Codes stored for Ada, and mails queued to her.
fn codes_and_mails(app: &TestApp) -> (i64, i64) {
    let mut conn = app.pool.get().unwrap();
    let codes = verification_codes::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    let mails = outbox_messages::table
        .filter(outbox_messages::recipient.eq(EMAIL))
        .count()
        .get_result(&mut conn)
        .unwrap();
    (codes, mails)
}

#[tokio::test]
async fn a_stranger_verifying_the_same_address_can_neither_use_up_nor_use_the_owners_code() {
    let app = spawn_app().await;
    let code = signed_up(&app).await;
    let stranger = app.new_browser();
    stranger.signup("Eve", EMAIL, PASSWORD).await;

    for _ in 0..6 {
        stranger
            .post_form("/verify", &[("code", &other_code(&code))])
            .await;
    }
    let with_the_right_code = stranger.post_form("/verify", &[("code", &code)]).await;
    let owner = enter_code(&app, &code).await;

    assert_eq!(
        with_the_right_code.status(),
        422,
        "the stranger was signed in"
    );
    assert_eq!(owner.status(), 303, "the stranger used up the owner's code");
    assert_eq!(owner.headers()["location"], "/dashboard");
}

#[tokio::test]
async fn the_verify_pages_answer_alike_for_a_taken_and_a_free_address() {
    let app = spawn_app().await;
    app.signed_up_user("taken@example.com").await;
    let browsers = [
        (app.new_browser(), "taken@example.com"),
        (app.new_browser(), "free@example.com"),
    ];
    for (browser, email) in &browsers {
        browser.signup("Eve", email, PASSWORD).await;
    }
    // Too soon, six wrong codes, then codes a minute apart up to the hourly cap.
    let mut steps = vec![Step::Resend];
    steps.extend([Step::WrongCode; 6]);
    steps.extend([Step::ResendAMinuteLater; 5]);

    let mut answers: [Vec<String>; 2] = Default::default();
    for step in steps {
        if step == Step::ResendAMinuteLater {
            app.clock.advance(Duration::seconds(61));
        }
        for ((browser, email), answers) in browsers.iter().zip(&mut answers) {
            answers.push(answer(browser, email, step).await);
        }
    }

    assert!(
        answers[1]
            .iter()
            .any(|page| page.contains("tried too often"))
    );
    assert!(
        answers[1]
            .iter()
            .any(|page| page.contains("too many codes"))
    );
    for (taken, free) in answers[0].iter().zip(&answers[1]) {
        assert_eq!(taken, free);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Resend,
    WrongCode,
    ResendAMinuteLater,
}

/// What `browser`, verifying `email`, sees after `step`: the status, then the page.
async fn answer(browser: &Browser, email: &str, step: Step) -> String {
    let response = match step {
        Step::WrongCode => browser.post_form("/verify", &[("code", "000000")]).await,
        Step::Resend | Step::ResendAMinuteLater => browser.post_form("/verify/resend", &[]).await,
    };
    let status = response.status();
    // A refused code is answered with the page; a resend with a redirect to it.
    let page = if status == 422 {
        response.text().await.unwrap()
    } else {
        browser.get("/verify").await.text().await.unwrap()
    };
    format!(
        "{status}\n{}",
        without_tokens(&page).replace(email, "EMAIL")
    )
}
