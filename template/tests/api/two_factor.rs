//! Two-factor sign-in (SECURITY.md items 42 and 43): enrolment with an authenticator
//! app, the second step of signing in, recovery codes, and the administrator's reset.
//! The codes are computed here, from the key the page shows, at the app's clock.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::header::LOCATION;
use totp_rs::{Builder, Secret};

use {{crate_name}}::clock::Clock;
use {{crate_name}}::db::schema::{audit_events, outbox_messages, users};

use crate::helpers::{Browser, FIREFOX_ON_WINDOWS, PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::sessions::assert_redirects_to_login;

const ADA: &str = "ada@example.com";
const ADMIN: &str = "grace@example.com";

/// An enrolled user: the key their app holds and the recovery codes they saved.
pub(crate) struct Enrolled {
    key: String,
    recovery_codes: Vec<String>,
}

#[tokio::test]
async fn enrolling_takes_the_apps_first_code_then_shows_ten_recovery_codes_once() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;

    let started = app.post_form("/account/two-factor", &[]).await;
    assert_eq!(started.status(), 303);
    assert_eq!(started.headers()[LOCATION], "/account/two-factor");
    let page = app.get("/account/two-factor").await.text().await.unwrap();
    assert!(page.contains("<svg"), "no QR code: {page}");
    let key = key_in(&page).expect("no key on the page");
    assert!(page.contains("href=\"otpauth:"), "{page}");

    let wrong = app
        .post_form(
            "/account/two-factor/enable",
            &[("code", &wrong_code(&app, &key))],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That code is not right")
    );
    assert!(!is_enabled(&app), "on after a wrong code");

    let right = app
        .post_form(
            "/account/two-factor/enable",
            &[("code", &code_at(&app, &key, 0))],
        )
        .await;
    assert_eq!(right.status(), 200);
    let codes = recovery_codes_in(&right.text().await.unwrap());
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(is_enabled(&app));
    let mail = app.wait_for_mail(ADA, "two-factor sign-in is on").await;
    assert!(mail.text.contains("authenticator app"), "{}", mail.text);

    let page = app.get("/account/two-factor").await.text().await.unwrap();
    assert!(page.contains("Two-factor sign-in is on"), "{page}");
    assert!(page.contains("10 of 10 recovery codes are left"), "{page}");
    assert!(!page.contains(&key), "the key was shown again");
    assert!(!page.contains(&codes[0]), "a recovery code was shown again");
    let export = app.get("/account/export").await.text().await.unwrap();
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert!(
        export["profile"]["two_factor_enabled_at"].is_string(),
        "{export}"
    );
    assert!(
        !export.to_string().contains(&key),
        "the export holds the key"
    );
}

#[tokio::test]
async fn an_enrolled_account_signs_in_with_its_password_then_the_apps_code() {
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    let laptop = app.new_browser();
    let sign_ins = sign_in_audits(&app);

    let password = laptop
        .post_form(
            "/login?next=/account",
            &[("email", ADA), ("password", PASSWORD)],
        )
        .await;

    assert_eq!(password.status(), 303);
    assert_eq!(password.headers()[LOCATION], "/login/two-factor");
    assert_redirects_to_login(&laptop.get("/dashboard").await);
    let step = laptop.get("/login/two-factor").await;
    assert_eq!(step.status(), 200);
    assert!(step.text().await.unwrap().contains("Enter your code"));
    assert_eq!(
        sign_in_audits(&app),
        sign_ins,
        "the password step counted as a sign-in"
    );

    let code = laptop
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, 0))],
        )
        .await;

    assert_eq!(code.status(), 303);
    assert_eq!(code.headers()[LOCATION], "/account", "?next= was lost");
    assert_eq!(laptop.get("/dashboard").await.status(), 200);
    assert_eq!(sign_in_audits(&app), sign_ins + 1);
    app.wait_for_mail(ADA, "new sign-in").await;
}

