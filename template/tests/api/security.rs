//! SECURITY.md behaviours that belong to no single feature: the headers on every
//! response, per-IP rate limits, malformed requests and the error pages.
//! SECURITY.md lists, item by item, the tests that show each behaviour.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_query;
use reqwest::Method;

use {{crate_name}}::db::schema::users;

use crate::helpers::{
    AppProcess, PASSWORD, TestApp, TestDatabase, csrf_token_in, spawn_app, spawn_app_with,
    spawn_app_without_database,
};

/// Words that would mean an internal detail reached the page ("sql" catches every
/// database's name and error messages).
const INTERNALS: [&str; 7] = [
    "panicked",
    "backtrace",
    "diesel",
    "sql",
    "src/",
    "Error {",
    "thread '",
];

#[tokio::test]
async fn security_headers_are_on_pages_redirects_static_files_and_errors() {
    let app = spawn_app_with(&[("RATE_LIMIT_AUTH_BURST", "1")]).await;
    let mut responses = vec![
        ("page", app.get("/").await),
        ("redirect", app.get("/dashboard").await),
        ("static file", app.get("/static/css/app.css").await),
        ("404", app.get("/no-such-page").await),
        ("405", request(&app, "TRACE", "/").await),
        (
            "413",
            app.post_form("/signup", &[("name", &"x".repeat(40_000))])
                .await,
        ),
    ];
    app.login("ann@example.com", "wrong").await;
    responses.push(("429", app.login("ann@example.com", "wrong").await));

    for (what, response) in &responses {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
        };
        assert!(header("content-security-policy").is_some(), "{what}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{what}");
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{what}"
        );
        assert!(header("referrer-policy").is_some(), "{what}");
        assert!(header("permissions-policy").is_some(), "{what}");
        assert_eq!(
            header("cross-origin-opener-policy").as_deref(),
            Some("same-origin"),
            "{what}"
        );
        // Over plain http, HSTS would be ignored at best.
        assert_eq!(header("strict-transport-security"), None, "{what}");
    }
    let statuses: Vec<u16> = responses.iter().map(|(_, r)| r.status().as_u16()).collect();
    assert_eq!(statuses, [200, 303, 200, 404, 405, 413, 429]);
}

#[tokio::test]
async fn the_content_security_policy_allows_no_inline_code_plugins_framing_or_foreign_forms() {
    let app = spawn_app().await;

    let response = app.get("/login").await;
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let page = response.text().await.unwrap();

    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|part| part.strip_prefix(name).map(str::trim))
            .unwrap_or_else(|| panic!("no {name} in {policy}"))
            .to_owned()
    };
    assert_eq!(directive("default-src"), "'self'");
    for scripts_or_styles in ["script-src", "style-src"] {
        let allowed = directive(scripts_or_styles);
        assert!(!allowed.contains("unsafe"), "{scripts_or_styles} {allowed}");
    }
    assert_eq!(directive("object-src"), "'none'");
    assert_eq!(directive("base-uri"), "'none'");
    assert_eq!(directive("frame-ancestors"), "'none'");
    assert_eq!(directive("form-action"), "'self'");
    // The policy would block them, so the pages must not need them.
    let inline_script = regex::Regex::new(r"<script(\s[^>]*)?>\s*[^<\s]").unwrap();
    assert!(!inline_script.is_match(&page), "inline script in {page}");
    assert!(!page.contains(" style="), "inline style in {page}");
    assert!(!page.contains("<style"), "style element in {page}");
}

