//! Tests that measure time. They run in a test binary of their own, after the other
//! tests, so nothing else competes for the CPU while they measure.

use std::time::{Duration as StdDuration, Instant};

use futures_util::future::join_all;

use crate::helpers::{PASSWORD, TestApp, spawn_app_with};

// The API tests' helpers, shared; this binary uses only some of them.
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../api/backend.rs"]
mod backend;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/mailbox.rs"]
mod mailbox;

const EMAIL: &str = "ada@example.com";

/// Held by every test here, so the measurements do not disturb one another.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A verified user, signed out again, ready to log in.
async fn registered(app: &TestApp) {
    app.signed_up_user(EMAIL).await;
    app.logout().await;
}

/// The median of `known - unknown` over interleaved pairs of requests, in seconds.
async fn median_gap<K, U, KF, UF>(rounds: usize, mut known: K, mut unknown: U) -> f64
where
    K: FnMut() -> KF,
    U: FnMut() -> UF,
    KF: Future<Output = ()>,
    UF: Future<Output = ()>,
{
    let mut gaps = Vec::new();
    for round in 0..rounds {
        // Alternating which goes first cancels any cost of going first (a cold cache,
        // a connection being set up).
        let (known_took, unknown_took) = if round % 2 == 0 {
            let known_took = timed(known()).await;
            (known_took, timed(unknown()).await)
        } else {
            let unknown_took = timed(unknown()).await;
            (timed(known()).await, unknown_took)
        };
        gaps.push(known_took - unknown_took);
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2].abs()
}

async fn timed(work: impl Future<Output = ()>) -> f64 {
    let started = Instant::now();
    work.await;
    started.elapsed().as_secs_f64()
}

#[tokio::test]
async fn unknown_emails_take_as_long_as_wrong_passwords() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // A realistic bcrypt cost: skipping the hash for unknown emails would show.
    let app = spawn_app_with(&[("BCRYPT_COST", "10")]).await;
    registered(&app).await;

    let median_gap = median_gap(
        15,
        || async {
            app.login(EMAIL, "Wrong-Password-123").await;
        },
        || async {
            app.login("nobody@example.com", "Wrong-Password-123").await;
        },
    )
    .await;

    assert!(median_gap < 0.025, "median gap {median_gap:.3} s");
}

#[tokio::test]
async fn health_checks_answer_while_sixteen_logins_are_hashing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // Cost 12, the production default: each login takes a noticeable while.
    let app = spawn_app_with(&[("BCRYPT_COST", "12")]).await;
    let token = app.csrf_token().await;
    let started = Instant::now();
    let logins = join_all((0..16).map(|_| {
        app.client
            .post(app.url("/login"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", EMAIL),
                ("password", PASSWORD),
            ])
            .send()
    }));
    let probe = async {
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        let sent = Instant::now();
        let response = app.get("/healthz").await;
        (response.status(), sent.elapsed(), started.elapsed())
    };

    let (logins, (status, latency, answered_at)) = tokio::join!(logins, probe);
    let all_done = started.elapsed();

    assert_eq!(status, 200);
    assert!(logins.iter().all(|r| r.is_ok()));
    assert!(
        answered_at < all_done && latency < StdDuration::from_millis(500),
        "healthz took {latency:?}; the logins took {all_done:?}"
    );
}

#[tokio::test]
async fn a_ten_kilobyte_password_is_refused_without_hashing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = spawn_app_with(&[("BCRYPT_COST", "12")]).await;
    registered(&app).await;
    let huge = "A1a".repeat(3500);
    let started = Instant::now();
    app.login(EMAIL, "Wrong-Password-123").await;
    let with_hashing = started.elapsed();

    let started = Instant::now();
    let response = app.login(EMAIL, &huge).await;
    let huge_took = started.elapsed();

    assert_eq!(response.status(), 422);
    assert!(
        huge_took < with_hashing / 2,
        "a 10 KB password took {huge_took:?}, a hashed one {with_hashing:?}"
    );
}

#[tokio::test]
async fn forgot_password_takes_as_long_for_unknown_emails_as_for_known_ones() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = spawn_app_with(&[]).await;
    registered(&app).await;

    let median_gap = median_gap(
        15,
        || async {
            app.post_form("/forgot-password", &[("email", EMAIL)]).await;
        },
        || async {
            app.post_form("/forgot-password", &[("email", "nobody@example.com")])
                .await;
        },
    )
    .await;

    assert!(median_gap < 0.025, "median gap {median_gap:.3} s");
}
