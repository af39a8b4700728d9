//! Passkeys (SECURITY.md item 45): adding and removing them under sudo mode, signing
//! in with one instead of the password, and using one at the second step. A software
//! authenticator (webauthn-authenticator-rs) plays the browser's part: it signs the
//! app's challenges for the origin `http://localhost`, the app's `APP_BASE_URL` here.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::header::LOCATION;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

use {{crate_name}}::db::schema::{audit_events, passkeys, users};

use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app_with};
use crate::sessions::{assert_redirects_to_login, post_exactly};
use crate::two_factor::{enrol, second_factor_notices};

const ADA: &str = "ada@example.com";
const ADMIN: &str = "grace@example.com";
const ORIGIN: &str = "http://localhost";

/// A phone or laptop holding Ada's passkeys, as a browser would use them.
struct Device {
    authenticator: SoftPasskey,
    /// The user handle the app gave the passkey, which a discoverable passkey returns.
    user_handle: Vec<u8>,
}

impl Device {
    fn new() -> Self {
        Self {
            // `true`: it says the user was verified (a fingerprint, a PIN), as passkeys do.
            authenticator: SoftPasskey::new(true),
            user_handle: Vec::new(),
        }
    }

    /// Answers the app's registration options, as `navigator.credentials.create` would.
    fn create(&mut self, mut options: CreationChallengeResponse) -> String {
        self.user_handle = options.public_key.user.id.to_vec();
        // A browser of today goes by `residentKey` ("required") and ignores the legacy
        // flag, which this software authenticator would refuse.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            assert_eq!(
                selection.resident_key,
                Some(webauthn_rs_proto::ResidentKeyRequirement::Required),
                "passkeys must be discoverable"
            );
            selection.require_resident_key = false;
        }
        let credential = self
            .authenticator
            .do_registration(Url::parse(ORIGIN).unwrap(), options)
            .expect("the authenticator refused to register");
        serde_json::to_string(&credential).unwrap()
    }

    /// Answers the app's sign-in options with `credential_id`, as
    /// `navigator.credentials.get` would. With no credentials listed (a sign-in
    /// without an address) the browser finds the passkey itself and returns its user
    /// handle; this authenticator is told which one to use.
    fn get(
        &mut self,
        mut options: RequestChallengeResponse,
        credential_id: &[u8],
    ) -> PublicKeyCredential {
        let discoverable = options.public_key.allow_credentials.is_empty();
        if discoverable {
            options.public_key.allow_credentials = vec![webauthn_rs_proto::AllowCredentials {
                type_: "public-key".to_owned(),
                id: credential_id.to_vec(),
                transports: None,
            }];
        }
        let mut answer = self
            .authenticator
            .do_authentication(Url::parse(ORIGIN).unwrap(), options)
            .expect("the authenticator refused to sign");
        if discoverable {
            answer.response.user_handle = Some(self.user_handle.clone());
        }
        answer
    }
}

async fn spawn() -> TestApp {
    spawn_app_with(&[("APP_BASE_URL", ORIGIN), ("SUDO_MINUTES", "5")]).await
}

/// Adds a passkey named `name` for the user signed in in `browser`; its credential id.
async fn add_passkey(browser: &Browser, device: &mut Device, name: &str) -> Vec<u8> {
    let options = browser.post_form("/account/passkeys/options", &[]).await;
    assert_eq!(options.status(), 200);
    assert_eq!(options.headers()["cache-control"], "no-store");
    let options: CreationChallengeResponse = json(options).await;
    let credential = device.create(options);
    let parsed: RegisterPublicKeyCredential = serde_json::from_str(&credential).unwrap();
    let added = browser
        .post_form(
            "/account/passkeys",
            &[("name", name), ("credential", &credential)],
        )
        .await;
    assert_eq!(added.status(), 303);
    assert_eq!(added.headers()[LOCATION], "/account/passkeys");
    parsed.raw_id.to_vec()
}

/// An app where Ada signed up and added a passkey named `name`: the app (Ada signed
/// in, in sudo mode), her device and the passkey's credential id.
async fn ada_with_passkey(name: &str) -> (TestApp, Device, Vec<u8>) {
    let app = spawn().await;
    app.signed_up_user(ADA).await;
    let mut device = Device::new();
    let credential_id = add_passkey(&app, &mut device, name).await;
    (app, device, credential_id)
}

