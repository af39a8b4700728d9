//! The background task that delivers the outbox.

use std::time::Duration;

use anyhow::Context as _;
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

/// Messages claimed per poll. Small, so a stopping worker has little to hand back.
const BATCH_SIZE: i64 = 20;

/// The longest one send may take. Well inside [`outbox::LEASE`], so no other instance
/// takes over a message while it is still being sent.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// `tokio::time::interval` rejects zero; this also keeps an idle worker from spinning.
const SHORTEST_POLL: Duration = Duration::from_millis(10);

/// A running worker. Stop it with [`WorkerHandle::stop`]; dropping the handle stops it too.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Lets the message being sent finish, hands back the rest of the batch, and waits
    /// for the worker to exit.
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
        database_down: false,
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
    /// Remembered so an outage is logged when it starts and ends, not on every poll.
    database_down: bool,
}

impl Worker {
    async fn run(mut self, poll_interval: Duration) {
        let mut ticks = tokio::time::interval(poll_interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = self.stopped.changed() => break,
            }
            if self.stop_requested() {
                break;
            }
            if let Some(messages) = self.claim().await {
                self.deliver_all(messages).await;
            }
        }
    }

    fn stop_requested(&self) -> bool {
        // An error means the handle was dropped: nobody is left to stop the worker.
        *self.stopped.borrow() || self.stopped.has_changed().is_err()
    }

    async fn claim(&mut self) -> Option<Vec<OutboxMessage>> {
        let now = self.clock.now();
        let claimed = db::run_blocking(&self.pool, move |conn| {
            outbox::claim_due(conn, now, BATCH_SIZE)
        })
        .await;
        match claimed {
            Ok(messages) => {
                if self.database_down {
                    tracing::info!("mail worker: the database is reachable again");
                    self.database_down = false;
                }
                Some(messages)
            }
            Err(error) => {
                if !self.database_down {
                    tracing::warn!(error = %error_chain(&error), "mail worker: cannot read the outbox");
                    self.database_down = true;
                }
                None
            }
        }
    }

    /// Sends the batch in order. It stops, handing the rest back, when asked to stop,
    /// when the provider refuses our account (the rest would be refused too), and when
    /// an outcome cannot be recorded (sending on would risk sending mail twice).
    async fn deliver_all(&self, messages: Vec<OutboxMessage>) {
        let mut messages = messages.into_iter();
        while let Some(message) = messages.next() {
            let mut unsent = Vec::new();
            if self.stop_requested() {
                unsent.push(message.id);
            } else if self.deliver(message).await {
                continue;
            }
            unsent.extend(messages.map(|message| message.id));
            if !unsent.is_empty() {
                self.release(unsent).await;
            }
            return;
        }
    }

    /// Sends one message and records what became of it; false when the batch should
    /// stop here.
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
                if let Err(error) = marked {
                    // The lease runs out and the message goes again: better twice than never.
                    tracing::error!(id, error = %error_chain(&error), "mail sent but not marked as sent");
                    return false;
                }
                true
            }
            Err(SendError::Account(reason)) => {
                let paused = db::run_blocking(&self.pool, {
                    let reason = reason.clone();
                    move |conn| outbox::pause(conn, &message, &reason, now)
                })
                .await;
                match paused {
                    Ok(until) => tracing::error!(
                        error = %reason,
                        retry_at = %until,
                        "mail delivery paused: the provider refused our account or credentials"
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

    async fn release(&self, ids: Vec<i64>) {
        let released =
            db::run_blocking(&self.pool, move |conn| models::outbox::release(conn, &ids)).await;
        if let Err(error) = released {
            // Harmless: the leases run out on their own.
            tracing::warn!(error = %error_chain(&error), "mail worker: cannot release its claims");
        }
    }
}
