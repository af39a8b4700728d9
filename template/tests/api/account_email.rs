//! Changing one's email address (SECURITY.md item 41): a code to the new address, the
//! change only when it comes back, and nothing that tells whose an address is.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::header::LOCATION;

use {{crate_name}}::db::schema::{audit_events, outbox_messages, users};

use crate::helpers::{
    Browser, PASSWORD, TestApp, path_of, reset_link_in, spawn_app, spawn_app_with,
};

const ADA: &str = "ada@example.com";
const NEW: &str = "ada.lovelace@example.org";
const GRACE: &str = "grace@example.com";

#[tokio::test]
async fn the_code_sent_to_the_new_address_moves_the_account_and_the_old_address_is_told() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let phone = signed_in(&app).await;
    app.new_browser()
        .post_form("/forgot-password", &[("email", ADA)])
        .await;
    let reset = app.wait_for_mail(ADA, "reset").await;
    let reset_path = path_of(&reset_link_in(&reset.text).expect("no reset link in the mail"));

    let asked = ask_to_move(&app, " Ada.Lovelace@Example.org ", PASSWORD).await;

    assert_eq!(asked.status(), 303);
    assert_eq!(asked.headers()[LOCATION], "/account/email");
    let page = app.get("/account/email").await.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "We sent a 6-digit code to <strong class=\"wrap-break-word\">{NEW}"
        )),
        "{page}"
    );
    assert_eq!(
        email_of(&app, ADA),
        Some(ADA.to_owned()),
        "moved before the code"
    );
    let code = app.latest_code_for(NEW).await;

    let confirmed = app
        .post_form("/account/email/confirm", &[("code", &code)])
        .await;

    assert_eq!(confirmed.status(), 303);
    assert_eq!(confirmed.headers()[LOCATION], "/account");
    let profile = app.get("/account").await.text().await.unwrap();
    assert!(
        profile.contains(&format!("You now sign in with {NEW}.")),
        "{profile}"
    );
    assert_eq!(email_of(&app, NEW), Some(NEW.to_owned()));
    assert_eq!(email_of(&app, ADA), None);
    assert_eq!(
        phone.get("/dashboard").await.status(),
        303,
        "the phone stayed signed in"
    );
    let link = app.new_browser().get(&reset_path).await;
    assert_eq!(
        link.status(),
        410,
        "a reset link sent to the old address still works"
    );
    let notice = app.wait_for_mail(ADA, "email address was changed").await;
    assert!(notice.text.contains(NEW), "{}", notice.text);
    assert_eq!(app.new_browser().login(NEW, PASSWORD).await.status(), 303);
    let old = app.new_browser();
    old.login(ADA, PASSWORD).await;
    assert_eq!(old.get("/dashboard").await.status(), 303);
    let mut conn = app.pool.get().unwrap();
    let logged: Vec<(String, Option<String>)> = audit_events::table
        .filter(audit_events::action.eq("account.email_change"))
        .select((audit_events::actor_email, audit_events::target_email))
        .load(&mut conn)
        .unwrap();
    assert_eq!(logged, [(ADA.to_owned(), Some(NEW.to_owned()))]);
}

#[tokio::test]
async fn the_code_sent_twice_at_once_moves_the_account_once_and_both_land_on_the_profile() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    ask_to_move(&app, NEW, PASSWORD).await;
    let code = app.latest_code_for(NEW).await;

    let fields = [("code", code.as_str())];
    let (first, second) = tokio::join!(
        app.post_form("/account/email/confirm", &fields),
        app.post_form("/account/email/confirm", &fields),
    );

    for response in [first, second] {
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], "/account");
    }
    assert_eq!(email_of(&app, NEW), Some(NEW.to_owned()));
    let mut conn = app.pool.get().unwrap();
    let notices: i64 = outbox_messages::table
        .filter(outbox_messages::kind.eq("email_changed"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(notices, 1);
}

#[tokio::test]
async fn a_wrong_password_sends_nothing_and_counts_like_a_failed_sign_in() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    let refused = ask_to_move(&app, NEW, "Not-My-Password-123").await;

    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("That is not your current password."),
        "{page}"
    );
    assert!(
        page.contains(&format!("value=\"{NEW}\"")),
        "the address typed was lost"
    );
    assert!(!page.contains("We sent a 6-digit code"), "{page}");
    assert_eq!(failed_logins(&app), 1);
    assert!(app.mails_to(NEW).is_empty());
}

