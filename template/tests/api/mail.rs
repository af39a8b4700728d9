//! Outgoing mail: rendered, queued in the outbox, delivered by the app's worker
//! (`MAIL_TRANSPORT=file`) and read back from the folder it writes to.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use tempfile::TempDir;

use {{crate_name}}::clock::{Clock, ManualClock, SharedClock};
use {{crate_name}}::config::Settings;
use {{crate_name}}::db::schema::outbox_messages;
use {{crate_name}}::db::{self, DbConn, DbPool};
use {{crate_name}}::mail::outbox::{self, Failure};
use {{crate_name}}::mail::worker::{self, WorkerHandle};
use {{crate_name}}::mail::{Email, Mailer, OutgoingEmail, Site};
use {{crate_name}}::models;
use {{crate_name}}::models::outbox::OutboxMessage;

use crate::helpers::{TestApp, TestDatabase, spawn_app, test_settings};
use crate::mailbox::{ReceivedEmail, emails_to, wait_for_email};

/// Differs from the app's own address, so a link built from the request would show.
const BASE_URL: &str = "https://app.example.com";

#[tokio::test]
async fn queued_mail_is_delivered_once_and_marked_sent() {
    let app = spawn_app().await;
    let welcome = compose(&app, "zoe@example.com", code_email("Zoë"));

    queue(&app, welcome).await;
    wait_for_email(app.mail_dir.path(), "zoe@example.com").await;
    // The worker sends in order, so once a later message is out, any second copy of
    // the first would be out too.
    queue(
        &app,
        compose(&app, "later@example.com", code_email("Later")),
    )
    .await;
    wait_for_email(app.mail_dir.path(), "later@example.com").await;

    assert_eq!(emails_to(app.mail_dir.path(), "zoe@example.com").len(), 1);
    let row = outbox_row(&app.pool, "zoe@example.com").await;
    assert!(row.sent_at.is_some(), "not marked as sent: {row:?}");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.locked_until, None);
    // The bodies held a code; once delivered, the database keeps no copy.
    assert_eq!((row.text_body.as_str(), row.html_body.as_str()), ("", ""));
}

#[tokio::test]
async fn delivered_mail_has_utf8_plain_text_and_html_parts() {
    let app = spawn_app().await;
    let email = compose(&app, "zoe@example.com", code_email("Zoë Ångström 山田"));

    queue(&app, email.clone()).await;
    let received = wait_for_email(app.mail_dir.path(), "zoe@example.com").await;

    assert_eq!(received.from, "noreply@localhost");
    assert_eq!(received.to, "zoe@example.com");
    assert_eq!(received.subject, email.subject);
    assert_eq!(
        received.content_types,
        [
            "multipart/alternative",
            "text/plain; charset=utf-8",
            "text/html; charset=utf-8"
        ]
    );
    assert_eq!(received.header("MIME-Version"), Some("1.0"));
    assert!(received.header("Date").is_some());
    assert!(received.header("Message-ID").is_some());
    assert!(
        received.text.contains("Hi Zoë Ångström 山田,"),
        "{}",
        received.text
    );
    assert!(
        received.html.contains("Hi Zoë Ångström 山田,"),
        "{}",
        received.html
    );
}

#[tokio::test]
async fn names_are_escaped_in_html_but_left_alone_in_plain_text() {
    let app = spawn_app().await;
    let name = "<b>Bob</b> & \"Co\"";

    let received = deliver(&app, "bob@example.com", code_email(name)).await;

    assert!(received.text.contains(name), "{}", received.text);
    assert!(!received.html.contains("<b>Bob"), "{}", received.html);
    assert!(
        received
            .html
            .contains("&lt;b&gt;Bob&lt;/b&gt; &amp; &quot;Co&quot;"),
        "{}",
        received.html
    );
}

