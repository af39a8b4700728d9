//! Mail through the chosen provider when things go wrong: an outage, a crash, a
//! provider that hangs.

use chrono::Duration;
use diesel::prelude::*;

use {{crate_name}}::clock::Clock;
use {{crate_name}}::db::schema::outbox_messages;
use {{crate_name}}::db::{self, DbPool};
use {{crate_name}}::mail::outbox;

use crate::helpers::{
    AppProcess, Browser, PASSWORD, SilentServer, TestApp, TestDatabase, code_in, eventually,
    spawn_app_on, test_settings,
};
use crate::mail::plain_email;
use crate::provider::TestProvider;

/// Longer than any wait the outbox sets after a first failure.
pub const PAST_EVERY_RETRY: Duration = Duration::hours(1);

#[tokio::test]
async fn mail_queued_during_a_provider_outage_is_delivered_exactly_once_after_it() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;
    let before = ["ann@example.com", "bob@example.com"];
    let during = ["cy@example.com", "dee@example.com", "eve@example.com"];

    for to in before {
        sign_up(&app.address, to).await;
        provider.wait_for_delivery(to).await;
    }
    provider.go_down();
    for to in during {
        sign_up(&app.address, to).await;
    }
    eventually("a failed attempt at every message", || {
        let rows = unsent(&app.pool);
        (rows.len() == during.len() && rows.iter().all(|(_, attempts)| *attempts >= 1))
            .then_some(())
    })
    .await;
    provider.come_back();
    app.clock.advance(PAST_EVERY_RETRY);

    for to in during {
        provider.wait_for_delivery(to).await;
    }
    eventually("every message marked sent", || {
        unsent(&app.pool).is_empty().then_some(())
    })
    .await;
    for to in before.iter().chain(&during) {
        assert_eq!(provider.delivered_to(to).len(), 1, "{to}");
    }
}

#[tokio::test]
async fn refused_credentials_pause_delivery_give_up_on_nothing_and_say_why() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;
    // An administrator, to read the dashboard.
    app.signup("Ada", "admin@example.com", PASSWORD).await;
    let mail = provider.wait_for_delivery("admin@example.com").await;
    let code = code_in(&mail.text).expect("no code in the mail");
    app.post_form("/verify", &[("code", &code)]).await;
    app.set_admin("admin@example.com", true);
    provider.refuse_credentials();
    let queued = ["ann@example.com", "bob@example.com"];
    for to in queued {
        sign_up(&app.address, to).await;
    }

    eventually("the refusal is recorded", || {
        let rows = unsent(&app.pool);
        (rows.len() == queued.len()).then_some(())?;
        paused_reason(&app.pool)
    })
    .await;
    let dashboard = app.get("/admin").await.text().await.unwrap();
    assert!(dashboard.contains("Mail delivery is paused"), "{dashboard}");
    app.clock.advance(PAST_EVERY_RETRY);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        unsent(&app.pool).iter().all(|(_, attempts)| *attempts == 0),
        "a refused account is no attempt at the message: {:?}",
        unsent(&app.pool)
    );
    provider.accept_credentials();
    app.clock.advance(PAST_EVERY_RETRY);

    for to in queued {
        provider.wait_for_delivery(to).await;
    }
    eventually("every message marked sent", || {
        unsent(&app.pool).is_empty().then_some(())
    })
    .await;
    for to in queued {
        assert_eq!(provider.delivered_to(to).len(), 1, "{to}");
    }
    let dashboard = app.get("/admin").await.text().await.unwrap();
    assert!(
        !dashboard.contains("Mail delivery is paused"),
        "{dashboard}"
    );
}

#[tokio::test]
async fn an_instance_killed_mid_queue_while_another_works_on_it_loses_no_mail() {
    let provider = TestProvider::start().await;
    let database = TestDatabase::create();
    let pool = db::build_pool(&test_settings(&database.url, &[]).database);
    let mut env = vec![("APP_ENV", "test"), ("DATABASE_URL", database.url.as_str())];
    let provider_settings = provider.settings();
    env.extend(
        provider_settings
            .iter()
            .map(|(name, value)| (*name, value.as_str())),
    );
    let first = AppProcess::start(&env);
    sign_up(&first.address, "ann@example.com").await;
    provider.wait_for_delivery("ann@example.com").await;
    provider.go_down();
    let queued = ["bob@example.com", "cy@example.com", "dee@example.com"];
    for to in queued {
        sign_up(&first.address, to).await;
    }
    eventually("the instance to work on the queue", || {
        let rows = unsent(&pool);
        (rows.len() == queued.len() && rows.iter().any(|(_, attempts)| *attempts >= 1))
            .then_some(())
    })
    .await;

    // A second instance works on the same queue before the first dies.
    let second = spawn_app_sending_to(&provider, database).await;
    first.kill();
    provider.come_back();
    second.clock.advance(PAST_EVERY_RETRY);

    for to in queued {
        provider.wait_for_delivery(to).await;
    }
    eventually("every message marked sent", || {
        unsent(&pool).is_empty().then_some(())
    })
    .await;
    for to in ["ann@example.com"].iter().chain(&queued) {
        assert_eq!(provider.delivered_to(to).len(), 1, "{to}");
    }
}

