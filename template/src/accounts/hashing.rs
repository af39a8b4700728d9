//! bcrypt work, bounded. bcrypt is slow on purpose, so a crowd signing in at once
//! could take every core and stall the whole site. At most `threads` hashes run at
//! once, so a core stays free for everything else; and no more waits than can be done
//! within `max_wait`, so a request beyond that is told at once to come back
//! (503 with `Retry-After`) instead of joining a queue without end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::accounts::password;

/// Why password work was not done.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too much password work is queued")]
    Busy { retry_after: Duration },
    #[error("the password work was cancelled")]
    Cancelled,
    #[error("bcrypt failed")]
    Bcrypt(#[from] bcrypt::BcryptError),
}

/// How many hashes may run at once (`BCRYPT_THREADS`) and how long a request may
/// wait for one (`BCRYPT_QUEUE_SECONDS`).
#[derive(Clone, Copy, Debug)]
pub struct HashingLimits {
    pub threads: usize,
    pub max_wait: Duration,
}

/// The gate all password hashing and checking goes through.
pub struct Hashing {
    cost: u32,
    threads: usize,
    slots: Arc<Semaphore>,
    /// Running and waiting.
    admitted: Arc<AtomicUsize>,
    capacity: usize,
    hash_time: Duration,
}

impl Hashing {
    /// The gate for hashes at `cost`, each taking about `hash_time` (measured at
    /// start-up), which tells how much waiting `max_wait` allows.
    pub fn new(cost: u32, limits: HashingLimits, hash_time: Duration) -> Self {
        let threads = limits.threads.max(1);
        let hash_secs = hash_time.as_secs_f64().max(1e-6);
        let waiting = (limits.max_wait.as_secs_f64() / hash_secs) as usize * threads;
        Self {
            cost,
            threads,
            slots: Arc::new(Semaphore::new(threads)),
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: threads + waiting,
            hash_time,
        }
    }

    /// A new bcrypt hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let cost = self.cost;
        self.run(move || password::hash_password(&password, cost))
            .await?
            .map_err(HashError::from)
    }

    /// Whether `password` matches the stored `hash`.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, HashError> {
        self.run(move || password::verify_password(&password, &hash))
            .await
    }

    /// Runs `work` (a hash or two) on the blocking pool once one of the threads is free;
    /// refuses at once when the queue is full.
    pub async fn run<T, F>(&self, work: F) -> Result<T, HashError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted =
            Admitted::enter(&self.admitted, self.capacity).ok_or_else(|| HashError::Busy {
                retry_after: self.time_to_clear(),
            })?;
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Cancelled)?;
        // Both travel with the work: a request that goes away mid-hash still holds
        // its thread until bcrypt is done with it.
        actix_web::web::block(move || {
            let _held = (admitted, slot);
            work()
        })
        .await
        .map_err(|_| HashError::Cancelled)
    }

    /// How long the work admitted now takes, at least a second.
    fn time_to_clear(&self) -> Duration {
        let queued = self.admitted.load(Ordering::Relaxed) as u32;
        let time = self.hash_time * queued / self.threads as u32;
        time.max(Duration::from_secs(1))
    }
}

/// One request's place among the admitted, given back when dropped.
struct Admitted(Arc<AtomicUsize>);

impl Admitted {
    fn enter(count: &Arc<AtomicUsize>, capacity: usize) -> Option<Self> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now < capacity).then_some(now + 1)
            })
            .ok()
            .map(|_| Self(Arc::clone(count)))
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashing(threads: usize, hash_ms: u64, max_wait_ms: u64) -> Hashing {
        let limits = HashingLimits {
            threads,
            max_wait: Duration::from_millis(max_wait_ms),
        };
        Hashing::new(4, limits, Duration::from_millis(hash_ms))
    }

    #[test]
    fn the_queue_holds_what_the_threads_finish_within_the_wait() {
        assert_eq!(hashing(1, 250, 2000).capacity, 1 + 8);
        assert_eq!(hashing(3, 250, 2000).capacity, 3 + 24);
        assert_eq!(hashing(0, 250, 0).capacity, 1);
    }

    #[actix_web::test]
    async fn work_beyond_the_queue_is_refused_at_once_and_the_rest_done() {
        let hashing = Arc::new(hashing(1, 200, 400));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        let mut admitted = Vec::new();
        for _ in 0..3 {
            let (hashing, hold) = (Arc::clone(&hashing), Arc::clone(&hold));
            admitted.push(actix_web::rt::spawn(async move {
                hashing
                    .run(move || hold.lock().unwrap().recv().is_ok())
                    .await
            }));
        }
        while hashing.admitted.load(Ordering::Acquire) < 3 {
            actix_web::rt::task::yield_now().await;
        }

        let refused = hashing.run(|| true).await;

        match refused {
            Err(HashError::Busy { retry_after }) => {
                assert_eq!(retry_after, Duration::from_secs(1));
            }
            other => panic!("not refused: {other:?}"),
        }
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        for work in admitted {
            assert!(work.await.unwrap().unwrap());
        }
        assert_eq!(hashing.admitted.load(Ordering::Acquire), 0);
        assert!(hashing.run(|| true).await.unwrap());
    }
}