/// Signs in with a passkey in `browser`; the response to the login form.
async fn passkey_sign_in(
    browser: &Browser,
    device: &mut Device,
    credential_id: &[u8],
    next: &str,
) -> reqwest::Response {
    let options = browser.post_form("/login/passkey/options", &[]).await;
    assert_eq!(options.status(), 200);
    let options: RequestChallengeResponse = json(options).await;
    assert!(
        options.public_key.allow_credentials.is_empty(),
        "the options name whose passkeys exist"
    );
    let answer = device.get(options, credential_id);
    let answer = serde_json::to_string(&answer).unwrap();
    browser
        .post_form("/login/passkey", &[("credential", &answer), ("next", next)])
        .await
}

#[tokio::test]
async fn adding_a_passkey_needs_sudo_mode_lists_it_and_mails_the_owner() {
    let app = spawn().await;
    app.signed_up_user(ADA).await;
    let mut device = Device::new();

    add_passkey(&app, &mut device, "Work laptop").await;

    let page = app.get("/account/passkeys").await.text().await.unwrap();
    assert!(page.contains("Work laptop"), "{page}");
    assert!(page.contains("Passkey added"), "{page}");
    assert!(
        page.contains("Never"),
        "a new passkey has not been used: {page}"
    );
    let mail = app.wait_for_mail(ADA, "passkey was added").await;
    assert!(mail.text.contains("Work laptop"), "{}", mail.text);
    assert_eq!(audits(&app, "account.passkey_add"), 1);
    let export = app.get("/account/export").await.text().await.unwrap();
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(export["passkeys"][0]["name"], "Work laptop", "{export}");

    app.clock.advance(Duration::minutes(6));
    let stale = app.post_form("/account/passkeys/options", &[]).await;
    assert_eq!(stale.status(), 303);
    assert!(
        stale.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/account/confirm"),
    );
    let page = app.get("/account/passkeys").await.text().await.unwrap();
    assert!(page.contains("confirm your password"), "{page}");
    assert!(
        !page.contains("/remove"),
        "removable outside sudo mode: {page}"
    );
}

#[tokio::test]
async fn a_passkey_signs_in_without_the_password_and_its_use_is_recorded() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    let phone = app.new_browser();
    let sign_ins = audits(&app, "login.success");

    let response = passkey_sign_in(&phone, &mut device, &credential_id, "/account").await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/account", "next was lost");
    assert_eq!(phone.get("/dashboard").await.status(), 200);
    assert_eq!(audits(&app, "login.success"), sign_ins + 1);
    let page = phone.get("/account/passkeys").await.text().await.unwrap();
    assert!(!page.contains("Never"), "its use was not recorded: {page}");
}

#[tokio::test]
async fn a_passkey_answer_signs_in_once_and_only_for_its_own_challenge() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    let first = app.new_browser();
    let options = first.post_form("/login/passkey/options", &[]).await;
    let answer = device.get(json(options).await, &credential_id);
    let answer = serde_json::to_string(&answer).unwrap();
    // Any answer uses the challenge up, a wrong one too.
    first
        .post_form("/login/passkey", &[("credential", "{}")])
        .await;
    let late = first
        .post_form("/login/passkey", &[("credential", &answer)])
        .await;
    assert_eq!(late.headers()[LOCATION], "/login");
    assert_redirects_to_login(&first.get("/dashboard").await);
    let options = first.post_form("/login/passkey/options", &[]).await;
    let answer = device.get(json(options).await, &credential_id);
    let answer = serde_json::to_string(&answer).unwrap();
    assert_eq!(
        first
            .post_form("/login/passkey", &[("credential", &answer)])
            .await
            .headers()[LOCATION],
        "/dashboard"
    );

    // The same answer again, in the same browser and in another with its own challenge.
    first.post_form("/logout", &[]).await;
    let replayed = first
        .post_form("/login/passkey", &[("credential", &answer)])
        .await;
    let other = app.new_browser();
    other.post_form("/login/passkey/options", &[]).await;
    let elsewhere = other
        .post_form("/login/passkey", &[("credential", &answer)])
        .await;

    for (browser, response) in [(&first, replayed), (&other, elsewhere)] {
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], "/login");
        let login = browser.get("/login").await.text().await.unwrap();
        assert!(
            login.contains("That passkey did not sign you in"),
            "{login}"
        );
        assert_redirects_to_login(&browser.get("/dashboard").await);
    }
}