#[tokio::test]
async fn pages_are_never_cached_and_static_files_are_revalidated() {
    let app = spawn_app().await;

    let page = app.get("/login").await;
    let asset = app.get("/static/css/app.css").await;

    assert_eq!(page.headers()["cache-control"], "no-store");
    // Not fingerprinted, so never kept without asking: a deploy must show at once.
    assert_eq!(asset.headers()["cache-control"], "no-cache");
    let etag = asset.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/static/css/app.css"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn behind_https_browsers_are_told_to_insist_on_it() {
    let app = spawn_app_with(&[("APP_BASE_URL", "https://app.example.test")]).await;

    let response = app.get("/").await;

    let hsts = response.headers()["strict-transport-security"]
        .to_str()
        .unwrap();
    let max_age: u64 = hsts
        .split(';')
        .find_map(|part| part.trim().strip_prefix("max-age="))
        .and_then(|age| age.parse().ok())
        .expect("no max-age");
    assert!(max_age >= 365 * 24 * 3600, "{hsts}");
}

#[tokio::test]
async fn repeated_auth_posts_from_one_address_get_the_429_page_with_retry_after() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_AUTH_BURST", "3"),
        ("RATE_LIMIT_AUTH_REFILL_SECONDS", "600"),
    ])
    .await;

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            app.login("ann@example.com", "wrong")
                .await
                .status()
                .as_u16(),
        );
    }
    // The budget is per address, not per form or per browser.
    let other_browser = app.new_browser();
    let limited = other_browser
        .post_form("/forgot-password", &[("email", "ann@example.com")])
        .await;

    assert!(statuses.iter().all(|status| *status != 429), "{statuses:?}");
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    assert_error_page(limited, 429).await;
    // Looking at a form costs nothing.
    assert_eq!(app.get("/login").await.status(), 200);
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_does_not_reset_the_budget() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_AUTH_BURST", "2"),
        ("RATE_LIMIT_AUTH_REFILL_SECONDS", "600"),
    ])
    .await;
    for _ in 0..2 {
        login_from(&app, None).await;
    }

    let spoofed = login_from(&app, Some("198.51.100.23")).await;

    assert_eq!(spoofed, 429);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_a_budget_it_cannot_forge() {
    // The test client plays the proxy: it connects from 127.0.0.1.
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_AUTH_BURST", "2"),
        ("RATE_LIMIT_AUTH_REFILL_SECONDS", "600"),
    ])
    .await;
    for _ in 0..2 {
        login_from(&app, Some("203.0.113.1")).await;
    }

    let same_client = login_from(&app, Some("203.0.113.1")).await;
    // The client wrote the left part itself; the proxy appended what it saw.
    let forged = login_from(&app, Some("192.0.2.99, 203.0.113.1")).await;
    let another_client = login_from(&app, Some("203.0.113.2")).await;

    assert_eq!((same_client, forged), (429, 429));
    assert_ne!(another_client, 429);
}

#[tokio::test]
async fn trace_is_refused_with_the_405_page_everywhere() {
    let app = spawn_app().await;

    for path in ["/", "/login", "/no-such-page"] {
        let response = request(&app, "TRACE", path).await;
        assert_error_page(response, 405).await;
    }
}

#[tokio::test]
async fn bodies_over_the_limit_get_the_413_page_and_change_nothing() {
    let app = spawn_app().await;

    for size in [40_000, 100_000] {
        let name = "x".repeat(size);
        let response = app
            .signup(&name, "ann@example.com", "Correct-Horse-9")
            .await;
        assert_error_page(response, 413).await;
    }

    assert_eq!(user_count(&app), 0);
}

