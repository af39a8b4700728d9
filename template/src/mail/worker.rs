//! The background task that delivers the outbox.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use lettre::message::Mailbox;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::clock::SharedClock;
use crate::db::{self, DbPool};
use crate::mail::MailSettings;
use crate::mail::delivery::{Delivery, SendError};
use crate::mail::message::OutgoingEmail;
use crate::mail::outbox::{self, Failure};
use crate::models;
use crate::models::outbox::OutboxMessage;
use crate::telemetry::error_chain;

/// The longest one send may take. Well inside [`outbox::LEASE`], so no other instance
/// takes over a message while it is still being sent: the lease left over (four
/// minutes) is how far instances' clocks may disagree.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// `tokio::time::interval` rejects zero; this also keeps an idle worker from spinning.
const SHORTEST_POLL: Duration = Duration::from_millis(10);

/// A running worker. Stop it with [`WorkerHandle::stop`]; dropping the handle stops it too.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Lets the messages being sent finish and waits for the worker to exit. It holds
    /// no other message: each is claimed only as its turn comes.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the mail worker panicked");
        }
    }
}

/// Starts delivering the outbox through `settings.transport`, polling every
/// `settings.poll_interval`. Fails when `MAIL_FROM` is not an address or the transport
/// cannot be set up. Call it from within the Tokio runtime.
pub fn spawn(
    pool: DbPool,
    settings: &MailSettings,
    clock: SharedClock,
) -> anyhow::Result<WorkerHandle> {
    let from: Mailbox = settings
        .from
        .parse()
        .with_context(|| format!("MAIL_FROM={} is not an email address", settings.from))?;
    let delivery = Delivery::new(settings)?;
    let (stop, stopped) = watch::channel(false);
    let worker = Worker {
        pool,
        delivery,
        from,
        clock,
        stopped,
        concurrent_sends: settings.concurrent_sends.max(1),
        database_down: AtomicBool::new(false),
    };
    let task = tokio::spawn(worker.run(settings.poll_interval.max(SHORTEST_POLL)));
    Ok(WorkerHandle { stop, task })
}

struct Worker {
    pool: DbPool,
    delivery: Delivery,
    from: Mailbox,
    clock: SharedClock,
    stopped: watch::Receiver<bool>,
    /// Messages sent at once: the lanes.
    concurrent_sends: usize,
    /// Remembered so an outage is logged when it starts and ends, not on every poll.
    database_down: AtomicBool,
}