/// This authenticator counts its signatures, so the counter check also stops copies
/// after the first; synced passkeys send 0, and only the claimed challenge stops
/// theirs (the registration test below has no counter to lean on).
#[tokio::test]
async fn parallel_copies_of_one_answer_sign_in_once() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    let browser = app.new_browser();
    let options = browser.post_form("/login/passkey/options", &[]).await;
    let answer = serde_json::to_string(&device.get(json(options).await, &credential_id)).unwrap();
    let sign_ins = audits(&app, "login.success");

    let token = browser.csrf_token().await;
    let fields = [
        ("csrf_token", token.as_str()),
        ("credential", answer.as_str()),
    ];
    let copies = (0..20).map(|_| post_exactly(&browser, "/login/passkey", &fields, &[]));
    let responses = futures_util::future::join_all(copies).await;

    let signed_in = responses
        .iter()
        .filter(|response| response.headers()[LOCATION] == "/dashboard")
        .count();
    assert_eq!(signed_in, 1, "one answer signed in {signed_in} times");
    assert_eq!(audits(&app, "login.success"), sign_ins + 1);
}

#[tokio::test]
async fn parallel_answers_to_one_registration_add_one_passkey() {
    let app = spawn().await;
    app.signed_up_user(ADA).await;
    let options = app.post_form("/account/passkeys/options", &[]).await;
    let options: CreationChallengeResponse = json(options).await;
    // Ten authenticators answer the same challenge (no counter to tell them apart).
    let answers: Vec<String> = (0..10)
        .map(|_| Device::new().create(options.clone()))
        .collect();
    let token = app.csrf_token().await;
    let forms: Vec<_> = answers
        .iter()
        .map(|answer| {
            [
                ("csrf_token", token.as_str()),
                ("name", "Phone"),
                ("credential", answer.as_str()),
            ]
        })
        .collect();

    let posts = forms
        .iter()
        .map(|fields| post_exactly(&app, "/account/passkeys", fields, &[]));
    futures_util::future::join_all(posts).await;

    assert_eq!(
        passkey_count(&app),
        1,
        "one challenge added several passkeys"
    );
}

#[tokio::test]
async fn an_answer_after_five_minutes_is_refused() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    let browser = app.new_browser();
    let options = browser.post_form("/login/passkey/options", &[]).await;
    let answer = serde_json::to_string(&device.get(json(options).await, &credential_id)).unwrap();
    app.clock
        .advance(Duration::minutes(5) + Duration::seconds(1));

    let late = browser
        .post_form("/login/passkey", &[("credential", &answer)])
        .await;

    assert_eq!(late.headers()[LOCATION], "/login");
    assert_redirects_to_login(&browser.get("/dashboard").await);
}

#[tokio::test]
async fn a_passkey_claiming_another_users_handle_or_made_for_another_site_is_refused() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;

    // Ada's passkey, saying it belongs to Bob, who has one too.
    let bob = app.new_browser();
    app.signed_up_user_in(&bob, "bob@example.com").await;
    let mut bobs_device = Device::new();
    add_passkey(&bob, &mut bobs_device, "Bob's phone").await;
    let browser = app.new_browser();
    let options = browser.post_form("/login/passkey/options", &[]).await;
    let mut answer = device.get(json(options).await, &credential_id);
    answer.response.user_handle = Some(bobs_device.user_handle.clone());
    let answer = serde_json::to_string(&answer).unwrap();
    let forged = browser
        .post_form("/login/passkey", &[("credential", &answer)])
        .await;
    assert_eq!(forged.headers()[LOCATION], "/login");
    assert_redirects_to_login(&browser.get("/dashboard").await);

    // A phishing page on another origin (a subdomain the passkey's site id covers)
    // relays the app's challenge; the browser signs for the origin it is on.
    let mut options: RequestChallengeResponse =
        json(browser.post_form("/login/passkey/options", &[]).await).await;
    options.public_key.allow_credentials = vec![webauthn_rs_proto::AllowCredentials {
        type_: "public-key".to_owned(),
        id: credential_id.clone(),
        transports: None,
    }];
    let mut relayed = device
        .authenticator
        .do_authentication(Url::parse("https://evil.localhost").unwrap(), options)
        .expect("the authenticator refused to sign");
    relayed.response.user_handle = Some(device.user_handle.clone());
    let relayed = serde_json::to_string(&relayed).unwrap();
    let response = browser
        .post_form("/login/passkey", &[("credential", &relayed)])
        .await;
    assert_eq!(response.headers()[LOCATION], "/login");
    assert_redirects_to_login(&browser.get("/dashboard").await);
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_with_its_passkey() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(users::table.filter(users::email.eq(ADA)))
            .set(users::is_active.eq(false))
            .execute(&mut conn)
            .unwrap();
    }
    let browser = app.new_browser();

    let response = passkey_sign_in(&browser, &mut device, &credential_id, "").await;

    assert_eq!(response.headers()[LOCATION], "/login");
    assert_redirects_to_login(&browser.get("/dashboard").await);
    let mut conn = app.pool.get().unwrap();
    let last_used: Option<chrono::NaiveDateTime> = passkeys::table
        .select(passkeys::last_used_at)
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(last_used, None, "a refused sign-in was recorded as a use");
}