#[tokio::test]
async fn each_code_signs_in_once() {
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    let code = code_at(&app, &ada.key, 0);
    let (first, second) = (app.new_browser(), app.new_browser());
    password_step(&first).await;
    password_step(&second).await;

    let used = first
        .post_form("/login/two-factor", &[("code", &code)])
        .await;
    let replayed = second
        .post_form("/login/two-factor", &[("code", &code)])
        .await;

    assert_eq!(used.status(), 303);
    assert_eq!(replayed.status(), 422);
    assert!(replayed.text().await.unwrap().contains("used already"));
    assert_redirects_to_login(&second.get("/dashboard").await);
}

#[tokio::test]
async fn the_code_of_the_step_before_or_after_works_but_not_two_steps_off() {
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::minutes(5));
    let phone = app.new_browser();
    password_step(&phone).await;

    let too_old = phone
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, -60))],
        )
        .await;
    let slow_phone = phone
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, -30))],
        )
        .await;

    assert_eq!(too_old.status(), 422);
    assert_eq!(slow_phone.status(), 303);
    let fast = app.new_browser();
    password_step(&fast).await;
    let fast_phone = fast
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, 30))],
        )
        .await;
    assert_eq!(fast_phone.status(), 303, "a code of the next step");
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_the_owner_hears_of_it() {
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    let laptop = app.new_browser();
    password_step(&laptop).await;
    // As typed from paper: capitals and a space for the dash.
    let typed = ada.recovery_codes[3].to_uppercase().replace('-', " ");

    let used = laptop
        .post_form("/login/two-factor", &[("code", &typed)])
        .await;

    assert_eq!(used.status(), 303);
    let dashboard = laptop.get("/dashboard").await.text().await.unwrap();
    assert!(dashboard.contains("recovery code; 9 left"), "{dashboard}");
    let mail = app.wait_for_mail(ADA, "recovery code was used").await;
    assert!(
        mail.text.contains("9 recovery codes are left"),
        "{}",
        mail.text
    );
    let page = laptop
        .get("/account/two-factor")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("9 of 10 recovery codes are left"), "{page}");

    let again = app.new_browser();
    password_step(&again).await;
    let reused = again
        .post_form("/login/two-factor", &[("code", &ada.recovery_codes[3])])
        .await;
    assert_eq!(reused.status(), 422);
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout_and_the_password_does_not_reset_the_count() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    let thief = app.new_browser();
    password_step(&thief).await;
    for _ in 0..2 {
        let wrong = thief
            .post_form(
                "/login/two-factor",
                &[("code", &wrong_code(&app, &ada.key))],
            )
            .await;
        assert_eq!(wrong.status(), 422);
    }
    // Entering the password again must not start the count afresh.
    password_step(&thief).await;
    let third = thief
        .post_form(
            "/login/two-factor",
            &[("code", &wrong_code(&app, &ada.key))],
        )
        .await;
    assert_eq!(third.status(), 422);

    let right = thief
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, 0))],
        )
        .await;

    assert_eq!(right.status(), 303);
    assert_eq!(
        right.headers()[LOCATION],
        "/login",
        "signed in while locked"
    );
    assert_redirects_to_login(&thief.get("/dashboard").await);
    app.wait_for_mail(ADA, "locked").await;
    assert_eq!(failed_logins(&app), 3);
}