#[tokio::test]
async fn the_password_is_asked_for_even_in_sudo_mode() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    let refused = ask_to_move(&app, NEW, "").await;

    assert_eq!(refused.status(), 422);
    assert!(app.mails_to(NEW).is_empty());
}

#[tokio::test]
async fn bad_and_unchanged_addresses_get_a_clear_message() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    for (typed, message) in [
        (
            "not-an-address",
            "Enter an email address like name@example.com.",
        ),
        (" ADA@example.com", "That is the address you use now."),
    ] {
        let refused = ask_to_move(&app, typed, PASSWORD).await;
        assert_eq!(refused.status(), 422, "{typed}");
        let page = refused.text().await.unwrap();
        assert!(page.contains(message), "{typed}: {page}");
    }
}

#[tokio::test]
async fn wrong_codes_change_nothing_and_use_the_code_up() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    ask_to_move(&app, NEW, PASSWORD).await;
    let code = app.latest_code_for(NEW).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let mut pages = Vec::new();
    for _ in 0..5 {
        let response = app
            .post_form("/account/email/confirm", &[("code", wrong)])
            .await;
        assert_eq!(response.status(), 422);
        pages.push(response.text().await.unwrap());
    }
    let too_late = app
        .post_form("/account/email/confirm", &[("code", &code)])
        .await;

    assert!(pages[0].contains("That code is not right."), "{}", pages[0]);
    assert_eq!(too_late.status(), 422);
    let page = too_late.text().await.unwrap();
    assert!(
        page.contains("This code has expired or was tried too often."),
        "{page}"
    );
    assert_eq!(email_of(&app, ADA), Some(ADA.to_owned()));
}

#[tokio::test]
async fn the_code_expires_and_keeping_the_address_voids_it() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    ask_to_move(&app, NEW, PASSWORD).await;
    let code = app.latest_code_for(NEW).await;

    let kept = app.post_form("/account/email/cancel", &[]).await;
    assert_eq!(kept.status(), 303);
    let page = app.get("/account/email").await.text().await.unwrap();
    assert!(
        page.contains(&format!("Your address stays {ADA}.")),
        "{page}"
    );
    assert!(!page.contains("We sent a 6-digit code"), "{page}");
    let void = app
        .post_form("/account/email/confirm", &[("code", &code)])
        .await;
    assert_eq!(void.status(), 422);

    app.clock.advance(Duration::minutes(2));
    ask_to_move(&app, NEW, PASSWORD).await;
    let code = app.latest_code_for(NEW).await;
    app.clock.advance(Duration::minutes(11));
    let expired = app
        .post_form("/account/email/confirm", &[("code", &code)])
        .await;
    assert_eq!(expired.status(), 422);
    assert_eq!(email_of(&app, ADA), Some(ADA.to_owned()));
}