#[tokio::test]
async fn a_passkey_sign_in_does_not_start_sudo_mode() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    let phone = app.new_browser();
    passkey_sign_in(&phone, &mut device, &credential_id, "").await;
    assert_eq!(phone.get("/dashboard").await.status(), 200);

    let another = phone.post_form("/account/passkeys/options", &[]).await;

    assert_eq!(another.status(), 303);
    assert!(
        another.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/account/confirm"),
        "a passkey alone reached sudo mode"
    );
}

#[tokio::test]
async fn with_app_base_url_an_address_the_app_runs_without_passkeys() {
    let app = spawn_app_with(&[("APP_BASE_URL", "http://127.0.0.1:8000")]).await;
    app.signed_up_user(ADA).await;
    app.post_form("/logout", &[]).await;

    let login = app.get("/login").await.text().await.unwrap();
    let options = app.post_form("/login/passkey/options", &[]).await;

    assert!(login.contains("Sign in"), "{login}");
    assert!(!login.contains("Sign in with a passkey"), "{login}");
    assert_eq!(options.status(), 404);
}

#[tokio::test]
async fn a_passkey_stands_in_for_the_authenticator_code_at_the_second_step() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    enrol(&app).await;
    let laptop = app.new_browser();
    let password = laptop.login(ADA, PASSWORD).await;
    assert_eq!(password.headers()[LOCATION], "/login/two-factor");
    let step = laptop.get("/login/two-factor").await.text().await.unwrap();
    assert!(step.contains("Use a passkey instead"), "{step}");

    let options = laptop
        .post_form("/login/two-factor/passkey/options", &[])
        .await;
    assert_eq!(options.status(), 200);
    let options: RequestChallengeResponse = json(options).await;
    assert_eq!(
        options.public_key.allow_credentials.len(),
        1,
        "only Ada's passkey"
    );
    let answer = device.get(options, &credential_id);
    let answer = serde_json::to_string(&answer).unwrap();
    let response = laptop
        .post_form("/login/two-factor/passkey", &[("credential", &answer)])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/dashboard");
    assert_eq!(laptop.get("/dashboard").await.status(), 200);

    // Without a password step first there is nothing to answer.
    let stranger = app.new_browser();
    let options = stranger
        .post_form("/login/two-factor/passkey/options", &[])
        .await;
    assert_eq!(options.status(), 404);
}

#[tokio::test]
async fn a_wrong_passkey_at_the_second_step_counts_as_a_wrong_code_and_a_lost_challenge_does_not() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    enrol(&app).await;
    let laptop = app.new_browser();
    laptop.login(ADA, PASSWORD).await;
    let step = "/login/two-factor/passkey";

    // No challenge to answer (none asked for, or another tab replaced it).
    let lost = laptop.post_form(step, &[("credential", "{}")]).await;
    assert_eq!(lost.status(), 422);
    let page = lost.text().await.unwrap();
    assert!(page.contains("The passkey request ran out"), "{page}");
    assert!(
        !page.contains("aria-invalid"),
        "the code field was marked: {page}"
    );
    assert_eq!(failed_logins(&app), 0, "a lost challenge counted");

    // A challenge replaced by one for signing in without a password (another tab).
    laptop.post_form(&format!("{step}/options"), &[]).await;
    let sign_in = laptop.post_form("/login/passkey/options", &[]).await;
    let answer = serde_json::to_string(&device.get(json(sign_in).await, &credential_id)).unwrap();
    let replaced = laptop.post_form(step, &[("credential", &answer)]).await;
    assert_eq!(replaced.status(), 422);
    assert!(
        replaced
            .text()
            .await
            .unwrap()
            .contains("The passkey request ran out")
    );
    assert_eq!(failed_logins(&app), 0, "a replaced challenge counted");
    assert_eq!(second_factor_notices(&app), 0);

    // An answer to an earlier challenge, which a newer one replaced.
    let earlier = laptop.post_form(&format!("{step}/options"), &[]).await;
    let earlier: RequestChallengeResponse = json(earlier).await;
    laptop.post_form(&format!("{step}/options"), &[]).await;
    let answer = serde_json::to_string(&device.get(earlier, &credential_id)).unwrap();
    let wrong = laptop.post_form(step, &[("credential", &answer)]).await;

    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That passkey did not work for this account")
    );
    assert_eq!(failed_logins(&app), 1);
    assert_redirects_to_login(&laptop.get("/dashboard").await);
    // The password was right: its owner hears that someone has it.
    app.wait_for_mail(ADA, "password but failed the second step")
        .await;
    assert_eq!(second_factor_notices(&app), 1);
}