#[tokio::test]
async fn a_wrong_second_factor_from_a_strange_browser_tells_the_owner_their_password_is_known() {
    let app = spawn_app_with(&[("MAIL_COOLDOWN_SECONDS", "60"), ("MAILS_PER_HOUR", "5")]).await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    let thief = app.new_browser_as(FIREFOX_ON_WINDOWS);
    password_step(&thief).await;

    for _ in 0..2 {
        let wrong = thief
            .post_form(
                "/login/two-factor",
                &[("code", &wrong_code(&app, &ada.key))],
            )
            .await;
        assert_eq!(wrong.status(), 422);
    }

    let notice = app
        .wait_for_mail(ADA, "password but failed the second step")
        .await;
    for part in [
        "Firefox on Windows 10",
        "IP address 127.0.0.1",
        &app.clock.now().format("%Y-%m-%d %H:%M UTC").to_string(),
        &format!("{}/forgot-password", app.settings.base_url),
    ] {
        assert!(notice.text.contains(part), "{part:?} in {}", notice.text);
    }
    // Within the mail limits: one notice for codes tried a minute apart or less.
    assert_eq!(second_factor_notices(&app), 1);

    // The owner mistyping in the browser they signed up in is no news to them.
    app.clock.advance(Duration::minutes(2));
    app.browser.logout().await;
    password_step(&app.browser).await;
    let typo = app
        .post_form(
            "/login/two-factor",
            &[("code", &wrong_code(&app, &ada.key))],
        )
        .await;
    assert_eq!(typo.status(), 422);
    assert_eq!(second_factor_notices(&app), 1);

    // The stranger trying again later is.
    let again = thief
        .post_form(
            "/login/two-factor",
            &[("code", &wrong_code(&app, &ada.key))],
        )
        .await;
    assert_eq!(again.status(), 422);
    assert_eq!(second_factor_notices(&app), 2);
}

#[tokio::test]
async fn a_right_second_factor_sent_twice_at_once_sends_no_notice_of_a_known_password() {
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    let laptop = app.new_browser();
    password_step(&laptop).await;
    let code = code_at(&app, &ada.key, 0);

    // A double click: the second copy finds the code used, in a browser that the
    // first one has just made known.
    let fields = [("code", code.as_str())];
    let signed_in_before = sign_in_audits(&app);
    tokio::join!(
        laptop.post_form("/login/two-factor", &fields),
        laptop.post_form("/login/two-factor", &fields),
    );

    assert_eq!(sign_in_audits(&app), signed_in_before + 1);
    assert_eq!(second_factor_notices(&app), 0);
}

#[tokio::test]
async fn the_owners_browser_locked_by_their_typos_is_still_no_stranger() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "2")]).await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    app.browser.logout().await;
    password_step(&app.browser).await;

    // Two typos lock this browser; the third counts toward the account's lock.
    for _ in 0..3 {
        let typo = app
            .post_form(
                "/login/two-factor",
                &[("code", &wrong_code(&app, &ada.key))],
            )
            .await;
        assert_eq!(typo.status(), 422);
    }

    assert_eq!(failed_logins(&app), 3);
    assert_eq!(second_factor_notices(&app), 0);
}

#[tokio::test]
async fn the_second_step_waits_five_minutes_only() {
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    let laptop = app.new_browser();
    password_step(&laptop).await;
    app.clock.advance(Duration::seconds(4 * 60 + 59));
    let in_time = app.new_browser();
    password_step(&in_time).await;
    app.clock.advance(Duration::seconds(4 * 60 + 59));
    let just_in_time = in_time
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, 0))],
        )
        .await;
    assert_eq!(just_in_time.headers()[LOCATION], "/dashboard");

    let late = laptop
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, 0))],
        )
        .await;

    assert_eq!(late.status(), 303);
    assert_eq!(late.headers()[LOCATION], "/login");
    let login = laptop.get("/login").await.text().await.unwrap();
    assert!(login.contains("Please sign in again"), "{login}");
    assert_redirects_to_login(&laptop.get("/dashboard").await);
}

#[tokio::test]
async fn remember_me_carries_through_the_second_step() {
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    let laptop = app.new_browser();
    let password = laptop
        .post_form(
            "/login",
            &[("email", ADA), ("password", PASSWORD), ("remember_me", "1")],
        )
        .await;
    assert_eq!(password.headers()[LOCATION], "/login/two-factor");

    let code = laptop
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, 0))],
        )
        .await;

    let cookie = code
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_lowercase())
        .find(|value| value.starts_with("session="))
        .expect("no session cookie");
    assert!(cookie.contains("max-age"), "{cookie}");
}