#[tokio::test]
async fn two_instances_working_on_one_queue_deliver_each_message_once() {
    let provider = TestProvider::start().await;
    let app = spawn_app_sending_to(&provider, TestDatabase::create()).await;
    let other = app.another_instance().await;
    let recipients: Vec<String> = (0..12).map(|i| format!("user{i}@example.com")).collect();

    // Signed up on both at once, so both workers find mail in the queue together.
    let sign_ups = recipients.iter().enumerate().map(|(i, to)| {
        let address = if i % 2 == 0 {
            &app.address
        } else {
            &other.address
        };
        sign_up(address, to)
    });
    futures_util::future::join_all(sign_ups).await;

    for to in &recipients {
        provider.wait_for_delivery(to).await;
    }
    eventually("every message marked sent", || {
        unsent(&app.pool).is_empty().then_some(())
    })
    .await;
    // A second delivery would have had time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for to in &recipients {
        assert_eq!(provider.delivered_to(to).len(), 1, "{to}");
    }
}

#[tokio::test]
async fn mail_goes_out_on_every_free_lane_and_never_more_than_mail_concurrent_sends() {
    // Every send stays in progress: the provider takes the connection and says nothing.
    let provider = SilentServer::start().await;
    let app = spawn_app_sending_to_silent(&provider, 3).await;
    let queue = |recipients: std::ops::Range<i32>| {
        let now = app.clock.now();
        db::run_blocking(&app.pool, move |conn| {
            for n in recipients {
                let email = plain_email(&format!("user{n}@example.com"));
                outbox::enqueue(conn, None, &email, now)?;
            }
            Ok(())
        })
    };

    // One message, whose send hangs; then more, which the free lanes take meanwhile.
    queue(0..1).await.expect("cannot queue the mail");
    eventually("a send in progress", || {
        (provider.connections() == 1).then_some(())
    })
    .await;
    queue(1..6).await.expect("cannot queue the mail");
    eventually("three sends in progress", || {
        (provider.connections() >= 3).then_some(())
    })
    .await;
    // Time for a fourth to start, were the worker to start one.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    assert_eq!(provider.connections(), 3);
    let claimed: i64 = outbox_messages::table
        .filter(outbox_messages::locked_until.is_not_null())
        .count()
        .get_result(&mut app.pool.get().expect("cannot connect to the test database"))
        .expect("cannot read the outbox");
    assert_eq!(claimed, 3);
}

#[tokio::test]
async fn a_lane_never_takes_over_a_message_its_own_instance_is_still_sending() {
    // The send hangs past the lease, as after the process was suspended mid-send.
    let provider = SilentServer::start().await;
    let app = spawn_app_sending_to_silent(&provider, 2).await;
    let now = app.clock.now();
    db::run_blocking(&app.pool, move |conn| {
        outbox::enqueue(conn, None, &plain_email("ann@example.com"), now)
    })
    .await
    .expect("cannot queue the mail");
    eventually("the send in progress", || {
        (provider.connections() == 1).then_some(())
    })
    .await;
    let claimed = app
        .outbox_row("ann@example.com")
        .and_then(|row| row.claim_token);

    app.clock.advance(outbox::LEASE + Duration::seconds(1));
    // Polls enough for the free lane to take the message, were it allowed to.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    assert_eq!(provider.connections(), 1);
    let row = app
        .outbox_row("ann@example.com")
        .expect("the message is gone");
    assert_eq!(row.claim_token, claimed);
}

/// Starts the application with `lanes` concurrent sends, delivering to `provider`.
async fn spawn_app_sending_to_silent(provider: &SilentServer, lanes: usize) -> TestApp {
    let mut settings = crate::provider::settings_sending_to(provider.address());
    settings.push(("MAIL_CONCURRENT_SENDS", lanes.to_string()));
    let overrides: Vec<(&str, &str)> = settings
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    spawn_app_on(TestDatabase::create(), &overrides).await
}

/// Starts the application on `database`, delivering mail through `provider` the way it
/// does in production.
pub async fn spawn_app_sending_to(provider: &TestProvider, database: TestDatabase) -> TestApp {
    let settings = provider.settings();
    let overrides: Vec<(&str, &str)> = settings
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    spawn_app_on(database, &overrides).await
}

/// Signs up `email` in a browser of its own.
async fn sign_up(address: &str, email: &str) {
    let response = Browser::new(address).signup("Ann", email, PASSWORD).await;
    assert_eq!(response.status(), 303, "signup of {email} failed");
}

/// Why delivery is paused, as recorded on a waiting message.
pub fn paused_reason(pool: &DbPool) -> Option<String> {
    let mut conn = pool.get().expect("cannot connect to the test database");
    outbox_messages::table
        .filter(outbox_messages::sent_at.is_null())
        .filter(outbox_messages::last_error.like("paused: %"))
        .select(outbox_messages::last_error)
        .first::<Option<String>>(&mut conn)
        .optional()
        .expect("cannot read the outbox")
        .flatten()
}

/// Recipient and attempts of every message not yet sent.
pub fn unsent(pool: &DbPool) -> Vec<(String, i32)> {
    let mut conn = pool.get().expect("cannot connect to the test database");
    outbox_messages::table
        .filter(outbox_messages::sent_at.is_null())
        .select((outbox_messages::recipient, outbox_messages::attempts))
        .load(&mut conn)
        .expect("cannot read the outbox")
}
