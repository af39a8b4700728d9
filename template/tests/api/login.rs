use std::time::Duration as StdDuration;

use chrono::Duration;
use diesel::prelude::*;
use futures_util::future::join_all;

use {{crate_name}}::accounts::email::EmailAddress;
use {{crate_name}}::accounts::login::{self, Attempt, LoginOutcome};
use {{crate_name}}::clock::Clock;
use {{crate_name}}::db::schema::users;
use {{crate_name}}::mail::{Mailer, Site};
use {{crate_name}}::models::{User, user};

use crate::helpers::{FIREFOX_ON_WINDOWS, PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::signup::without_tokens;

const EMAIL: &str = "ada@example.com";

/// A verified user, signed out again, ready to log in.
async fn registered(app: &TestApp) {
    app.signed_up_user(EMAIL).await;
    app.logout().await;
}

#[tokio::test]
async fn a_verified_user_signs_in_and_lands_on_the_dashboard() {
    let app = spawn_app().await;
    registered(&app).await;

    let response = app.login("Ada@Example.com", PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/dashboard");
    assert_eq!(app.get("/dashboard").await.status(), 200);
    let mut conn = app.pool.get().unwrap();
    let stored = user::get_user_by_email(&mut conn, EMAIL).unwrap().unwrap();
    assert!(stored.last_login_at.is_some());
}

#[tokio::test]
async fn login_returns_to_a_safe_next_page_and_ignores_an_unsafe_one() {
    let app = spawn_app().await;
    registered(&app).await;
    let other = app.new_browser();

    let safe = app
        .post_form(
            "/login?next=%2Faccount%2Fpassword",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    let unsafe_next = other
        .post_form(
            "/login?next=%2F%2Fevil.example",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;

    assert_eq!(safe.headers()["location"], "/account/password");
    assert_eq!(unsafe_next.headers()["location"], "/dashboard");
}

#[tokio::test]
async fn every_failed_login_gets_the_same_answer() {
    let app = spawn_app().await;
    registered(&app).await;
    app.new_browser()
        .signup("Unverified", "unverified@example.com", PASSWORD)
        .await;
    app.signed_up_user_in(&app.new_browser(), "disabled@example.com")
        .await;
    let mut conn = app.pool.get().unwrap();
    diesel::update(users::table.filter(users::email.eq("disabled@example.com")))
        .set(users::is_active.eq(false))
        .execute(&mut conn)
        .unwrap();

    let mut answers = Vec::new();
    for (email, password) in [
        (EMAIL, "Wrong-Password-123"),
        ("nobody@example.com", PASSWORD),
        ("unverified@example.com", "Wrong-Password-123"),
        ("disabled@example.com", PASSWORD),
    ] {
        let browser = app.new_browser();
        browser.get("/login").await;
        let response = browser.login(email, password).await;
        let status = response.status();
        let mut cookies: Vec<String> = response.cookies().map(|c| c.name().to_owned()).collect();
        cookies.sort();
        let body = without_tokens(&response.text().await.unwrap()).replace(email, "EMAIL");
        answers.push((status, cookies, body));
    }

    assert_eq!(answers[0].0, 422);
    for answer in &answers[1..] {
        assert_eq!(answer, &answers[0]);
    }
}

#[tokio::test]
async fn the_right_password_of_an_unverified_account_leads_to_verification_with_a_fresh_code() {
    let app = spawn_app().await;
    app.signup("Ada Lovelace", EMAIL, PASSWORD).await;
    app.latest_code_for(EMAIL).await;
    let browser = app.new_browser();
    app.clock.advance(Duration::seconds(61));

    let response = browser.login(EMAIL, PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/verify");
    let code = app.latest_code_for(EMAIL).await;
    let verified = browser
        .post_form("/verify", &[("code", code.as_str())])
        .await;
    assert_eq!(verified.headers()["location"], "/dashboard");
}

#[tokio::test]
async fn ten_failures_lock_the_account_for_fifteen_minutes_and_mail_the_owner() {
    let app = spawn_app().await;
    registered(&app).await;
    // A browser that never signed in to the account (the one that signed up did).
    let stranger = app.new_browser();
    for _ in 0..10 {
        stranger.login(EMAIL, "Wrong-Password-123").await;
    }

    let while_locked = stranger.login(EMAIL, PASSWORD).await;

    assert_eq!(while_locked.status(), 422);
    let notice = app.wait_for_mail(EMAIL, "locked").await;
    assert!(notice.text.contains("15 minutes"), "{}", notice.text);
    app.clock
        .advance(Duration::minutes(15) + Duration::seconds(1));
    let after = stranger.login(EMAIL, PASSWORD).await;
    assert_eq!(after.status(), 303);
}

#[tokio::test]
async fn parallel_failures_are_all_counted_and_lock_once() {
    let app = spawn_app().await;
    registered(&app).await;
    let stranger = app.new_browser();
    let token = stranger.csrf_token().await;

    let attempts = (0..50).map(|_| {
        stranger
            .client
            .post(stranger.url("/login"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", EMAIL),
                ("password", "Wrong-Password-123"),
            ])
            .send()
    });
    let responses = join_all(attempts).await;

    assert!(
        responses
            .iter()
            .all(|r| r.as_ref().unwrap().status() == 422)
    );
    let mut conn = app.pool.get().unwrap();
    let stored = user::get_user_by_email(&mut conn, EMAIL).unwrap().unwrap();
    assert_eq!(stored.failed_login_count, 50);
    app.wait_for_mail(EMAIL, "locked").await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let locked_mails = app
        .mails_to(EMAIL)
        .iter()
        .filter(|mail| mail.subject.to_lowercase().contains("locked"))
        .count();
    assert_eq!(locked_mails, 1);
}

/// Judges a right password for `account` as read before the password check began,
/// the way `POST /login` does once bcrypt has finished.
fn judge_right_password(app: &TestApp, account: Option<&User>) -> LoginOutcome {
    let mut conn = app.pool.get().unwrap();
    let attempt = Attempt {
        email: EMAIL.to_owned(),
        ip: "127.0.0.1".to_owned(),
        device: String::new(),
        browser: String::new(),
    };
    let site = Site {
        app_name: &app.settings.brand.name,
        base_url: &app.settings.base_url,
    };
    let accounts = &app.settings.accounts;
    let mailer = Mailer::new(site, accounts.code_lifetime, accounts.reset_lifetime, false)
        .expect("cannot load the mail templates");
    login::record_attempt(
        &mut conn,
        accounts,
        &mailer,
        &attempt,
        account,
        true,
        app.clock.now(),
    )
    .unwrap()
}

fn account_read_now(app: &TestApp) -> Option<User> {
    let mut conn = app.pool.get().unwrap();
    login::find_account(&mut conn, &EmailAddress::parse(EMAIL).unwrap()).unwrap()
}

#[tokio::test]
async fn a_right_guess_in_flight_when_the_account_locks_neither_signs_in_nor_unlocks() {
    let app = spawn_app().await;
    registered(&app).await;
    // A login reads the account, then spends its time in bcrypt...
    let read_before_the_lock = account_read_now(&app);
    // ...while a stranger's tenth wrong guess locks the account.
    let stranger = app.new_browser();
    for _ in 0..10 {
        stranger.login(EMAIL, "Wrong-Password-123").await;
    }

    let outcome = judge_right_password(&app, read_before_the_lock.as_ref());

    assert!(matches!(outcome, LoginOutcome::Failed), "{outcome:?}");
    let stored = account_read_now(&app).unwrap();
    assert!(
        stored
            .locked_until
            .is_some_and(|until| until > app.clock.now())
    );
    assert_eq!(stranger.login(EMAIL, PASSWORD).await.status(), 422);
}

#[tokio::test]
async fn a_right_guess_in_flight_fails_when_the_password_changed_or_the_account_was_disabled() {
    let app = spawn_app().await;
    registered(&app).await;
    let read_before = account_read_now(&app);
    let mut conn = app.pool.get().unwrap();
    diesel::update(users::table.filter(users::email.eq(EMAIL)))
        .set(
            users::password_hash
                .eq("$2b$04$a.different.hash.than.before.........................."),
        )
        .execute(&mut conn)
        .unwrap();

    let after_change = judge_right_password(&app, read_before.as_ref());

    assert!(
        matches!(after_change, LoginOutcome::Failed),
        "{after_change:?}"
    );
    let read_before = account_read_now(&app);
    diesel::update(users::table.filter(users::email.eq(EMAIL)))
        .set(users::is_active.eq(false))
        .execute(&mut conn)
        .unwrap();
    let after_disable = judge_right_password(&app, read_before.as_ref());
    assert!(
        matches!(after_disable, LoginOutcome::Failed),
        "{after_disable:?}"
    );
}

#[tokio::test]
async fn a_browser_that_signed_in_before_still_gets_in_while_strangers_lock_the_account() {
    let app = spawn_app().await;
    registered(&app).await;
    let laptop = app.new_browser();
    assert_eq!(laptop.login(EMAIL, PASSWORD).await.status(), 303);
    laptop.logout().await;
    let attacker = app.new_browser();
    for _ in 0..10 {
        attacker.login(EMAIL, "Wrong-Password-123").await;
    }

    let stranger = app.new_browser().login(EMAIL, PASSWORD).await;
    let owner = laptop.login(EMAIL, PASSWORD).await;

    assert_eq!(
        stranger.status(),
        422,
        "the lock holds for browsers it does not know"
    );
    assert_eq!(owner.status(), 303);
    assert_eq!(owner.headers()["location"], "/dashboard");
}

#[tokio::test]
async fn wrong_guesses_from_a_known_browser_cost_its_trust_not_the_account() {
    let app = spawn_app().await;
    registered(&app).await;
    let laptop = app.new_browser();
    laptop.login(EMAIL, PASSWORD).await;
    laptop.logout().await;

    for _ in 0..10 {
        laptop.login(EMAIL, "Wrong-Password-123").await;
    }

    // The account is not locked...
    assert_eq!(app.new_browser().login(EMAIL, PASSWORD).await.status(), 303);
    // ...but the laptop is a stranger now: once strangers lock the account, it is
    // kept out with them.
    let attacker = app.new_browser();
    for _ in 0..10 {
        attacker.login(EMAIL, "Wrong-Password-123").await;
    }
    assert_eq!(laptop.login(EMAIL, PASSWORD).await.status(), 422);
}

#[tokio::test]
async fn the_failure_count_starts_again_when_a_lock_expires() {
    let app = spawn_app().await;
    registered(&app).await;
    let attacker = app.new_browser();
    for _ in 0..10 {
        attacker.login(EMAIL, "Wrong-Password-123").await;
    }
    app.clock.advance(Duration::minutes(16));

    // One more failure after the lock ran out does not lock again at once.
    attacker.login(EMAIL, "Wrong-Password-123").await;

    assert_eq!(app.new_browser().login(EMAIL, PASSWORD).await.status(), 303);
    let stored = account_read_now(&app).unwrap();
    assert_eq!(stored.failed_login_count, 0, "reset by the sign-in");
    app.wait_for_mail(EMAIL, "locked").await;
    let locked_mails = app
        .mails_to(EMAIL)
        .iter()
        .filter(|mail| mail.subject.contains("locked"))
        .count();
    assert_eq!(locked_mails, 1);
}

#[tokio::test]
async fn the_device_cookie_is_http_only_lax_and_lasts_a_year() {
    let app = spawn_app().await;
    registered(&app).await;

    let login = app.new_browser().login(EMAIL, PASSWORD).await;

    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_ascii_lowercase())
        .find(|cookie| cookie.starts_with("device="))
        .expect("a sign-in marks the browser as known");
    for attribute in ["httponly", "samesite=lax", "path=/", "max-age=31536000"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
}

#[tokio::test]
async fn a_crowd_beyond_what_the_password_threads_finish_in_time_is_told_at_once_to_retry() {
    // One thread, and a second of waiting: a handful of bcrypt-12 checks at most.
    let app = spawn_app_with(&[
        ("BCRYPT_COST", "12"),
        ("BCRYPT_THREADS", "1"),
        ("BCRYPT_QUEUE_SECONDS", "1"),
        ("RATE_LIMIT_AUTH_BURST", "100"),
    ])
    .await;
    let token = app.csrf_token().await;
    let emails: Vec<String> = (0..16).map(|n| format!("crowd{n}@example.com")).collect();

    let attempts = emails.iter().map(|email| {
        app.client
            .post(app.url("/login"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", email.as_str()),
                ("password", PASSWORD),
            ])
            .send()
    });
    let responses: Vec<reqwest::Response> = join_all(attempts)
        .await
        .into_iter()
        .map(|response| response.expect("request failed"))
        .collect();

    let checked = responses.iter().filter(|r| r.status() == 422).count();
    let busy: Vec<&reqwest::Response> = responses.iter().filter(|r| r.status() == 503).collect();
    assert!(checked >= 1, "no login was checked");
    assert!(!busy.is_empty(), "nobody was told to come back");
    assert_eq!(checked + busy.len(), emails.len());
    for response in busy {
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=10).contains(&retry_after), "{retry_after}");
    }
}

#[tokio::test]
async fn a_sign_in_from_a_new_browser_mails_the_owner_where_and_when_once() {
    let app = spawn_app().await;
    registered(&app).await;
    let stranger = app.new_browser_as(FIREFOX_ON_WINDOWS);

    assert_eq!(stranger.login(EMAIL, PASSWORD).await.status(), 303);

    let notice = app.wait_for_mail(EMAIL, "new sign-in").await;
    assert!(
        notice.subject.contains("Firefox on Windows 10"),
        "{}",
        notice.subject
    );
    for part in [
        "Firefox on Windows 10",
        "IP address 127.0.0.1",
        &format!("{}/account/sessions", app.settings.base_url),
        &app.clock.now().format("%Y-%m-%d %H:%M UTC").to_string(),
    ] {
        assert!(notice.text.contains(part), "{part:?} in {}", notice.text);
    }
    // The browser is known from now on.
    stranger.logout().await;
    app.clock.advance(Duration::minutes(5));
    assert_eq!(stranger.login(EMAIL, PASSWORD).await.status(), 303);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(new_sign_in_mails(&app), 1);
}

#[tokio::test]
async fn the_browser_that_signed_up_is_no_new_browser() {
    let app = spawn_app().await;
    registered(&app).await;

    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 303);

    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(new_sign_in_mails(&app), 0);
}

#[tokio::test]
async fn new_sign_in_mail_false_sends_no_notice() {
    let app = spawn_app_with(&[("NEW_SIGN_IN_MAIL", "false")]).await;
    registered(&app).await;

    let response = app.new_browser().login(EMAIL, PASSWORD).await;

    assert_eq!(response.status(), 303);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(new_sign_in_mails(&app), 0);
}

fn new_sign_in_mails(app: &TestApp) -> usize {
    app.mails_to(EMAIL)
        .iter()
        .filter(|mail| mail.subject.to_lowercase().contains("new sign-in"))
        .count()
}