#[tokio::test]
async fn the_verification_code_mail_shows_the_code_and_how_long_it_lasts() {
    let app = spawn_app().await;
    let minutes = app.settings.accounts.code_lifetime.num_minutes();

    let received = deliver(&app, "ann@example.com", code_email("Ann")).await;

    assert!(received.subject.contains("123456"), "{}", received.subject);
    for body in [&received.text, &received.html] {
        assert!(body.contains("123456"), "{body}");
        assert!(
            body.contains(&format!("expires in {minutes} minutes")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn mail_greets_the_owner_by_name_or_without_one() {
    let app = spawn_app().await;

    let named = compose(&app, "ann@example.com", code_email("Ann"));
    let nameless = compose(
        &app,
        "ann@example.com",
        Email::SignupAttempt {
            name: String::new(),
        },
    );

    assert!(named.text_body.contains("Hi Ann,"), "{}", named.text_body);
    assert!(
        named.html_body.contains("<p>Hi Ann,</p>"),
        "{}",
        named.html_body
    );
    assert!(nameless.text_body.contains("Hi,"), "{}", nameless.text_body);
    assert!(
        nameless.html_body.contains("<p>Hi,</p>"),
        "{}",
        nameless.html_body
    );
}

#[tokio::test]
async fn the_signup_attempt_mail_links_to_login_and_password_reset() {
    let app = spawn_app().await;
    let email = Email::SignupAttempt { name: "Ann".into() };

    let received = deliver(&app, "ann@example.com", email).await;

    assert!(received.subject.contains("sign up"), "{}", received.subject);
    for url in [
        format!("{BASE_URL}/login"),
        format!("{BASE_URL}/forgot-password"),
    ] {
        assert!(received.text.contains(&url), "{url} in {}", received.text);
        assert!(received.html_links_to(&url), "{url} in {}", received.html);
    }
}

#[tokio::test]
async fn the_password_reset_mail_links_to_the_reset_page_with_the_token() {
    let app = spawn_app().await;
    let minutes = app.settings.accounts.reset_lifetime.num_minutes();
    let email = Email::PasswordReset {
        name: "Ann".into(),
        token: "tok_Abc-123".into(),
    };

    let received = deliver(&app, "ann@example.com", email).await;

    let link = format!("{BASE_URL}/reset-password?token=tok_Abc-123");
    assert!(received.text.contains(&link), "{}", received.text);
    assert!(received.html_links_to(&link), "{}", received.html);
    assert!(
        received
            .text
            .contains(&format!("expires in {minutes} minutes")),
        "{}",
        received.text
    );
}

#[tokio::test]
async fn the_password_changed_mail_links_to_password_reset() {
    let app = spawn_app().await;
    let email = Email::PasswordChanged { name: "Ann".into() };

    let received = deliver(&app, "ann@example.com", email).await;

    assert!(received.subject.contains("password was changed"));
    let link = format!("{BASE_URL}/forgot-password");
    assert!(received.text.contains(&link), "{}", received.text);
    assert!(received.html_links_to(&link), "{}", received.html);
}

#[tokio::test]
async fn the_account_locked_mail_says_for_how_long_and_suggests_a_reset() {
    let app = spawn_app().await;
    let email = Email::AccountLocked {
        name: "Ann".into(),
        minutes: 15,
    };

    let received = deliver(&app, "ann@example.com", email).await;

    let link = format!("{BASE_URL}/forgot-password");
    for body in [&received.text, &received.html] {
        assert!(body.contains("locked for 15 minutes"), "{body}");
    }
    assert!(received.text.contains(&link), "{}", received.text);
    assert!(received.html_links_to(&link), "{}", received.html);
}

#[tokio::test]
async fn a_claimed_message_is_neither_claimed_again_nor_sent_while_its_lease_holds() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let held = compose(&app, "held@example.com", code_email("Held"));
    // Another instance claims the message as it is queued, before the app's worker can.
    let claimed = db::run_blocking(&app.pool, move |conn| {
        conn.transaction(|conn| {
            outbox::enqueue(conn, None, &held, now)?;
            outbox::claim_next(conn, now)
        })
    })
    .await
    .expect("cannot claim");
    assert!(claimed.is_some());

    let second_claim = db::run_blocking(&app.pool, move |conn| outbox::claim_next(conn, now))
        .await
        .expect("cannot claim");
    // Anything the worker could take, it would have sent before this later message.
    queue(
        &app,
        compose(&app, "later@example.com", code_email("Later")),
    )
    .await;
    wait_for_email(app.mail_dir.path(), "later@example.com").await;

    assert!(second_claim.is_none(), "claimed twice: {second_claim:?}");
    assert!(emails_to(app.mail_dir.path(), "held@example.com").is_empty());
    let row = outbox_row(&app.pool, "held@example.com").await;
    assert_eq!(row.sent_at, None);
}

#[tokio::test]
async fn a_message_whose_lease_ran_out_is_delivered_by_another_worker() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let orphan = compose(&app, "orphan@example.com", code_email("Orphan"));
    // An instance claims the message and dies before sending it.
    db::run_blocking(&app.pool, move |conn| {
        conn.transaction(|conn| {
            outbox::enqueue(conn, None, &orphan, now)?;
            outbox::claim_next(conn, now)
        })
    })
    .await
    .expect("cannot claim");

    app.clock
        .advance(outbox::LEASE + chrono::Duration::seconds(1));
    wait_for_email(app.mail_dir.path(), "orphan@example.com").await;

    assert_eq!(
        emails_to(app.mail_dir.path(), "orphan@example.com").len(),
        1
    );
}

#[test]
fn mail_queued_in_a_rolled_back_transaction_is_never_sent() {
    let outbox = QuietOutbox::create();
    let conn = &mut outbox.connect();
    let email = plain_email("ann@example.com");

    let rolled_back: QueryResult<()> = conn.transaction(|conn| {
        outbox::enqueue(conn, None, &email, T0)?;
        // The change the mail was about fails, so the mail must go with it.
        Err(diesel::result::Error::RollbackTransaction)
    });

    assert!(rolled_back.is_err());
    assert!(outbox::claim_next(conn, T0).unwrap().is_none());
}

#[test]
fn a_worker_that_outlived_its_lease_records_nothing_over_the_one_that_took_over() {
    let outbox = QuietOutbox::create();
    let conn = &mut outbox.connect();
    outbox::enqueue(conn, None, &plain_email("ann@example.com"), T0).unwrap();
    let first = claim_one(conn, T0);
    // The first worker froze mid-send; the lease ran out and a second took over.
    let later = T0 + outbox::LEASE + chrono::Duration::seconds(1);
    let second = claim_one(conn, later);

    let stale_sent = models::outbox::mark_sent(conn, &first, later).unwrap();
    let stale_failure = outbox::record_failure(conn, &first, "timed out", false, later).unwrap();
    let stale_pause = outbox::pause(conn, &first, "401", later).unwrap();

    assert!(!stale_sent);
    assert_eq!(stale_failure, Failure::LeaseLost);
    assert_eq!(stale_pause, None);
    let row = only_row(conn);
    assert_eq!((row.sent_at, row.attempts, row.last_error), (None, 0, None));
    assert_eq!(row.claim_token, second.claim_token);
    assert_ne!(first.claim_token, second.claim_token);
    assert!(models::outbox::mark_sent(conn, &second, later).unwrap());
    assert_eq!(only_row(conn).sent_at, Some(later));
}

#[test]
fn codes_and_reset_links_go_before_notices_that_waited_longer() {
    let outbox = QuietOutbox::create();
    let conn = &mut outbox.connect();
    let notice = OutgoingEmail {
        kind: "password_changed".to_owned(),
        ..plain_email("notice@example.com")
    };
    let code = OutgoingEmail {
        kind: "verification_code".to_owned(),
        ..plain_email("code@example.com")
    };
    let reset = OutgoingEmail {
        kind: "password_reset".to_owned(),
        ..plain_email("reset@example.com")
    };
    outbox::enqueue(conn, None, &notice, T0).unwrap();
    outbox::enqueue(conn, None, &code, T0 + chrono::Duration::seconds(1)).unwrap();
    outbox::enqueue(conn, None, &reset, T0 + chrono::Duration::seconds(2)).unwrap();

    let now = T0 + chrono::Duration::seconds(3);
    let order: Vec<String> = std::iter::from_fn(|| outbox::claim_next(conn, now).unwrap())
        .map(|message| message.recipient)
        .collect();

    assert_eq!(
        order,
        [
            "code@example.com",
            "reset@example.com",
            "notice@example.com"
        ]
    );
}

#[test]
fn failed_deliveries_are_retried_later_with_growing_delays() {
    let outbox = QuietOutbox::create();
    let conn = &mut outbox.connect();
    outbox::enqueue(conn, None, &plain_email("ann@example.com"), T0).unwrap();

    let first = claim_one(conn, T0);
    let first_retry = retry_time(outbox::record_failure(conn, &first, "refused", false, T0));
    let too_early = outbox::claim_next(conn, first_retry - chrono::Duration::seconds(1));
    let second = claim_one(conn, first_retry);
    let second_retry = retry_time(outbox::record_failure(
        conn,
        &second,
        "refused",
        false,
        first_retry,
    ));

    // 30 s, then 60 s, each with up to a quarter more as jitter.
    let first_wait = (first_retry - T0).num_seconds();
    let second_wait = (second_retry - first_retry).num_seconds();
    assert!((30..=37).contains(&first_wait), "{first_wait} s");
    assert!(too_early.unwrap().is_none());
    assert_eq!(second.attempts, 1);
    assert_eq!(second.last_error.as_deref(), Some("refused"));
    assert!((60..=75).contains(&second_wait), "{second_wait} s");
}

fn retry_time(failure: QueryResult<Failure>) -> NaiveDateTime {
    match failure.expect("cannot record the failure") {
        Failure::RetryAt(at) => at,
        Failure::GaveUp => panic!("given up instead of retried"),
        Failure::LeaseLost => panic!("the lease was lost"),
    }
}

#[test]
fn a_message_is_given_up_after_the_last_attempt() {
    let outbox = QuietOutbox::create();
    let conn = &mut outbox.connect();
    outbox::enqueue(conn, None, &plain_email("ann@example.com"), T0).unwrap();

    let mut now = T0;
    let mut failures = Vec::new();
    for _ in 0..outbox::MAX_ATTEMPTS {
        let message = claim_one(conn, now);
        let failure = outbox::record_failure(conn, &message, "timed out", false, now).unwrap();
        if let Failure::RetryAt(at) = failure {
            now = at;
        }
        failures.push(failure);
    }

    assert_eq!(failures.last(), Some(&Failure::GaveUp));
    assert_eq!(
        failures.iter().filter(|f| **f == Failure::GaveUp).count(),
        1
    );
    let far_future = now + chrono::Duration::days(365);
    assert!(outbox::claim_next(conn, far_future).unwrap().is_none());
    let row = only_row(conn);
    assert_eq!(row.attempts, outbox::MAX_ATTEMPTS);
    assert_eq!(row.failed_at, Some(now));
    assert_eq!(row.last_error.as_deref(), Some("timed out"));
}

#[test]
fn a_permanent_failure_is_given_up_at_once() {
    let outbox = QuietOutbox::create();
    let conn = &mut outbox.connect();
    outbox::enqueue(conn, None, &plain_email("nobody@example.com"), T0).unwrap();
    let message = claim_one(conn, T0);

    let failure = outbox::record_failure(conn, &message, "550 no such user", true, T0).unwrap();

    assert_eq!(failure, Failure::GaveUp);
    let far_future = T0 + chrono::Duration::days(365);
    assert!(outbox::claim_next(conn, far_future).unwrap().is_none());
    let row = only_row(conn);
    assert_eq!(row.attempts, 1);
    assert_eq!(row.failed_at, Some(T0));
    assert_eq!(row.sent_at, None);
}

#[test]
fn records_of_sent_mail_are_purged_after_a_while_but_given_up_mail_is_kept() {
    let outbox = QuietOutbox::create();
    let conn = &mut outbox.connect();
    for to in [
        "old@example.com",
        "recent@example.com",
        "failed@example.com",
    ] {
        outbox::enqueue(conn, None, &plain_email(to), T0).unwrap();
    }
    let week = chrono::Duration::days(7);
    while let Some(message) = outbox::claim_next(conn, T0).unwrap() {
        match message.recipient.as_str() {
            "old@example.com" => assert!(models::outbox::mark_sent(conn, &message, T0).unwrap()),
            "recent@example.com" => {
                assert!(models::outbox::mark_sent(conn, &message, T0 + week).unwrap());
            }
            _ => {
                outbox::record_failure(conn, &message, "550", true, T0).unwrap();
            }
        }
    }

    let purged = models::outbox::purge_sent(conn, T0 + chrono::Duration::hours(1), 100).unwrap();

    assert_eq!(purged, 1);
    let mut left: Vec<String> = outbox_messages::table
        .select(outbox_messages::recipient)
        .load(&mut **conn)
        .unwrap();
    left.sort();
    assert_eq!(left, ["failed@example.com", "recent@example.com"]);
}

#[tokio::test]
async fn two_workers_never_send_the_same_message() {
    let outbox = QuietOutbox::create();
    let mail_dir = TempDir::new().expect("cannot create a mail folder");
    let clock: SharedClock = Arc::new(ManualClock::new());
    let recipients: Vec<String> = (0..20).map(|n| format!("user{n}@example.com")).collect();
    for to in &recipients {
        outbox::enqueue(&mut outbox.connect(), None, &plain_email(to), clock.now()).unwrap();
    }

    // Two instances, each with its own pool, start polling at the same moment.
    let first = outbox.spawn_worker(mail_dir.path(), Arc::clone(&clock));
    let second = outbox.spawn_worker(mail_dir.path(), clock);
    for to in &recipients {
        wait_for_email(mail_dir.path(), to).await;
    }
    // Stopping lets any send in progress finish, so nothing can arrive after the count.
    for worker in [first, second] {
        tokio::time::timeout(Duration::from_secs(10), worker.stop())
            .await
            .expect("the worker did not stop");
    }

    for to in &recipients {
        assert_eq!(emails_to(mail_dir.path(), to).len(), 1, "{to}");
    }
}

#[tokio::test]
async fn a_worker_whose_clock_runs_ahead_within_the_bound_leaves_a_message_being_sent_alone() {
    let outbox = QuietOutbox::create();
    let mail_dir = TempDir::new().expect("cannot create a mail folder");
    // One instance claims a message and is still sending it, at the last moment its
    // send may take.
    let clock = ManualClock::new();
    let claimed_at = clock.now();
    outbox::enqueue(
        &mut outbox.connect(),
        None,
        &plain_email("held@example.com"),
        claimed_at,
    )
    .unwrap();
    assert!(
        outbox::claim_next(&mut outbox.connect(), claimed_at)
            .unwrap()
            .is_some()
    );
    let skew_bound = outbox::LEASE - chrono::Duration::from_std(worker::SEND_TIMEOUT).unwrap();
    assert_eq!(
        skew_bound,
        chrono::Duration::minutes(4),
        "the bound the docs give"
    );
    // Another instance, whose clock is ahead by just under the bound.
    let ahead = ManualClock::new();
    ahead.advance(
        chrono::Duration::from_std(worker::SEND_TIMEOUT).unwrap() + skew_bound
            - chrono::Duration::seconds(1),
    );
    let later_at = ahead.now();
    outbox::enqueue(
        &mut outbox.connect(),
        None,
        &plain_email("later@example.com"),
        later_at,
    )
    .unwrap();

    let other = outbox.spawn_worker(mail_dir.path(), Arc::new(ahead));
    // Anything the worker could take, it would have sent before this later message.
    wait_for_email(mail_dir.path(), "later@example.com").await;
    tokio::time::timeout(Duration::from_secs(10), other.stop())
        .await
        .expect("the worker did not stop");

    assert!(emails_to(mail_dir.path(), "held@example.com").is_empty());
}

crate::backend::outbox_row_lock_tests!();

/// A fixed, whole-second time: every database stores it exactly.
pub const T0: NaiveDateTime = NaiveDate::from_ymd_opt(2030, 1, 2)
    .unwrap()
    .and_hms_opt(12, 0, 0)
    .unwrap();

/// A migrated database with no app, and so no worker, taking messages from under a test.
struct QuietOutbox {
    pool: DbPool,
    settings: Settings,
    _database: TestDatabase,
}

impl QuietOutbox {
    fn create() -> Self {
        let database = TestDatabase::create();
        let settings = test_settings(&database.url, &[]);
        db::migrate(&settings.database).expect("migrations failed");
        Self {
            pool: db::build_pool(&settings.database),
            settings,
            _database: database,
        }
    }

    /// A worker of another instance: its own pool, writing mail into `mail_dir`.
    fn spawn_worker(&self, mail_dir: &Path, clock: SharedClock) -> WorkerHandle {
        let mut mail = self.settings.mail.clone();
        mail.file_dir = mail_dir.to_owned();
        worker::spawn(db::build_pool(&self.settings.database), &mail, clock)
            .expect("cannot start a worker")
    }

    fn connect(&self) -> impl std::ops::DerefMut<Target = DbConn> {
        self.pool
            .get()
            .expect("cannot connect to the test database")
    }
}

fn claim_one(conn: &mut DbConn, now: NaiveDateTime) -> OutboxMessage {
    let claimed = outbox::claim_next(conn, now).expect("cannot claim");
    let message = claimed.unwrap_or_else(|| panic!("expected a due message at {now}"));
    assert!(
        outbox::claim_next(conn, now).unwrap().is_none(),
        "expected one due message at {now}"
    );
    message
}

fn only_row(conn: &mut DbConn) -> OutboxMessage {
    outbox_messages::table
        .select(OutboxMessage::as_select())
        .get_result(conn)
        .expect("cannot read the outbox")
}

fn code_email(name: &str) -> Email {
    Email::VerificationCode {
        name: name.to_owned(),
        code: "123456".to_owned(),
    }
}

pub fn plain_email(to: &str) -> OutgoingEmail {
    OutgoingEmail {
        kind: "hello".to_owned(),
        to: to.to_owned(),
        subject: "Hello".to_owned(),
        text_body: "Hello".to_owned(),
        html_body: "<p>Hello</p>".to_owned(),
    }
}

/// Renders with the app's templates and settings, but links to [`BASE_URL`].
fn compose(app: &TestApp, to: &str, email: Email) -> OutgoingEmail {
    let accounts = &app.settings.accounts;
    let site = Site {
        app_name: &app.settings.brand.name,
        base_url: BASE_URL,
    };
    Mailer::new(site, accounts.code_lifetime, accounts.reset_lifetime, false)
        .expect("cannot load the mail templates")
        .compose(to, &email)
        .expect("cannot render the email")
}

async fn queue(app: &TestApp, email: OutgoingEmail) {
    let now = app.clock.now();
    db::run_blocking(&app.pool, move |conn| {
        outbox::enqueue(conn, None, &email, now)
    })
    .await
    .expect("cannot queue the email");
}

async fn deliver(app: &TestApp, to: &str, email: Email) -> ReceivedEmail {
    queue(app, compose(app, to, email)).await;
    wait_for_email(app.mail_dir.path(), to).await
}

async fn outbox_row(pool: &DbPool, recipient: &str) -> OutboxMessage {
    let recipient = recipient.to_owned();
    db::run_blocking(pool, move |conn| {
        outbox_messages::table
            .filter(outbox_messages::recipient.eq(recipient))
            .select(OutboxMessage::as_select())
            .get_result(conn)
    })
    .await
    .expect("cannot read the outbox")
}
