use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use {{crate_name}}::accounts::password::verify_password;
use {{crate_name}}::models::user;

use crate::helpers::{AppProcess, TestDatabase, app_binary, spawn_app};

const STRONG_PASSWORD: &str = "Correct-Horse-Battery-9";

/// Runs the app's binary with `args`, the given database and `stdin` piped in.
fn run(args: &[&str], database_url: &str, stdin: &str) -> Output {
    // Away from the project folder, so a developer's .env cannot change the outcome.
    let workdir = TempDir::new().unwrap();
    let mut child = Command::new(app_binary())
        .args(args)
        .current_dir(workdir.path())
        .env("APP_ENV", "test")
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the app binary");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn seed_fills_a_development_database_once_with_an_admin_who_can_sign_in() {
    let app = spawn_app().await;

    let first = run(&["seed"], &app.database.url, "");
    let second = run(&["seed"], &app.database.url, "");

    let said = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{said}");
    assert!(said.contains("Added 40 demo accounts"), "{said}");
    assert!(String::from_utf8_lossy(&second.stdout).contains("there already"));
    let login = app.login("admin@example.com", "Demo-Password-2026").await;
    assert_eq!(login.headers()["location"], "/admin");
    let directory = app.get("/admin/users").await.text().await.unwrap();
    assert!(directory.contains("41 users"), "{directory}");
    let dashboard = app.get("/admin").await.text().await.unwrap();
    assert!(
        dashboard.contains(r#"data-stat="total_users">41<"#),
        "{dashboard}"
    );
    let weeks_with_signups = dashboard
        .split(r#"data-signups=""#)
        .skip(1)
        .filter(|rest| !rest.starts_with("0\""))
        .count();
    assert!(weeks_with_signups >= 6, "{dashboard}");
    let audit = app.get("/admin/audit").await.text().await.unwrap();
    assert!(
        audit.contains("admin.disable") && audit.contains("login.failure"),
        "{audit}"
    );
}

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin_and_creates_a_verified_admin() {
    let app = spawn_app().await;

    let output = run(
        &["create-admin", "--email", " Ada@Example.com"],
        &app.database.url,
        &format!("{STRONG_PASSWORD}\n"),
    );

    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Created administrator ada@example.com"),
        "{stdout}"
    );
    let mut conn = app.pool.get().unwrap();
    let admin = user::get_user_by_email(&mut conn, "ada@example.com")
        .unwrap()
        .expect("no admin was created");
    assert!(admin.is_admin && admin.is_active);
    assert!(admin.email_verified_at.is_some());
    assert_eq!(admin.name, "ada");
    assert!(verify_password(STRONG_PASSWORD, &admin.password_hash));
}

#[tokio::test]
async fn create_admin_lists_every_broken_password_rule_and_creates_nothing() {
    let app = spawn_app().await;

    let output = run(
        &["create-admin", "--email", "ada@example.com"],
        &app.database.url,
        "short\n",
    );

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for rule in [
        "Use at least 12 characters.",
        "Include an upper-case letter.",
        "Include a digit.",
    ] {
        assert!(stderr.contains(rule), "missing {rule:?} in {stderr}");
    }
    let mut conn = app.pool.get().unwrap();
    assert_eq!(user::count_active_admins(&mut conn).unwrap(), 0);
}

#[tokio::test]
async fn create_admin_holds_the_name_to_the_sign_up_rules_and_creates_nothing() {
    let app = spawn_app().await;
    let too_long = "A".repeat(101);

    let refused: Vec<Output> = [too_long.as_str(), "  ", "Visit www.example.com"]
        .iter()
        .map(|name| {
            run(
                &["create-admin", "--email", "ada@example.com", "--name", name],
                &app.database.url,
                STRONG_PASSWORD,
            )
        })
        .collect();

    for output in &refused {
        assert!(!output.status.success(), "{output:?}");
    }
    let stderr: Vec<String> = refused
        .iter()
        .map(|output| String::from_utf8_lossy(&output.stderr).into_owned())
        .collect();
    assert!(
        stderr[0].contains("Use at most 100 characters."),
        "{stderr:?}"
    );
    assert!(stderr[1].contains("Enter your name."), "{stderr:?}");
    assert!(stderr[2].contains("Leave web addresses out"), "{stderr:?}");
    let mut conn = app.pool.get().unwrap();
    assert_eq!(user::count_active_admins(&mut conn).unwrap(), 0);
}

#[tokio::test]
async fn create_admin_refuses_an_email_that_is_taken() {
    let app = spawn_app().await;
    let first = run(
        &["create-admin", "--email", "ada@example.com"],
        &app.database.url,
        STRONG_PASSWORD,
    );
    assert!(first.status.success(), "{first:?}");

    let second = run(
        &["create-admin", "--email", "ADA@example.com"],
        &app.database.url,
        STRONG_PASSWORD,
    );

    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already exists"),
        "{second:?}"
    );
}

#[tokio::test]
async fn migrate_fails_with_a_clear_message_when_the_database_is_unreachable() {
    let database = TestDatabase::unreachable();

    let output = run(&["migrate"], &database.url, "");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: cannot connect to the database at DATABASE_URL"),
        "{stderr}"
    );
}