#[tokio::test]
async fn turning_off_and_new_recovery_codes_need_sudo_mode_and_turning_off_is_mailed() {
    let app = spawn_app_with(&[("SUDO_MINUTES", "1")]).await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::minutes(2));

    for path in [
        "/account/two-factor",
        "/account/two-factor/disable",
        "/account/two-factor/recovery-codes",
    ] {
        let refused = app.post_form(path, &[]).await;
        assert_eq!(refused.status(), 303, "{path}");
        assert_eq!(
            refused.headers()[LOCATION],
            "/account/confirm?next=%2Faccount%2Ftwo-factor",
            "{path}"
        );
    }
    assert!(is_enabled(&app));

    app.post_form("/account/confirm", &[("password", PASSWORD)])
        .await;
    let fresh = app
        .post_form("/account/two-factor/recovery-codes", &[])
        .await;
    assert_eq!(fresh.status(), 200);
    let fresh = recovery_codes_in(&fresh.text().await.unwrap());
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&ada.recovery_codes[0]));
    let laptop = app.new_browser();
    password_step(&laptop).await;
    let old = laptop
        .post_form("/login/two-factor", &[("code", &ada.recovery_codes[0])])
        .await;
    assert_eq!(old.status(), 422, "an old recovery code still works");

    let off = app.post_form("/account/two-factor/disable", &[]).await;
    assert_eq!(off.status(), 303);
    assert!(!is_enabled(&app));
    let mail = app.wait_for_mail(ADA, "two-factor sign-in is off").await;
    assert!(
        mail.text.contains("your password alone signs you in"),
        "{}",
        mail.text
    );
    let laptop = app.new_browser();
    let login = laptop.login(ADA, PASSWORD).await;
    assert_eq!(login.headers()[LOCATION], "/dashboard");
}

#[tokio::test]
async fn an_administrator_turns_off_a_users_second_factor_in_sudo_mode_and_it_is_mailed_and_audited()
 {
    let app = spawn_app_with(&[("SUDO_MINUTES", "5")]).await;
    enrolled(&app).await;
    let admin = app.new_browser();
    app.signed_up_user_in(&admin, ADMIN).await;
    app.set_admin(ADMIN, true);
    let directory = admin.get("/admin/users").await.text().await.unwrap();
    assert!(directory.contains(">2FA</span>"), "{directory}");
    let ada_id = user_id(&app, ADA);
    let reset = format!("/admin/users/{ada_id}/reset-two-factor");
    app.clock.advance(Duration::minutes(6));

    let stale = admin.post_form(&reset, &[("next", "/admin/users")]).await;
    assert_eq!(stale.status(), 303);
    assert!(
        stale.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/account/confirm"),
        "{:?}",
        stale.headers()[LOCATION]
    );
    assert!(is_enabled(&app), "reset outside sudo mode");

    admin
        .post_form("/account/confirm", &[("password", PASSWORD)])
        .await;
    let done = admin.post_form(&reset, &[("next", "/admin/users")]).await;

    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()[LOCATION], "/admin/users");
    assert!(!is_enabled(&app));
    let mail = app.wait_for_mail(ADA, "two-factor sign-in is off").await;
    assert!(mail.text.contains("An administrator"), "{}", mail.text);
    let mut conn = app.pool.get().unwrap();
    let audited: Vec<(String, Option<String>)> = audit_events::table
        .filter(audit_events::action.eq("admin.reset_two_factor"))
        .select((audit_events::actor_email, audit_events::target_email))
        .load(&mut conn)
        .unwrap();
    assert_eq!(audited, [(ADMIN.to_owned(), Some(ADA.to_owned()))]);
    let login = app.new_browser().login(ADA, PASSWORD).await;
    assert_eq!(login.headers()[LOCATION], "/dashboard");
}

#[tokio::test]
async fn with_two_factor_required_of_administrators_the_admin_area_waits_until_it_is_on() {
    let app = spawn_app_with(&[("ADMIN_TWO_FACTOR_REQUIRED", "true")]).await;
    app.signed_up_user(ADA).await;
    app.set_admin(ADA, true);
    let sign_out = format!("/admin/users/{}/sign-out", user_id(&app, ADA));

    let page = app.get("/admin").await;
    let action = app.post_form(&sign_out, &[("next", "/admin/users")]).await;

    for response in [page, action] {
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], "/account/two-factor");
    }
    let set_up = app.get("/account/two-factor").await.text().await.unwrap();
    assert!(set_up.contains("requires it of administrators"), "{set_up}");
    assert_eq!(app.get("/dashboard").await.status(), 200, "signed out");

    enrol(&app).await;

    assert_eq!(app.get("/admin").await.status(), 200);
}

