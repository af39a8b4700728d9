//! How fast the pages are, as visitors feel it. Starts the app (this release build)
//! and, beside it, a bare actix-web server answering a 4 KB page; loads each with `wrk`
//! and prints requests per second and p99 latency, each as a share of the bare
//! server's, measured in the same run. Then a login storm: 64 browsers signing in at
//! once, again and again, with `/healthz` timed throughout; and the app's memory.
//!
//! `BENCH_DATABASE_URL=<url> cargo bench --bench pages` migrates and seeds the database
//! at that URL (`cargo run -- seed`'s demo accounts): never point it at data you want
//! to keep. `wrk` must be on the PATH (`apt install wrk`, `brew install wrk`).
//! `BENCH_SECONDS` sets how long each measure runs (default 5).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::{Context, bail};
use reqwest::cookie::{CookieStore, Jar};

use {{crate_name}}::accounts::password::hash_password;
use {{crate_name}}::admin::seed::{ADMIN_EMAIL, PASSWORD};

const APP: &str = env!("CARGO_BIN_EXE_demo-app");
const BCRYPT_COST: u32 = 12;
const STORM_BROWSERS: usize = 64;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(database_url) = std::env::var("BENCH_DATABASE_URL") else {
        bail!("set BENCH_DATABASE_URL to a database the benchmark may fill");
    };
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    Command::new("wrk")
        .arg("--version")
        .output()
        .context("wrk is not on the PATH: apt install wrk, or brew install wrk")?;

    let bare = bare_server()?;
    let app = AppProcess::start(&database_url)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    let idle_rss = rss_mb(app.child.id());

    let (_, signed_in) = sign_in(&base, ADMIN_EMAIL, PASSWORD).await?;
    let login_page = reqwest::get(format!("{base}/login")).await?.text().await?;
    let stylesheet = regex::Regex::new(r"/static/css/app\.[0-9a-f]{16}\.css")?
        .find(&login_page)
        .context("the login page links no fingerprinted stylesheet")?
        .as_str()
        .to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for path in ["/dashboard", "/admin"] {
        let page = client
            .get(format!("{base}{path}"))
            .header("cookie", &signed_in)
            .send()
            .await?;
        if page.status() != 200 {
            bail!("{path} answered {} to the signed-in cookie", page.status());
        }
    }

    println!(
        "wrk -t1 -c64, {seconds} s each; {} cores; the app as built by `cargo bench`",
        cores()
    );
    println!(
        "{:<42} {:>9} {:>9} {:>8}",
        "request", "req/s", "p99", "vs bare"
    );
    let baseline = wrk(&format!("http://127.0.0.1:{bare}/"), &[], seconds)?;
    let with_cookie = [format!("Cookie: {signed_in}")];
    let asset_headers = [
        format!("Cookie: {signed_in}"),
        "Accept-Encoding: gzip, deflate, br".to_owned(),
    ];
    let cases: [(&str, String, &[String]); 4] = [
        ("GET /login, anonymous", format!("{base}/login"), &[]),
        (
            "GET /dashboard, signed in",
            format!("{base}/dashboard"),
            &with_cookie,
        ),
        (
            "GET /admin, administrator",
            format!("{base}/admin"),
            &with_cookie,
        ),
        (
            "fingerprinted CSS, signed-in cookie",
            format!("{base}{stylesheet}"),
            &asset_headers,
        ),
    ];
    print_row("bare actix-web, 4 KB page", baseline, baseline);
    for (name, url, headers) in cases {
        print_row(name, wrk(&url, headers, seconds)?, baseline);
    }

    storm(&base, seconds * 2).await?;
    println!(
        "app memory (RSS): {idle_rss} idle, {} after the storm",
        rss_mb(app.child.id())
    );
    Ok(())
}

/// 64 browsers signing in with the right password, each again as soon as it is
/// done (or after `Retry-After`), while one more asks `/healthz` every 10 ms.
async fn storm(base: &str, seconds: u64) -> anyhow::Result<()> {
    let threads = cores().saturating_sub(1).max(1);
    let hash_time = {
        let started = Instant::now();
        for _ in 0..3 {
            hash_password(PASSWORD, BCRYPT_COST)?;
        }
        started.elapsed() / 3
    };
    let bound = threads as f64 / hash_time.as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let signed_in = Arc::new(AtomicUsize::new(0));
    let turned_away = Arc::new(AtomicUsize::new(0));

    let mut browsers = Vec::new();
    for _ in 0..STORM_BROWSERS {
        let (base, signed_in, turned_away) = (
            base.to_owned(),
            Arc::clone(&signed_in),
            Arc::clone(&turned_away),
        );
        browsers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match sign_in(&base, ADMIN_EMAIL, PASSWORD).await {
                    Ok((Some(retry_after), _)) => {
                        turned_away.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(retry_after).await;
                    }
                    // Those that finish after the end are not counted: the rate
                    // is of the storm's own seconds.
                    Ok((None, _)) if Instant::now() < deadline => {
                        signed_in.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok((None, _)) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(())
        }));
    }
    let probe = reqwest::Client::new();
    let mut health = Vec::new();
    while Instant::now() < deadline {
        let started = Instant::now();
        let answer = probe.get(format!("{base}/healthz")).send().await?;
        if answer.status() != 200 {
            bail!("/healthz answered {} during the storm", answer.status());
        }
        health.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for browser in browsers {
        browser.await??;
    }

    let rate = signed_in.load(Ordering::Relaxed) as f64 / seconds as f64;
    health.sort();
    let at = |share: f64| health[((health.len() - 1) as f64 * share) as usize];
    println!(
        "login storm, {STORM_BROWSERS} browsers, {seconds} s, BCRYPT_COST={BCRYPT_COST}: \
         {rate:.1} sign-ins/s = {:.0} % of the bound ({threads} thread(s) / {:.0} ms a hash \
         = {bound:.1}/s); told to retry {} times",
        100.0 * rate / bound,
        hash_time.as_secs_f64() * 1000.0,
        turned_away.load(Ordering::Relaxed)
    );
    println!(
        "/healthz during the storm: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} probes)",
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        at(1.0).as_secs_f64() * 1000.0,
        health.len()
    );
    Ok(())
}

