//! What every handler shares, in one extractor: handlers take `(state, page, form)`
//! instead of a long list of `web::Data` arguments.

use std::future::{Ready, ready};
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::NaiveDateTime;

use crate::accounts::hashing::Hashing;
use crate::accounts::login::DummyHash;
use crate::accounts::passkeys::Passkeys;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::{self, DbConn, DbPool};
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::web::cookies::CookieNames;
use crate::web::error::AppError;
use crate::web::middleware::concurrency::InFlight;

/// The application's shared state, built once at start-up. (The page templates are
/// registered on their own: `Page` and the error pages take them from there.)
pub struct AppState {
    pub settings: Settings,
    pub pool: DbPool,
    pub clock: SharedClock,
    pub keys: Keys,
    pub cookie_names: CookieNames,
    pub mailer: Mailer,
    /// The site as a WebAuthn relying party.
    pub passkeys: Passkeys,
    pub dummy_hash: DummyHash,
    /// Every password hash and check goes through it.
    pub hashing: Hashing,
    /// Set when the app has been told to stop: `/readyz` answers 503 from then on.
    pub stopping: AtomicBool,
    /// Each client's requests in progress, for `MAX_REQUESTS_PER_CLIENT`.
    pub in_flight: InFlight,
}

/// The extractor: a cheap handle on [`AppState`].
#[derive(Clone)]
pub struct State(Arc<AppState>);

impl State {
    pub fn new(state: AppState) -> Self {
        Self(Arc::new(state))
    }

    /// The current time, from the application's clock.
    pub fn now(&self) -> NaiveDateTime {
        self.clock.now()
    }

    /// Runs `work` with a pooled connection on the blocking thread pool, so a slow query
    /// never stalls the async workers; `work` gets the state as well, so nothing has to
    /// be cloned to move it there.
    pub async fn db<T, E, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn, &AppState) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + Send + 'static,
    {
        let state = Arc::clone(&self.0);
        let done = db::run_blocking(&self.pool, move |conn| Ok(work(conn, &state))).await?;
        done.map_err(Into::into)
    }

    /// The state as registered with the app, for middleware that has no extractor.
    pub fn of(req: &HttpRequest) -> Result<Self, AppError> {
        req.app_data::<Self>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))
    }
}

impl Deref for State {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

impl FromRequest for State {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::of(req))
    }
}
