//! Builds the HTTP server: shared state, middleware and routes.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use actix_identity::IdentityMiddleware;
use actix_identity::config::LogoutBehavior;
use actix_session::SessionMiddleware;
use actix_session::config::PersistentSession;
use actix_web::cookie::SameSite;
use actix_web::dev::Server;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, guard, web};
use actix_web_flash_messages::FlashMessagesFramework;
use anyhow::Context as _;
use tera::Context;
use tracing_actix_web::TracingLogger;

use crate::accounts::hashing::Hashing;
use crate::accounts::login::DummyHash;
use crate::accounts::passkeys::Passkeys;
use crate::assets::Assets;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::db;
use crate::jobs::Jobs;
use crate::keys::Keys;
use crate::mail::{Mailer, Site};
use crate::sessions::DbSessionStore;
use crate::templates::{self, Templates};
use crate::web::cookies::CookieNames;
use crate::web::flash::SessionFlashStore;
use crate::web::middleware::concurrency::{self, InFlight};
use crate::web::middleware::request_log::RequestSpan;
use crate::web::middleware::security_headers::security_headers;
use crate::web::middleware::{csrf, methods, rate_limit, session_cookie};
use crate::web::state::{AppState, State};
use crate::web::{self as handlers, MAX_FORM_BYTES, assets, error, paths};

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    jobs: Jobs,
    state: State,
}

