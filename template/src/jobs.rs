//! The background jobs, started with the server and stopped after it: the purge of
//! what can no longer be used, the rate limiter's cleanup and the mail worker.

use std::time::Duration;

use chrono::{Duration as Age, NaiveDateTime};
use diesel::QueryResult;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::config::Retention;
use crate::db::{self, DbConn, DbPool};
use crate::mail::{self, MailSettings, WorkerHandle};
use crate::models::{
    audit_event, outbox, password_reset, rate_limit, session, trusted_device, user,
    verification_code,
};
use crate::telemetry::error_chain;

const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);
/// How often the rate limiter forgets addresses whose budget is full again.
const FORGET_EVERY: Duration = Duration::from_secs(60);
/// Expired codes and reset links only matter to forensics, and only for a day.
const KEEP_EXPIRED: Age = Age::days(1);
/// Windows of the shared rate limit last a day at most: by two days after its start,
/// a window has been over for a day.
const KEEP_RATE_LIMIT_WINDOWS: Age = Age::days(2);
/// Long enough to answer "did my mail go out?" for a week; mail given up on keeps its
/// text as long, for an administrator to look into.
const KEEP_SENT_MAIL: Age = Age::days(7);
/// Rows per statement: a large backlog is purged in short statements, never one that
/// holds locks for long.
const BATCH: i64 = 1000;
/// A browser that has not signed in for a year is a stranger again (its cookie is gone
/// too: `web::device`).
const KEEP_TRUSTED_DEVICE: Age = Age::days(365);

/// The running jobs.
pub struct Jobs {
    purge: JoinHandle<()>,
    limiter_cleanup: JoinHandle<()>,
    mail_worker: WorkerHandle,
}

impl Jobs {
    /// Starts every job; `forget_quiet_clients` is the rate limiter's cleanup. Fails when
    /// the mail worker cannot start (see `mail::worker::spawn`).
    pub fn start(
        pool: &DbPool,
        clock: &SharedClock,
        mail: &MailSettings,
        retention: Retention,
        forget_quiet_clients: impl Fn() + Send + 'static,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            purge: spawn_purge(pool.clone(), SharedClock::clone(clock), retention),
            limiter_cleanup: spawn_limiter_cleanup(forget_quiet_clients),
            mail_worker: mail::worker::spawn(pool.clone(), mail, SharedClock::clone(clock))?,
        })
    }

    /// Stops every job; the mail worker last, after the mail in hand is sent.
    pub async fn stop(self) {
        self.purge.abort();
        self.limiter_cleanup.abort();
        self.mail_worker.stop().await;
    }
}

/// Deletes what can no longer be used at `now`: ended sessions, codes, reset links and
/// rate-limit windows a day after they ended, the records of mail sent a week ago (and the text of mail given up on), accounts never
/// verified and audit entries past their `retention`.
/// Returns how many sessions ended.
pub fn purge_expired(
    conn: &mut DbConn,
    retention: &Retention,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let sessions = session::purge_expired_sessions(conn, now)?;
    verification_code::purge_expired_codes(conn, now - KEEP_EXPIRED)?;
    password_reset::purge_expired_tokens(conn, now - KEEP_EXPIRED)?;
    rate_limit::purge_before(conn, now - KEEP_RATE_LIMIT_WINDOWS)?;
    in_batches(|limit| outbox::purge_sent(conn, now - KEEP_SENT_MAIL, limit))?;
    in_batches(|limit| outbox::forget_given_up(conn, now - KEEP_SENT_MAIL, limit))?;
    in_batches(|limit| user::purge_unverified(conn, now - retention.unverified_accounts, limit))?;
    in_batches(|limit| audit_event::purge_before(conn, now - retention.audit_events, limit))?;
    in_batches(|limit| trusted_device::purge_unused(conn, now - KEEP_TRUSTED_DEVICE, limit))?;
    Ok(sessions)
}

/// Runs `step` with a limit of `BATCH` rows until it handles fewer.
fn in_batches(mut step: impl FnMut(i64) -> QueryResult<usize>) -> QueryResult<usize> {
    let mut total = 0;
    loop {
        let done = step(BATCH)?;
        total += done;
        if i64::try_from(done).map_or(true, |done| done < BATCH) {
            return Ok(total);
        }
    }
}

/// Purges every ten minutes until aborted.
fn spawn_purge(pool: DbPool, clock: SharedClock, retention: Retention) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PURGE_EVERY);
        loop {
            ticks.tick().await;
            let now = clock.now();
            match db::run_blocking(&pool, move |conn| purge_expired(conn, &retention, now)).await {
                Ok(sessions) if sessions > 0 => tracing::info!(sessions, "purged ended sessions"),
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error_chain(&error), "purge failed"),
            }
        }
    })
}

/// Has the rate limiter forget addresses whose budget is full again, so its table does
/// not grow with every IP ever seen. Runs until aborted.
fn spawn_limiter_cleanup(forget_quiet_clients: impl Fn() + Send + 'static) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(FORGET_EVERY);
        loop {
            ticks.tick().await;
            forget_quiet_clients();
        }
    })
}