#[tokio::test]
async fn deleting_the_account_deletes_its_secret_and_recovery_codes() {
    use {{crate_name}}::db::schema::{recovery_codes, two_factor};
    let app = spawn_app().await;
    enrolled(&app).await;

    let deleted = app.post_form("/account/delete", &[("email", ADA)]).await;

    assert_eq!(deleted.status(), 303);
    let mut conn = app.pool.get().unwrap();
    let secrets: i64 = two_factor::table.count().get_result(&mut conn).unwrap();
    let codes: i64 = recovery_codes::table.count().get_result(&mut conn).unwrap();
    assert_eq!((secrets, codes), (0, 0));
}

#[tokio::test]
async fn turning_it_on_signs_out_every_other_session_so_none_skipped_the_second_factor() {
    let app = spawn_app().await;
    app.signed_up_user(ADA).await;
    let stolen = app.new_browser();
    assert_eq!(stolen.login(ADA, PASSWORD).await.status(), 303);

    enrol(&app).await;

    assert_redirects_to_login(&stolen.get("/dashboard").await);
    assert_eq!(
        app.get("/dashboard").await.status(),
        200,
        "the enrolling browser was signed out"
    );
}

#[tokio::test]
async fn the_device_token_is_not_kept_on_the_server_while_the_second_step_waits() {
    use {{crate_name}}::db::schema::sessions;
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    let laptop = app.new_browser();
    password_step(&laptop).await;
    let signed_in = laptop
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, 0))],
        )
        .await;
    let token = signed_in
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok()?.strip_prefix("device="))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
        .next()
        .expect("no device cookie after signing in");
    laptop.logout().await;

    password_step(&laptop).await;

    let mut conn = app.pool.get().unwrap();
    let states: Vec<String> = sessions::table
        .select(sessions::state)
        .load(&mut conn)
        .unwrap();
    assert!(
        states.iter().all(|state| !state.contains(&token)),
        "the device token is in a stored session"
    );
}

#[tokio::test]
async fn a_second_factor_turned_off_while_the_second_step_waits_starts_the_sign_in_again() {
    let app = spawn_app_with(&[("SUDO_MINUTES", "5")]).await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    let laptop = app.new_browser();
    password_step(&laptop).await;
    assert_eq!(
        app.post_form("/account/two-factor/disable", &[])
            .await
            .status(),
        303
    );
    assert!(!is_enabled(&app));

    let late = laptop
        .post_form(
            "/login/two-factor",
            &[("code", &code_at(&app, &ada.key, 0))],
        )
        .await;

    assert_eq!(late.status(), 303);
    assert_eq!(late.headers()[LOCATION], "/login");
    assert_eq!(failed_logins(&app), 0, "the code counted as a failure");
    assert_eq!(
        laptop.login(ADA, PASSWORD).await.headers()[LOCATION],
        "/dashboard"
    );
}

#[tokio::test]
async fn signing_in_as_someone_else_drops_the_waiting_second_step() {
    let app = spawn_app().await;
    enrolled(&app).await;
    let shared = app.new_browser();
    app.signed_up_user_in(&app.new_browser(), ADMIN).await;
    password_step(&shared).await;

    assert_eq!(
        shared.login(ADMIN, PASSWORD).await.headers()[LOCATION],
        "/dashboard"
    );

    let step = shared.get("/login/two-factor").await;
    assert_eq!(step.status(), 303);
    assert_eq!(step.headers()[LOCATION], "/login");
}

