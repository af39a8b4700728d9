//! Probes for load balancers and orchestrators.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header::{CacheControl, CacheDirective};

use crate::db;
use crate::web::state::State;

/// How long readiness waits for the database before answering 503.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: the process is up and serving. Never touches the database, so a
/// database outage does not get healthy instances restarted.
pub async fn live() -> HttpResponse {
    probe_response(HttpResponse::Ok(), "ok")
}

/// Readiness: the database answers, so requests can be served; and the app is not
/// stopping (see `ShutdownSettings`).
pub async fn ready(state: State) -> HttpResponse {
    if state.stopping.load(Ordering::Relaxed) {
        return probe_response(HttpResponse::ServiceUnavailable(), "shutting down");
    }
    match db::check_ready(&state.pool, READY_TIMEOUT).await {
        Ok(()) => probe_response(HttpResponse::Ok(), "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            probe_response(HttpResponse::ServiceUnavailable(), "database unavailable")
        }
    }
}

fn probe_response(mut builder: actix_web::HttpResponseBuilder, body: &'static str) -> HttpResponse {
    builder
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .content_type("text/plain; charset=utf-8")
        .body(body)
}
