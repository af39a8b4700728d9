//! Builds the HTTP server: shared state, middleware and routes.

use std::net::TcpListener;
use std::time::Duration;

use actix_files::Files;
use actix_web::dev::Server;
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use tera::Tera;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db;
use crate::errors;
use crate::web as handlers;

/// How long in-flight requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `APP_HOST:APP_PORT` (port 0 picks a free port) and prepares the server.
    /// The database is not contacted here: run `db::migrate` first.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let address = format!("{}:{}", settings.host, settings.port);
        let listener =
            TcpListener::bind(&address).with_context(|| format!("cannot listen on {address}"))?;
        let port = listener.local_addr()?.port();

        let templates = Tera::new("templates/**/*.html")
            .context("cannot load the page templates under templates/")?;
        let templates = web::Data::new(templates);
        let pool = web::Data::new(db::build_pool(&settings.database));
        let settings = web::Data::new(settings);

        let server = HttpServer::new(move || {
            App::new()
                .wrap(ErrorHandlers::new().default_handler(errors::render_error_page))
                .wrap(TracingLogger::default())
                .app_data(templates.clone())
                .app_data(pool.clone())
                .app_data(settings.clone())
                .configure(handlers::routes)
                .service(Files::new("/static", "static"))
                .default_service(web::to(handlers::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        // Signals are handled in `run_until_stopped`, so Ctrl-C is graceful too.
        .disable_signals()
        .run();

        Ok(Self { port, server })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    /// `main` passes [`shutdown_signal`]; tests pass their own trigger.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            handle.stop(true).await;
        });
        self.server.await
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