#[tokio::test]
async fn production_refuses_to_start_with_one_line_per_problem() {
    let workdir = TempDir::new().unwrap();
    let output = Command::new(app_binary())
        .current_dir(workdir.path())
        .env("APP_ENV", "production")
        .env("APP_BASE_URL", "http://example.com")
        .env("SESSION_SECRET", "too-short")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for variable in [
        "APP_BASE_URL",
        "SESSION_SECRET",
        "DATABASE_URL",
        "MAIL_FROM",
    ] {
        assert!(
            stderr
                .lines()
                .any(|line| line.starts_with(&format!("  - {variable}"))),
            "no line for {variable} in {stderr}"
        );
    }
}

/// The app in development, with a 3-second notice on SIGTERM: time to see it draining.
fn start_with_a_shutdown_notice(database: &TestDatabase) -> AppProcess {
    AppProcess::start(&[
        ("APP_ENV", "development"),
        ("DATABASE_URL", &database.url),
        ("SHUTDOWN_NOTICE_SECONDS", "3"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "6"),
    ])
}

#[tokio::test]
async fn on_sigterm_readyz_fails_first_while_pages_are_served_then_the_app_stops() {
    let database = TestDatabase::create();
    let mut app = start_with_a_shutdown_notice(&database);
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", app.address)).send();
    assert_eq!(get("/readyz").await.unwrap().status(), 200);

    app.send_sigterm();
    let mut readyz = get("/readyz").await.unwrap();
    for _ in 0..50 {
        if readyz.status() == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        readyz = get("/readyz").await.unwrap();
    }

    assert_eq!(readyz.status(), 503);
    assert_eq!(readyz.text().await.unwrap(), "shutting down");
    // Out of rotation, not out of service: the notice is not over yet.
    assert_eq!(get("/login").await.unwrap().status(), 200);
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let status = app.wait(Duration::from_secs(10));
    assert!(status.success(), "exited with {status}");
}

/// `healthcheck` with the environment of the app on `address`, as a container runs
/// its HEALTHCHECK.
fn healthcheck(address: &str, database_url: &str) -> Output {
    let port = address.rsplit(':').next().expect("the address has a port");
    let workdir = TempDir::new().unwrap();
    Command::new(app_binary())
        .arg("healthcheck")
        .current_dir(workdir.path())
        .env("APP_ENV", "development")
        .env("APP_PORT", port)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("cannot run the app binary")
}

#[tokio::test]
async fn healthcheck_passes_while_the_app_is_ready_and_fails_with_the_reason_when_it_is_not() {
    let database = TestDatabase::create();
    let mut app = start_with_a_shutdown_notice(&database);

    let ready = healthcheck(&app.address, &database.url);
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );

    app.send_sigterm();
    let mut draining = healthcheck(&app.address, &database.url);
    for _ in 0..50 {
        if !draining.status.success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        draining = healthcheck(&app.address, &database.url);
    }
    assert_eq!(draining.status.code(), Some(1));
    let reason = String::from_utf8_lossy(&draining.stderr);
    assert!(
        reason.contains("503") && reason.contains("shutting down"),
        "{reason}"
    );

    assert!(app.wait(Duration::from_secs(10)).success());
    let stopped = healthcheck(&app.address, &database.url);
    assert_eq!(stopped.status.code(), Some(1));
    let reason = String::from_utf8_lossy(&stopped.stderr);
    assert!(reason.contains("cannot connect"), "{reason}");
}

#[tokio::test]
async fn log_format_json_writes_every_line_as_a_json_object_with_the_request_fields() {
    let database = TestDatabase::create();
    let mut app = AppProcess::start(&[
        ("APP_ENV", "development"),
        ("DATABASE_URL", &database.url),
        ("LOG_FORMAT", "json"),
    ]);
    let response = reqwest::get(format!("{}/login", app.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(app.terminate(Duration::from_secs(20)).success());

    let log = app.log();
    let lines: Vec<serde_json::Value> = log
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let request = lines
        .iter()
        .find(|line| line["span"]["route"] == "/login")
        .unwrap_or_else(|| panic!("no line for the request: {log:#?}"));
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["span"]["status"], 200, "{request}");
    assert!(request["span"]["request_id"].is_string(), "{request}");
}

#[tokio::test]
async fn serve_starts_with_development_defaults_and_stops_gracefully_on_sigterm() {
    let database = TestDatabase::create();
    let mut app = AppProcess::start(&[("APP_ENV", "development"), ("DATABASE_URL", &database.url)]);

    let client = reqwest::Client::new();
    for path in ["/", "/login", "/static/css/app.css", "/healthz", "/readyz"] {
        let response = client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }

    let status = app.terminate(Duration::from_secs(20));
    assert!(status.success(), "exited with {status}");
    let log = app.log();
    assert!(
        log.iter().any(|line| line.contains("shutting down")),
        "no graceful shutdown in the log"
    );
    // One line per page; the stylesheet's only at debug level.
    let requests = |route: &str| {
        log.iter()
            .filter(|line| line.contains(&format!("route={route} ")))
            .count()
    };
    assert_eq!(requests("/login"), 1, "{log:#?}");
    // Assets and probes only at debug level: they would bury the pages.
    for quiet in ["/static/{path:.*}", "/healthz", "/readyz"] {
        assert_eq!(requests(quiet), 0, "{quiet}: {log:#?}");
    }
}

#[tokio::test]
async fn migrate_says_what_it_did_and_nothing_about_sessions() {
    let database = TestDatabase::create();

    let output = run(&["migrate"], &database.url, "");

    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("SESSION_SECRET"), "{stderr}");
}
