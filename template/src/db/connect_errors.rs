//! The pool's failures to connect, logged now and then instead of each one: while the
//! database is down, every waiting checkout tries again several times a second, and a
//! line for each try would bury everything else in the log.

use std::fmt::Display;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::r2d2::HandleError;

/// How long after one logged failure the next ones are only counted.
const QUIET: Duration = Duration::from_secs(30);

/// The pool's error handler: the first failure is logged at once, later ones at most
/// once per [`QUIET`], with how many came in between.
#[derive(Debug)]
pub struct ConnectErrors {
    quiet: Duration,
    state: Mutex<Logged>,
}

#[derive(Debug, Default)]
struct Logged {
    at: Option<Instant>,
    /// Failures since then, not logged.
    unlogged: u64,
}

impl Default for ConnectErrors {
    fn default() -> Self {
        Self::quiet_for(QUIET)
    }
}

impl ConnectErrors {
    fn quiet_for(quiet: Duration) -> Self {
        Self {
            quiet,
            state: Mutex::default(),
        }
    }
}

impl<E: Display> HandleError<E> for ConnectErrors {
    fn handle_error(&self, error: E) {
        let mut logged = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if logged.at.is_some_and(|at| at.elapsed() < self.quiet) {
            logged.unlogged += 1;
            return;
        }
        let unlogged = std::mem::take(&mut logged.unlogged);
        logged.at = Some(Instant::now());
        drop(logged);
        tracing::error!(%error, failures_since_last_report = unlogged, "cannot connect to the database");
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use super::*;

    /// Everything logged, as text.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl Write for Log {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(bytes)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_outage_is_logged_once_a_while_with_the_failures_in_between_counted() {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let errors = ConnectErrors::quiet_for(Duration::from_millis(200));

        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..50 {
                errors.handle_error("connection refused");
            }
            std::thread::sleep(Duration::from_millis(250));
            errors.handle_error("connection refused");
        });

        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("failures_since_last_report=0"), "{text}");
        assert!(lines[1].contains("failures_since_last_report=49"), "{text}");
        assert!(lines.iter().all(|line| line.contains("connection refused")));
    }
}
