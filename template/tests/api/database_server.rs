//! What a database server lets tests do to the app: cut the line between them (a TCP
//! proxy) and hold a row lock from another client; and what its row locks give the app.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::prelude::*;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use {{crate_name}}::db::schema::{outbox_messages, users};
use {{crate_name}}::db::{self, DbConn};

use super::{DEFAULT_PORT, TestDatabase};

pub struct TcpProxy {
    port: u16,
    cut: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
}

impl TcpProxy {
    /// Listens on a free local port and forwards every connection to `target`. It runs
    /// on a thread of its own: the tests connect through it from blocking code too.
    pub fn start(target: String) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("cannot bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("cannot make the proxy's socket non-blocking");
        let port = listener.local_addr().expect("no local address").port();
        let cut = Arc::new(AtomicBool::new(false));
        let (cuts, _) = watch::channel(0);
        let proxy = Self { port, cut, cuts };
        let (cut, cuts) = (Arc::clone(&proxy.cut), proxy.cuts.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot start the proxy's runtime");
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("cannot listen");
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        // Dropped at once: the server "closed the connection".
                        continue;
                    }
                    let target = target.clone();
                    let mut cut_off = cuts.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(&target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut_off.changed() => {}
                        }
                    });
                }
            })
        });
        proxy
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Ends every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// Lets connections through again.
    pub fn mend(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Cuts the app off its database server and lets it back, with a proxy in between.
pub struct Outage {
    proxy: TcpProxy,
}

impl Outage {
    /// Reads fail during an outage too (the session of a signed-in visitor).
    pub const READS_FAIL: bool = true;

    /// Sends `database`'s connections through a proxy that can cut them.
    pub fn around(database: &mut TestDatabase) -> Self {
        let mut url = reqwest::Url::parse(&database.url).expect("the database URL is not a URL");
        let host = url.host_str().expect("the database URL has no host");
        let target = format!("{host}:{}", url.port().unwrap_or(DEFAULT_PORT));
        let proxy = TcpProxy::start(target);
        url.set_port(Some(proxy.port()))
            .expect("cannot set the port");
        database.url = url.to_string();
        Self { proxy }
    }

    /// The server is gone: open connections break, new ones are refused.
    pub fn begin(&self) {
        self.proxy.cut();
    }

    pub fn end(&self) {
        self.proxy.mend();
    }
}

/// Another client's transaction holding a user's row, until dropped.
pub struct RowLock {
    holder: DbConn,
}

impl RowLock {
    pub fn on_user(url: &str, email: &str) -> Self {
        let mut holder = db::establish(url).expect("cannot connect to the test database");
        holder
            .begin_test_transaction()
            .expect("cannot start a transaction");
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .for_update()
            .load::<i64>(&mut holder)
            .expect("cannot lock the row");
        Self { holder }
    }

    /// Holds the outbox row of the message to `recipient`, as a worker claiming it does.
    pub fn on_outbox_message(url: &str, recipient: &str) -> Self {
        let mut holder = db::establish(url).expect("cannot connect to the test database");
        holder
            .begin_test_transaction()
            .expect("cannot start a transaction");
        // By its key: a locking search by recipient would lock every row InnoDB reads.
        let id: i64 = outbox_messages::table
            .filter(outbox_messages::recipient.eq(recipient))
            .select(outbox_messages::id)
            .first(&mut holder)
            .expect("no such message");
        outbox_messages::table
            .find(id)
            .select(outbox_messages::id)
            .for_update()
            .load::<i64>(&mut holder)
            .expect("cannot lock the row");
        Self { holder }
    }

    /// Lets go at once; dropping the lock leaves the server to notice the connection
    /// is gone.
    pub fn release(mut self) {
        use diesel::connection::SimpleConnection;
        self.holder
            .batch_execute("ROLLBACK")
            .expect("cannot end the transaction");
    }
}

/// What the server's row locks give the outbox, as tests for `tests/api/mail.rs` to
/// expand (the timing tests share this file, not these tests).
macro_rules! outbox_row_lock_tests {
    () => {
        #[test]
        fn a_claim_passes_over_a_message_another_worker_is_claiming_instead_of_waiting() {
            use {{crate_name}}::db;
            use {{crate_name}}::mail::outbox::{claim_next, enqueue};

            let database = $crate::backend::TestDatabase::create();
            let settings = $crate::helpers::test_settings(&database.url, &[]);
            db::migrate(&settings.database).expect("migrations failed");
            // A pooled connection: it has the statement and lock timeouts the app's have.
            let mut conn = db::build_pool(&settings.database)
                .get()
                .expect("cannot connect to the test database");
            for to in ["first@example.com", "second@example.com"] {
                let email = $crate::mail::plain_email(to);
                enqueue(&mut conn, None, &email, $crate::mail::T0).unwrap();
            }

            let held =
                $crate::backend::RowLock::on_outbox_message(&database.url, "first@example.com");
            let claimed = claim_next(&mut conn, $crate::mail::T0).expect("the claim failed");
            assert_eq!(
                claimed.map(|message| message.recipient).as_deref(),
                Some("second@example.com")
            );
            held.release();

            let claimed = claim_next(&mut conn, $crate::mail::T0).expect("the claim failed");
            assert_eq!(
                claimed.map(|message| message.recipient).as_deref(),
                Some("first@example.com")
            );
        }
    };
}
pub(crate) use outbox_row_lock_tests;