#[tokio::test]
async fn malformed_or_incomplete_forms_get_an_answer_never_a_500() {
    let app = spawn_app().await;
    let token = app.csrf_token().await;
    let overlong_email = format!("{}@example.com", "a".repeat(250));
    let bodies = [
        // Not UTF-8 once decoded.
        format!("csrf_token={token}&name=%FF%FE&email=ann%40example.com&password=x"),
        // Fields missing.
        format!("csrf_token={token}"),
        format!("csrf_token={token}&email=ann%40example.com"),
        // An email longer than any address can be.
        format!(
            "csrf_token={token}&name=Ann&email={}&password=Correct-Horse-9&password_confirmation=Correct-Horse-9",
            overlong_email.replace('@', "%40")
        ),
        // Broken percent-encoding.
        format!("csrf_token={token}&name=%zz%&email=%"),
    ];

    for body in bodies {
        for path in ["/signup", "/login", "/forgot-password"] {
            let response = app
                .client
                .post(app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            // A page saying what is wrong, or the normal answer when nothing is.
            assert!(
                [200, 303, 400, 422].contains(&status),
                "{path} {body}: {status}"
            );
            if status != 303 {
                let page = response.text().await.unwrap();
                assert!(page.contains("<html"), "{path} {body}: {page}");
            }
        }
    }
    assert_eq!(user_count(&app), 0);
}

#[tokio::test]
async fn every_error_page_has_the_layout_a_helpful_line_and_a_way_home() {
    let app = spawn_app_with(&[("RATE_LIMIT_AUTH_BURST", "1")]).await;
    let mut pages = vec![
        // A query string the page cannot take: one value, given twice.
        (400, app.get("/login?next=/a&next=/b").await),
        (
            403,
            app.client
                .post(app.url("/logout"))
                .form(&[("csrf_token", "forged")])
                .send()
                .await
                .unwrap(),
        ),
        (404, app.get("/no-such-page").await),
        // /logout answers POST only.
        (405, app.get("/logout").await),
        (
            413,
            app.post_form("/signup", &[("name", &"x".repeat(40_000))])
                .await,
        ),
    ];
    // This login takes the budget of one. (The 413 takes none: the body is refused
    // while the CSRF check reads it, before the request reaches the limit.)
    app.login("ann@example.com", "wrong").await;
    pages.push((429, app.login("ann@example.com", "wrong").await));

    let broken = spawn_app().await;
    // A table the app needs, gone: the next query that uses it fails.
    {
        let mut conn = broken.pool.get().unwrap();
        sql_query("ALTER TABLE password_reset_tokens RENAME TO password_reset_tokens_gone")
            .execute(&mut conn)
            .unwrap();
    }
    pages.push((
        500,
        broken
            .post_form("/forgot-password", &[("email", "ann@example.com")])
            .await,
    ));

    let without_database = spawn_app_without_database().await;
    pages.push((
        503,
        without_database
            .signup("Ann", "ann@example.com", "Correct-Horse-9")
            .await,
    ));

    for (status, response) in pages {
        assert_error_page(response, status).await;
    }
}

#[tokio::test]
async fn error_pages_keep_the_signed_in_header_and_sign_out_works_from_them() {
    let app = spawn_app().await;
    let anonymous = app.get("/no-such-page").await.text().await.unwrap();
    app.signed_up_user("ann@example.com").await;

    let signed_in = app.get("/no-such-page").await.text().await.unwrap();
    let forbidden = app.get("/admin").await;
    assert_eq!(forbidden.status(), 403);
    let forbidden = forbidden.text().await.unwrap();
    let token = crate::helpers::csrf_token_in(&signed_in).expect("a CSRF token on the page");
    let signed_out = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();

    assert!(anonymous.contains("Sign in"), "{anonymous}");
    assert!(!anonymous.contains("Sign out"), "{anonymous}");
    assert!(signed_in.contains("Sign out"), "{signed_in}");
    assert!(signed_in.contains("ann@example.com"), "{signed_in}");
    assert!(forbidden.contains("Sign out"), "{forbidden}");
    assert_eq!(signed_out.status(), 303);
    assert_eq!(app.get("/dashboard").await.status(), 303);
}

/// The response is the app's page for `status`: in the layout, saying what happened,
/// linking home, revealing nothing of the app's insides, and never cached.
pub async fn assert_error_page(response: reqwest::Response, status: u16) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("<html"), "{status}: {page}");
    assert!(page.contains(r#"class="error-page""#), "{status}: {page}");
    assert!(page.contains(&status.to_string()), "{status}: {page}");
    assert!(
        page.contains(r#"href="/""#),
        "{status}: no way home in {page}"
    );
    for internal in INTERNALS {
        assert!(
            !page.to_lowercase().contains(&internal.to_lowercase()),
            "{status}: {internal:?} in {page}"
        );
    }
}

async fn request(app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    app.client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            app.url(path),
        )
        .send()
        .await
        .unwrap()
}

/// A failed login in a fresh browser, through a proxy that says it forwards `forwarded_for`.
async fn login_from(app: &TestApp, forwarded_for: Option<&str>) -> u16 {
    let browser = app.new_browser();
    let token = browser.csrf_token().await;
    let mut request = browser.client.post(browser.url("/login")).form(&[
        ("csrf_token", token.as_str()),
        ("email", "ann@example.com"),
        ("password", "wrong"),
    ]);
    if let Some(chain) = forwarded_for {
        request = request.header("x-forwarded-for", chain);
    }
    request.send().await.unwrap().status().as_u16()
}

fn user_count(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    users::table.count().get_result(&mut conn).unwrap()
}

#[tokio::test]
async fn names_and_emails_people_typed_come_back_escaped() {
    let app = spawn_app().await;
    let name = r#"<script>alert("name")</script>"#;
    let email = "ann@example.com";
    app.signup(name, email, PASSWORD).await;
    let code = app.latest_code_for(email).await;
    app.post_form("/verify", &[("code", &code)]).await;

    let dashboard = app.get("/dashboard").await.text().await.unwrap();
    let refused_form = app
        .new_browser()
        .signup(
            "Bob",
            r#""><img src=x onerror=alert(1)>@example.com"#,
            PASSWORD,
        )
        .await
        .text()
        .await
        .unwrap();

    assert!(dashboard.contains("&lt;script&gt;"), "{dashboard}");
    assert!(!dashboard.contains("<script>alert"), "{dashboard}");
    assert!(!refused_form.contains("<img src=x"), "{refused_form}");
}

#[tokio::test]
async fn injection_strings_in_forms_are_only_text() {
    let app = spawn_app().await;
    let name = "Robert'); DROP TABLE users;-- \" % _ \\";
    app.signup(name, "bobby@example.com", PASSWORD).await;

    for email in ["' OR '1'='1", "bobby@example.com' --", "%", "_@example.com"] {
        let response = app.new_browser().login(email, "' OR '1'='1").await;
        // Refused like any wrong email or password, not signed in, not an error.
        let status = response.status().as_u16();
        assert!(status == 200 || status == 422, "{email}: {status}");
    }

    let stored: String = {
        let mut conn = app.pool.get().unwrap();
        users::table.select(users::name).first(&mut conn).unwrap()
    };
    assert_eq!(stored, name);
    assert_eq!(user_count(&app), 1);
}

#[tokio::test]
async fn expected_outcomes_are_not_logged_as_errors_and_the_log_names_the_real_client() {
    let database = TestDatabase::create();
    let app = AppProcess::start(&[
        ("APP_ENV", "development"),
        ("DATABASE_URL", &database.url),
        ("RATE_LIMIT_AUTH_BURST", "2"),
    ]);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", app.address);
    let login_page = client.get(url("/login")).send().await.unwrap();
    let token = csrf_token_in(&login_page.text().await.unwrap()).unwrap();

    // A redirect to login, a 404, a refused form (403), a wrong password (422) and a
    // rate limit (429), some a few times; one claims to come from elsewhere.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let dashboard = client
            .get(url("/dashboard"))
            .header("x-forwarded-for", "203.0.113.66");
        statuses.push(dashboard.send().await.unwrap().status().as_u16());
        statuses.push(
            client
                .get(url("/nowhere"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
        let forged = client.post(url("/login")).form(&[("email", "a@b.c")]);
        statuses.push(forged.send().await.unwrap().status().as_u16());
        let form = [
            ("csrf_token", token.as_str()),
            ("email", "a@b.c"),
            ("password", "x"),
        ];
        let wrong = client.post(url("/login")).form(&form);
        statuses.push(wrong.send().await.unwrap().status().as_u16());
    }
    for status in [303, 404, 403, 422, 429] {
        assert!(statuses.contains(&status), "{status} not in {statuses:?}");
    }

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = app.log();
    let errors: Vec<&String> = log.iter().filter(|line| line.contains("ERROR")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let requests: Vec<&String> = log
        .iter()
        .filter(|line| line.contains("/dashboard"))
        .collect();
    assert_eq!(requests.len(), 3, "one line per request: {log:#?}");
    for line in requests {
        assert!(line.contains("127.0.0.1"), "{line}");
        assert!(!line.contains("203.0.113.66"), "{line}");
    }
}

#[tokio::test]
async fn a_reset_token_in_the_address_never_reaches_the_log() {
    let database = TestDatabase::create();
    let app = AppProcess::start(&[("APP_ENV", "development"), ("DATABASE_URL", &database.url)]);
    let token = "Qm9vdHN0cmFwLXJlc2V0LXRva2Vu";

    let page = reqwest::get(format!("{}/reset-password?token={token}", app.address))
        .await
        .unwrap();
    // No such token: the page saying the link has expired.
    assert_eq!(page.status(), 410);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = app.log();
    assert!(
        log.iter()
            .any(|line| line.contains("route=/reset-password")),
        "the request is not logged: {log:#?}"
    );
    let leaks: Vec<&String> = log.iter().filter(|line| line.contains(token)).collect();
    assert!(leaks.is_empty(), "{leaks:#?}");
}

#[tokio::test]
async fn a_form_whose_body_trickles_in_is_cut_off_with_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app_with(&[("REQUEST_BODY_TIMEOUT_SECONDS", "1")]).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();

    // 100 bytes promised, 6 sent, and then nothing.
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail="
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut answer))
        .await
        .expect("no answer: the connection is held open");

    let answer = String::from_utf8_lossy(&answer[..read.unwrap()]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_client_with_too_many_requests_in_progress_gets_429_for_the_rest() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // The slow requests must outlive the wait below, on a busy machine too.
    let app = spawn_app_with(&[
        ("MAX_REQUESTS_PER_CLIENT", "3"),
        ("REQUEST_BODY_TIMEOUT_SECONDS", "120"),
        ("REQUEST_TIMEOUT_SECONDS", "120"),
    ])
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    // Four forms whose bodies never come: three are let in and wait for their bodies,
    // the fourth is refused. Only these four are in flight, so which one is refused
    // depends on the order they reach the server, and nothing else.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut connection = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "POST /login HTTP/1.1\r\nHost: {address}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail="
        );
        connection.write_all(head.as_bytes()).await.unwrap();
        slow.push(connection);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (refused, answer) = 'answered: loop {
        for (index, connection) in slow.iter_mut().enumerate() {
            let mut buffer = vec![0; 4096];
            let read = connection.read(&mut buffer);
            if let Ok(Ok(length)) = tokio::time::timeout(Duration::from_millis(20), read).await {
                break 'answered (
                    index,
                    String::from_utf8_lossy(&buffer[..length]).into_owned(),
                );
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no slow request was answered"
        );
    };
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.to_lowercase().contains("\r\nretry-after: 1\r\n"),
        "{answer}"
    );
    slow.remove(refused);
    // With three in progress, anything else this client asks is refused too, with the page.
    let refused = app.get("/login").await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_error_page(refused, 429).await;
    // Places come back as requests end, however they end.
    drop(slow);
    status_within(&app, 200, Duration::from_secs(60)).await;
}

/// `GET /login` again and again until it answers `status`; fails the test after `limit`.
async fn status_within(app: &TestApp, status: u16, limit: Duration) -> reqwest::Response {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let page = app.get("/login").await;
        if page.status() == status {
            return page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "GET /login still answers {} after {limit:?}, not {status}",
            page.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
