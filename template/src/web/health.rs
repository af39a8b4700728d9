//! Probes for load balancers and orchestrators, and the `healthcheck` command that
//! asks them from inside a container.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header::{CacheControl, CacheDirective};

use crate::db;
use crate::web::paths;
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

/// Asks the app listening on `host`:`port` (`APP_HOST`, `APP_PORT`) for `/readyz`:
/// `Ok` when it answers 200, else what went wrong. The `healthcheck` command, for a
/// container's HEALTHCHECK: a distroless image has no curl. An app listening on every
/// address (`0.0.0.0`, `::`) is asked on the loopback one.
pub fn ask_ready(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    let ip = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Ok(ip) => ip,
        Err(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let address = SocketAddr::new(ip, port);
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|error| format!("cannot connect to {address}: {error}"))?;
    let exchange = |stream: &mut TcpStream| -> std::io::Result<String> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        write!(
            stream,
            "GET {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
            paths::READYZ
        )?;
        let mut response = String::new();
        stream.take(4096).read_to_string(&mut response)?;
        Ok(response)
    };
    let response = exchange(&mut stream)
        .map_err(|error| format!("no answer from {address}{}: {error}", paths::READYZ))?;
    let status = response.lines().next().unwrap_or_default();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    if status.split(' ').nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!(
            "{address}{} answered {status:?}: {}",
            paths::READYZ,
            body.trim()
        ))
    }
}