#[tokio::test]
async fn a_second_factor_reset_while_the_second_step_waits_starts_the_sign_in_again() {
    let (app, mut device, credential_id) = ada_with_passkey("Phone").await;
    enrol(&app).await;
    let laptop = app.new_browser();
    laptop.login(ADA, PASSWORD).await;
    let options = laptop
        .post_form("/login/two-factor/passkey/options", &[])
        .await;
    let answer = serde_json::to_string(&device.get(json(options).await, &credential_id)).unwrap();
    app.post_form("/account/two-factor/disable", &[]).await;

    let response = laptop
        .post_form("/login/two-factor/passkey", &[("credential", &answer)])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/login");
    assert_eq!(failed_logins(&app), 0);
}

#[tokio::test]
async fn removing_a_passkey_needs_sudo_mode_is_mailed_and_it_no_longer_signs_in() {
    let (app, mut device, credential_id) = ada_with_passkey("Old phone").await;
    let id: i64 = {
        let mut conn = app.pool.get().unwrap();
        passkeys::table
            .select(passkeys::id)
            .get_result(&mut conn)
            .unwrap()
    };
    let remove = format!("/account/passkeys/{id}/remove");
    app.clock.advance(Duration::minutes(6));

    let stale = app.post_form(&remove, &[]).await;
    assert!(
        stale.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/account/confirm")
    );
    assert_eq!(passkey_count(&app), 1, "removed outside sudo mode");
    app.post_form("/account/confirm", &[("password", PASSWORD)])
        .await;
    let someone_else = app.new_browser();
    app.signed_up_user_in(&someone_else, "mallory@example.com")
        .await;
    assert_eq!(
        someone_else.post_form(&remove, &[]).await.status(),
        404,
        "another user removed it"
    );

    let removed = app.post_form(&remove, &[]).await;

    assert_eq!(removed.status(), 303);
    assert_eq!(passkey_count(&app), 0);
    let mail = app.wait_for_mail(ADA, "passkey was removed").await;
    assert!(mail.text.contains("Old phone"), "{}", mail.text);
    assert_eq!(audits(&app, "account.passkey_remove"), 1);
    let browser = app.new_browser();
    let response = passkey_sign_in(&browser, &mut device, &credential_id, "").await;
    assert_eq!(response.headers()[LOCATION], "/login");
}

#[tokio::test]
async fn an_administrators_reset_removes_a_users_passkeys_and_deletion_erases_them() {
    let (app, _, _) = ada_with_passkey("Phone").await;
    let admin = app.new_browser();
    app.signed_up_user_in(&admin, ADMIN).await;
    app.set_admin(ADMIN, true);
    let directory = admin.get("/admin/users").await.text().await.unwrap();
    assert!(directory.contains(">Passkey</span>"), "{directory}");
    let ada_id: i64 = {
        let mut conn = app.pool.get().unwrap();
        users::table
            .filter(users::email.eq(ADA))
            .select(users::id)
            .get_result(&mut conn)
            .unwrap()
    };

    let reset = admin
        .post_form(
            &format!("/admin/users/{ada_id}/reset-two-factor"),
            &[("next", "/admin/users")],
        )
        .await;

    assert_eq!(reset.status(), 303);
    assert_eq!(passkey_count(&app), 0);
    let mail = app.wait_for_mail(ADA, "two-factor sign-in is off").await;
    assert!(mail.text.contains("passkeys"), "{}", mail.text);
    assert_eq!(audits(&app, "admin.reset_two_factor"), 1);

    add_passkey(&app, &mut Device::new(), "New phone").await;
    let deleted = app.post_form("/account/delete", &[("email", ADA)]).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(
        passkey_count(&app),
        0,
        "deleting the account left its passkey"
    );
}

/// A response's JSON body.
async fn json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> T {
    serde_json::from_str(&response.text().await.unwrap()).expect("not the expected JSON")
}

fn passkey_count(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    passkeys::table.count().get_result(&mut conn).unwrap()
}

fn audits(app: &TestApp, action: &str) -> i64 {
    let mut conn = app.pool.get().unwrap();
    audit_events::table
        .filter(audit_events::action.eq(action))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn failed_logins(app: &TestApp) -> i64 {
    audits(app, "login.failure")
}
