//! Deletes what can no longer be used: ended sessions, old codes and reset tokens,
//! and the records of mail sent long ago.

use std::time::Duration;

use chrono::Duration as Age;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::db::{self, DbPool};
use crate::mail::outbox;
use crate::models::{password_reset, session, verification_code};

const EVERY: Duration = Duration::from_secs(10 * 60);
/// Codes and tokens live an hour at most; a day later they only matter to forensics.
const KEEP_USED: Age = Age::days(1);
/// Long enough to answer "did my mail go out?" for a week.
const KEEP_SENT_MAIL: Age = Age::days(7);

/// Purges every ten minutes until the task is aborted.
pub fn spawn(pool: DbPool, clock: SharedClock) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            let now = clock.now();
            let purged = db::run_blocking(&pool, move |conn| {
                let sessions = session::purge_expired_sessions(conn, now)?;
                verification_code::purge_old_codes(conn, now - KEEP_USED)?;
                password_reset::purge_old_tokens(conn, now - KEEP_USED)?;
                outbox::purge_sent(conn, now - KEEP_SENT_MAIL)?;
                Ok(sessions)
            })
            .await;
            match purged {
                Ok(sessions) if sessions > 0 => tracing::info!(sessions, "purged ended sessions"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "purging ended sessions failed"),
            }
        }
    })
}