/// Signs in as a new browser would. `Some(wait)` when told to come back later; else
/// the session cookie.
async fn sign_in(
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<(Option<Duration>, String)> {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(Arc::clone(&jar))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let token = regex::Regex::new(r#"name="csrf_token" value="([^"]+)""#)?
        .captures(&page)
        .context("no CSRF token on the login page")?[1]
        .to_owned();
    let answer = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await?;
    match answer.status().as_u16() {
        303 => {}
        503 => {
            let seconds = answer
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok()?.parse().ok())
                .unwrap_or(1);
            return Ok((Some(Duration::from_secs(seconds)), String::new()));
        }
        status => bail!("signing in answered {status}"),
    }
    let url = reqwest::Url::parse(base)?;
    let cookies = jar
        .cookies(&url)
        .context("no session cookie after signing in")?;
    Ok((None, cookies.to_str()?.to_owned()))
}

/// The app, serving on a port of its own, stopped when dropped.
struct AppProcess {
    child: Child,
    port: u16,
}

impl AppProcess {
    fn start(database_url: &str) -> anyhow::Result<Self> {
        let env = [
            ("APP_ENV", "development"),
            ("DATABASE_URL", database_url),
            ("BCRYPT_COST", "12"),
            ("MAIL_TRANSPORT", "log"),
            // The storm is one client address; the limits are not what is measured.
            ("RATE_LIMIT_AUTH_BURST", "100000"),
            ("RATE_LIMIT_AUTH_WINDOW_LIMIT", "100000"),
            ("MAX_REQUESTS_PER_CLIENT", "100000"),
        ];
        for command in ["migrate", "seed"] {
            let done = Command::new(APP)
                .arg(command)
                .envs(env)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if !done.success() {
                bail!("`{command}` failed");
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(APP)
            .arg("serve")
            .envs(env)
            .env("APP_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let process = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("the app did not start listening on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(process)
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bare actix-web server answering a 4 KB HTML page, on a thread of its own; its port.
fn bare_server() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let page = format!(
        "<!doctype html><html><body>{}</body></html>",
        "<p>lorem ipsum dolor sit amet</p>".repeat(120)
    );
    let server = HttpServer::new(move || {
        let page = page.clone();
        App::new().route(
            "/",
            web::get().to(move || {
                let page = page.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(page)
                }
            }),
        )
    })
    .listen(listener)?
    .run();
    std::thread::spawn(move || actix_web::rt::System::new().block_on(server));
    Ok(port)
}

fn print_row(name: &str, load: Load, baseline: Load) {
    println!(
        "{name:<42} {:>9.0} {:>6.1} ms {:>7.0} %",
        load.requests_per_second,
        load.p99_ms,
        100.0 * load.requests_per_second / baseline.requests_per_second
    );
}

#[derive(Clone, Copy)]
struct Load {
    requests_per_second: f64,
    p99_ms: f64,
}

/// `wrk -t1 -c64` against `url` for `seconds`.
fn wrk(url: &str, headers: &[String], seconds: u64) -> anyhow::Result<Load> {
    let mut command = Command::new("wrk");
    command
        .args(["-t1", "-c64", "--latency", "-d"])
        .arg(format!("{seconds}s"));
    for header in headers {
        command.arg("-H").arg(header);
    }
    let output = command.arg(url).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx or 3xx responses") {
        bail!("{url} answered errors under load:\n{text}");
    }
    let field = |label: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .map(str::trim)
            .with_context(|| format!("no {label:?} in wrk's output:\n{text}"))
    };
    Ok(Load {
        requests_per_second: field("Requests/sec:")?.parse()?,
        p99_ms: milliseconds(field("99%")?)?,
    })
}

/// `1.5ms`, `950.00us` or `1.2s` in milliseconds.
fn milliseconds(text: &str) -> anyhow::Result<f64> {
    for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] {
        if let Some(number) = text.strip_suffix(unit) {
            return Ok(number.parse::<f64>()? * scale);
        }
    }
    bail!("unreadable latency {text:?}")
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Resident memory of process `pid`, from /proc (Linux only).
fn rss_mb(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} MB", kb / 1024.0))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