impl Worker {
    async fn run(self, poll_interval: Duration) {
        let mut ticks = tokio::time::interval(poll_interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut stopped = self.stopped.clone();
        let mut sending = FuturesUnordered::new();
        // The ids of the messages in `sending`, which no other lane may take.
        let mut sending_ids: Vec<i64> = Vec::new();
        // Set by a delivery that says stop (a refused account, an outcome that could not
        // be recorded): nothing more is claimed until the next poll.
        let mut held = false;
        loop {
            tokio::select! {
                _ = ticks.tick() => held = false,
                Some((id, went_on)) = sending.next() => {
                    let went_on: bool = went_on;
                    sending_ids.retain(|sent| *sent != id);
                    held |= !went_on;
                }
                _ = stopped.changed() => break,
            }
            if self.stop_requested() {
                break;
            }
            // Each free lane takes the next due message, claimed as its turn comes; a
            // slow send holds its lane only. An idle poll costs one query.
            while !held && sending.len() < self.concurrent_sends {
                let Some(message) = self.claim(&sending_ids).await else {
                    break;
                };
                let id = message.id;
                sending_ids.push(id);
                let worker = &self;
                sending.push(async move { (id, worker.deliver(message).await) });
            }
        }
        // The messages being sent finish; nothing more is claimed.
        while sending.next().await.is_some() {}
    }

    fn stop_requested(&self) -> bool {
        // An error means the handle was dropped: nobody is left to stop the worker.
        *self.stopped.borrow() || self.stopped.has_changed().is_err()
    }

    /// The next due message but those in `sending`, claimed; none when nothing is due or
    /// the database is out.
    async fn claim(&self, sending: &[i64]) -> Option<OutboxMessage> {
        let now = self.clock.now();
        let sending = sending.to_vec();
        let claimed = db::run_blocking(&self.pool, move |conn| {
            outbox::claim_next_besides(conn, now, &sending)
        })
        .await;
        match claimed {
            Ok(message) => {
                if self.database_down.swap(false, Ordering::Relaxed) {
                    tracing::info!("mail worker: the database is reachable again");
                }
                message
            }
            Err(error) => {
                if !self.database_down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %error_chain(&error), "mail worker: cannot read the outbox");
                }
                None
            }
        }
    }

    /// Sends one message and records what became of it; false when the worker should
    /// send no more until the next poll.
    async fn deliver(&self, message: OutboxMessage) -> bool {
        let email = OutgoingEmail {
            kind: message.kind.clone(),
            to: message.recipient.clone(),
            subject: message.subject.clone(),
            text_body: message.text_body.clone(),
            html_body: message.html_body.clone(),
        };
        // The row and when it was queued: unique, and the same at every attempt.
        let key = format!(
            "outbox-{}-{}",
            message.id,
            message.created_at.and_utc().timestamp_micros()
        );
        let sent = tokio::time::timeout(SEND_TIMEOUT, self.delivery.send(&self.from, &email, &key))
            .await
            .unwrap_or_else(|_| Err(SendError::Temporary("sending timed out".to_owned())));
        let now = self.clock.now();
        let id = message.id;
        match sent {
            Ok(()) => {
                if message.attempts > 0 {
                    tracing::info!(
                        id,
                        attempts = message.attempts + 1,
                        "mail delivered after retrying"
                    );
                }
                let marked = db::run_blocking(&self.pool, move |conn| {
                    models::outbox::mark_sent(conn, &message, now)
                })
                .await;
                match marked {
                    Ok(true) => true,
                    Ok(false) => {
                        tracing::warn!(
                            id,
                            "mail sent after its lease ran out: another worker may send it too"
                        );
                        true
                    }
                    Err(error) => {
                        // The lease runs out and the message goes again: better twice than never.
                        tracing::error!(id, error = %error_chain(&error), "mail sent but not marked as sent");
                        false
                    }
                }
            }
            Err(SendError::Account(reason)) => {
                let paused = db::run_blocking(&self.pool, {
                    let reason = reason.clone();
                    move |conn| outbox::pause(conn, &message, &reason, now)
                })
                .await;
                match paused {
                    Ok(Some(until)) => tracing::error!(
                        error = %reason,
                        retry_at = %until,
                        "mail delivery paused: the provider refused our account or credentials"
                    ),
                    Ok(None) => tracing::error!(
                        error = %reason,
                        "mail delivery paused: the provider refused our account or credentials \
                         (the message's lease had run out)"
                    ),
                    Err(error) => tracing::error!(
                        error = %reason,
                        db_error = %error_chain(&error),
                        "mail delivery paused: the provider refused our account or credentials"
                    ),
                }
                false
            }
            Err(send_error) => {
                let (reason, permanent) = (send_error.to_string(), send_error.is_permanent());
                let recorded = db::run_blocking(&self.pool, move |conn| {
                    outbox::record_failure(conn, &message, &reason, permanent, now)
                })
                .await;
                match recorded {
                    Ok(Failure::RetryAt(at)) => {
                        tracing::warn!(id, error = %send_error, retry_at = %at, "mail delivery failed");
                        true
                    }
                    Ok(Failure::GaveUp) => {
                        tracing::error!(id, error = %send_error, "mail delivery failed; giving up");
                        true
                    }
                    Ok(Failure::LeaseLost) => {
                        tracing::warn!(id, error = %send_error, "mail delivery failed after its lease ran out; another worker holds it");
                        true
                    }
                    Err(error) => {
                        tracing::error!(
                            id,
                            error = %send_error,
                            db_error = %error_chain(&error),
                            "mail delivery failed and could not be recorded"
                        );
                        false
                    }
                }
            }
        }
    }
}