#[tokio::test]
async fn a_secret_that_no_longer_opens_restarts_the_sign_in_and_counts_nothing() {
    use {{crate_name}}::db::schema::two_factor;
    let app = spawn_app().await;
    let ada = enrolled(&app).await;
    app.clock.advance(Duration::seconds(30));
    // As after a new SESSION_SECRET: the stored secret was sealed under another key.
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(two_factor::table)
            .set(two_factor::secret_sealed.eq("00".repeat(48)))
            .execute(&mut conn)
            .unwrap();
    }
    let laptop = app.new_browser();

    for code in [code_at(&app, &ada.key, 0), ada.recovery_codes[0].clone()] {
        password_step(&laptop).await;
        let refused = laptop
            .post_form("/login/two-factor", &[("code", &code)])
            .await;
        assert_eq!(refused.status(), 303);
        assert_eq!(refused.headers()[LOCATION], "/login");
    }

    assert_eq!(
        failed_logins(&app),
        0,
        "the right code counted as a failure"
    );
    assert_redirects_to_login(&laptop.get("/dashboard").await);
}

/// Ada, signed up and signed in in the app's browser, with two-factor sign-in on.
async fn enrolled(app: &TestApp) -> Enrolled {
    app.signed_up_user(ADA).await;
    enrol(app).await
}

/// Turns two-factor sign-in on for the user signed in in the app's browser.
pub(crate) async fn enrol(app: &TestApp) -> Enrolled {
    assert_eq!(
        app.post_form("/account/two-factor", &[]).await.status(),
        303
    );
    let page = app.get("/account/two-factor").await.text().await.unwrap();
    let key = key_in(&page).expect("no key on the page");
    let codes = app
        .post_form(
            "/account/two-factor/enable",
            &[("code", &code_at(app, &key, 0))],
        )
        .await;
    assert_eq!(codes.status(), 200, "enrolment failed");
    let recovery_codes = recovery_codes_in(&codes.text().await.unwrap());
    Enrolled {
        key,
        recovery_codes,
    }
}

/// Enters Ada's password in `browser`, which is then asked for the second factor.
async fn password_step(browser: &Browser) {
    let response = browser.login(ADA, PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/login/two-factor");
}

/// The code an authenticator app with `key` shows `offset` seconds from the app's now.
fn code_at(app: &TestApp, key: &str, offset: i64) -> String {
    let secret = Secret::try_from_base32(key).expect("the key is not base32");
    let totp = Builder::new().with_secret(secret).build().unwrap();
    let time = app.clock.now().and_utc().timestamp() + offset;
    totp.generate(u64::try_from(time).unwrap()).to_string()
}

/// Six digits that are no code of the steps around now.
fn wrong_code(app: &TestApp, key: &str) -> String {
    let near: Vec<String> = [-30, 0, 30]
        .map(|offset| code_at(app, key, offset))
        .to_vec();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|code| !near.contains(code))
        .unwrap()
}

fn key_in(page: &str) -> Option<String> {
    let start = page.find("class=\"setup-key\">")? + "class=\"setup-key\">".len();
    let end = start + page[start..].find('<')?;
    Some(page[start..end].replace(' ', ""))
}

fn recovery_codes_in(page: &str) -> Vec<String> {
    regex::Regex::new(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")
        .unwrap()
        .captures_iter(page)
        .map(|captures| captures[1].to_owned())
        .collect()
}

fn is_enabled(app: &TestApp) -> bool {
    use {{crate_name}}::db::schema::two_factor;
    let mut conn = app.pool.get().unwrap();
    two_factor::table
        .filter(two_factor::enabled_at.is_not_null())
        .count()
        .get_result::<i64>(&mut conn)
        .unwrap()
        == 1
}

fn user_id(app: &TestApp, email: &str) -> i64 {
    let mut conn = app.pool.get().unwrap();
    users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .get_result(&mut conn)
        .unwrap()
}

fn sign_in_audits(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    audit_events::table
        .filter(audit_events::action.eq("login.success"))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

/// Notices of a known password queued for Ada.
pub(crate) fn second_factor_notices(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    outbox_messages::table
        .filter(outbox_messages::recipient.eq(ADA))
        .filter(outbox_messages::kind.eq("second_factor_failed"))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn failed_logins(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    audit_events::table
        .filter(audit_events::action.eq("login.failure"))
        .count()
        .get_result(&mut conn)
        .unwrap()
}