impl Application {
    /// Binds `APP_HOST:APP_PORT` (port 0 picks a free port) and prepares the server.
    /// The database is not contacted here: run `db::migrate` first.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Like [`Application::build`], with the clock every timestamp comes from.
    pub async fn build_with_clock(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let address = format!("{}:{}", settings.host, settings.port);
        let listener =
            TcpListener::bind(&address).with_context(|| format!("cannot listen on {address}"))?;
        let port = listener.local_addr()?.port();

        let mut globals = Context::new();
        globals.insert("app_name", &settings.brand.name);
        globals.insert("tagline", &settings.brand.tagline);
        let reload = settings.reload_templates();
        // In development a rebuilt stylesheet should show at the next request.
        let assets = if reload {
            Assets::live(paths::STATIC)
        } else {
            Assets::fingerprinted(paths::STATIC)
        };
        let templates = Templates::new(
            || templates::load(|name| name.ends_with(".html")),
            reload,
            globals,
        )
        .context("cannot load the page templates under templates/")?
        .with_function("asset", assets.clone());
        let assets = web::Data::new(assets);
        let templates = web::Data::new(templates);
        let pool = db::build_pool(&settings.database);
        let cost = settings.bcrypt_cost;
        let started = Instant::now();
        let dummy_hash = tokio::task::spawn_blocking(move || DummyHash::new(cost)).await??;
        let hashing = Hashing::new(cost, settings.hashing, started.elapsed());
        let session_store =
            DbSessionStore::new(pool.clone(), Arc::clone(&clock), settings.sessions);
        let auth_limit = rate_limit::auth_limit(settings.rate_limits, &settings.trusted_proxies);
        let https = settings.https();
        let state = State::new(AppState {
            keys: Keys::derive(&settings.session_secret),
            cookie_names: CookieNames::new(https),
            mailer: Mailer::new(
                Site {
                    app_name: &settings.brand.name,
                    base_url: &settings.base_url,
                },
                settings.accounts.code_lifetime,
                settings.accounts.reset_lifetime,
                reload,
            )?,
            passkeys: Passkeys::new(&settings.base_url, &settings.brand.name)?,
            settings,
            pool,
            clock,
            dummy_hash,
            hashing,
            stopping: AtomicBool::new(false),
            in_flight: InFlight::default(),
        });
        // Last: nothing after this may fail and leave the jobs running.
        let limiter = auth_limit.limiter();
        let settings = &state.settings;
        let jobs = Jobs::start(
            &state.pool,
            &state.clock,
            &settings.mail,
            settings.retention,
            move || {
                limiter.retain_recent();
            },
        )?;

        let shutdown = state.settings.shutdown;
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let session =
                SessionMiddleware::builder(session_store.clone(), state.keys.cookies.clone())
                    .cookie_name(state.cookie_names.session.clone())
                    .cookie_secure(state.cookie_names.secure)
                    .cookie_same_site(SameSite::Lax)
                    .cookie_http_only(true)
                    .session_lifecycle(
                        PersistentSession::default().session_ttl(session_store.cookie_max_age()),
                    )
                    .build();
            let flash = FlashMessagesFramework::builder(SessionFlashStore).build();
            // Middleware runs outermost first: the last `wrap` sees a request first.
            // Static files get only the outer layers (headers, log, error pages): no
            // session, identity or CSRF, so no database work and no cookie.
            App::new()
                .app_data(state.clone())
                .app_data(templates.clone())
                .app_data(web::FormConfig::default().limit(MAX_FORM_BYTES))
                .service(
                    web::scope(paths::STATIC).app_data(assets.clone()).route(
                        "/{path:.*}",
                        web::route()
                            .guard(guard::Any(guard::Get()).or(guard::Head()))
                            .to(assets::serve),
                    ),
                )
                .service(
                    // Every other path, unknown ones (the 404 page) included: a request
                    // has its session loaded before the CSRF check that needs it.
                    web::scope("")
                        .wrap(DefaultHeaders::new().add((CACHE_CONTROL, "no-store")))
                        .configure(|cfg| handlers::routes(cfg, &auth_limit))
                        .default_service(web::to(handlers::not_found))
                        .wrap(from_fn(csrf::protect))
                        .wrap(from_fn(error::note_visitor))
                        // `web::auth::sign_out` renews the session itself, to keep its message.
                        .wrap(
                            IdentityMiddleware::builder()
                                .logout_behavior(LogoutBehavior::DeleteIdentityKeys)
                                .build(),
                        )
                        .wrap(from_fn(session_cookie::note_remembered))
                        .wrap(flash)
                        .wrap(from_fn(error::refuse_unreadable_session))
                        .wrap(session)
                        .wrap(from_fn(session_cookie::set_lifetime)),
                )
                .wrap(from_fn(methods::head_as_get))
                .wrap(from_fn(methods::refuse_trace))
                .wrap(from_fn(concurrency::cap_per_client))
                .wrap(ErrorHandlers::new().default_handler(error::render_error_page))
                .wrap(TracingLogger::<RequestSpan>::new())
                // Outermost, so no response leaves without them.
                .wrap(security_headers(https))
        })
        .listen(listener)?
        // The notice comes first, then the drain: together, the whole timeout.
        .shutdown_timeout((shutdown.timeout - shutdown.notice).as_secs())
        // Signals are handled in `run_until_stopped`, so Ctrl-C is graceful too.
        .disable_signals()
        .run();

        Ok(Self {
            port,
            server,
            jobs,
            state: app_state,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` completes, then stops within `SHUTDOWN_TIMEOUT_SECONDS`:
    /// `/readyz` fails at once while pages are still served for the notice, then
    /// in-flight requests finish; the mail worker stops meanwhile, after the message it
    /// is sending (cut off at the timeout: its lease runs out and it goes again).
    /// `main` passes [`shutdown_signal`]; tests pass their own trigger.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            server,
            jobs,
            state,
            ..
        } = self;
        let handle = server.handle();
        let settings = state.settings.shutdown;
        let signalled = state.clone();
        let stopper = tokio::spawn(async move {
            shutdown.await;
            state.stopping.store(true, Ordering::Relaxed);
            tracing::info!(
                notice_seconds = settings.notice.as_secs(),
                "shutting down: /readyz answers 503, then in-flight requests finish"
            );
            let http = async {
                tokio::time::sleep(settings.notice).await;
                handle.stop(true).await;
            };
            let mail = tokio::time::timeout(settings.timeout, jobs.stop());
            if tokio::join!(http, mail).1.is_err() {
                tracing::warn!(
                    "the mail worker was still sending at the shutdown timeout; that message \
                     goes again once its lease runs out"
                );
            }
        });
        let served = server.await;
        // Stopped by the signal: wait for the mail worker. Stopped by a failure: no
        // signal will come, and ending the runtime ends the jobs.
        if signalled.stopping.load(Ordering::Relaxed) {
            let _ = stopper.await;
        } else {
            stopper.abort();
        }
        served
    }
}

/// Completes on SIGTERM (how orchestrators stop a process) or Ctrl-C.
#[cfg(unix)]
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(terminate) => terminate,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