#[tokio::test]
async fn a_taken_address_gets_the_same_answers_as_a_free_one_and_its_owner_is_told() {
    let app = spawn_app().await;
    app.signed_up_user_in(&app.new_browser(), GRACE).await;
    let free = app.new_browser();
    app.signed_up_user_in(&free, "alan@example.com").await;
    app.signed_up_user(ADA).await;

    let mut answers = Vec::new();
    for (browser, address) in [(&app.browser, GRACE), (&free, NEW)] {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let response = browser
                .post_form(
                    "/account/email",
                    &[("email", address), ("current_password", PASSWORD)],
                )
                .await;
            seen.push(response.status().as_u16());
        }
        let page = browser.get("/account/email").await.text().await.unwrap();
        seen.push(u16::from(page.contains(&format!(
            "code to <strong class=\"wrap-break-word\">{address}"
        ))));
        answers.push(seen);
    }

    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], [303, 429, 1]);
    let notice = app.wait_for_mail(GRACE, "move").await;
    assert!(
        notice.text.contains("nothing was changed"),
        "{}",
        notice.text
    );
    app.wait_for_mail(NEW, "code").await;
    let subjects: Vec<String> = app
        .mails_to(GRACE)
        .into_iter()
        .map(|mail| mail.subject)
        .collect();
    assert!(
        !subjects
            .iter()
            .any(|subject| subject.contains("confirm your new")),
        "a code went to the owner: {subjects:?}"
    );
    assert_eq!(email_of(&app, ADA), Some(ADA.to_owned()));
}

#[tokio::test]
async fn two_users_asking_for_each_others_address_at_once_both_get_the_usual_answer() {
    // Both ask from one IP address, more often than its auth budget allows by default.
    let app = spawn_app_with(&[("RATE_LIMIT_AUTH_BURST", "100")]).await;
    app.signed_up_user(ADA).await;
    let grace = app.new_browser();
    app.signed_up_user_in(&grace, GRACE).await;

    // Three rounds: with each signup code, four of the five codes an hour allows.
    for _ in 0..3 {
        let (ada_asks, grace_asks) = tokio::join!(
            ask_to_move(&app, GRACE, PASSWORD),
            grace.post_form(
                "/account/email",
                &[("email", ADA), ("current_password", PASSWORD)],
            ),
        );
        let statuses = [ada_asks.status().as_u16(), grace_asks.status().as_u16()];
        assert_eq!(statuses, [303, 303]);
        app.clock.advance(Duration::minutes(2));
    }
}

#[tokio::test]
async fn an_address_taken_before_the_code_comes_back_is_refused() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    ask_to_move(&app, NEW, PASSWORD).await;
    let code = app.latest_code_for(NEW).await;
    app.new_browser().signup("Someone", NEW, PASSWORD).await;

    let refused = app
        .post_form("/account/email/confirm", &[("code", &code)])
        .await;

    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("belongs to another account now"), "{page}");
    assert_eq!(email_of(&app, ADA), Some(ADA.to_owned()));
}

#[tokio::test]
async fn the_email_forms_share_the_per_address_limit_of_the_auth_forms() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_AUTH_BURST", "3"),
        ("RATE_LIMIT_AUTH_REFILL_SECONDS", "600"),
    ])
    .await;
    // Signing up and entering the code take two of the address's three requests.
    app.signed_up_user(ADA).await;

    let first = ask_to_move(&app, NEW, "Not-My-Password-123").await;
    let code = app
        .post_form("/account/email/confirm", &[("code", "123456")])
        .await;

    assert_eq!(
        [first.status().as_u16(), code.status().as_u16()],
        [422, 429]
    );
}

async fn ask_to_move(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_form(
        "/account/email",
        &[("email", email), ("current_password", password)],
    )
    .await
}

async fn signed_in(app: &TestApp) -> Browser {
    let browser = app.new_browser();
    assert_eq!(browser.login(ADA, PASSWORD).await.status(), 303);
    browser
}

fn email_of(app: &TestApp, email: &str) -> Option<String> {
    let mut conn = app.pool.get().unwrap();
    users::table
        .filter(users::email.eq(email))
        .select(users::email)
        .get_result(&mut conn)
        .optional()
        .unwrap()
}

fn failed_logins(app: &TestApp) -> i32 {
    let mut conn = app.pool.get().unwrap();
    users::table
        .filter(users::email.eq(ADA))
        .select(users::failed_login_count)
        .get_result(&mut conn)
        .unwrap()
}
