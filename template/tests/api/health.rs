use diesel::RunQueryDsl;

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with, spawn_app_without_database};

#[tokio::test]
async fn liveness_answers_ok_even_without_a_database() {
    let app = spawn_app_without_database().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn readiness_answers_ok_when_the_database_is_reachable() {
    let app = spawn_app().await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readiness_answers_503_when_the_database_is_unreachable() {
    let app = spawn_app_without_database().await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.unwrap(), "database unavailable");
}

#[tokio::test]
async fn probes_are_never_cached() {
    let app = spawn_app().await;

    for path in ["/healthz", "/readyz"] {
        let response = app.get(path).await;

        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn the_home_page_renders_inside_the_layout() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = response.text().await.unwrap();
    assert!(body.starts_with("<!doctype html>"));
    assert!(body.contains(&format!("Welcome to {}", app.settings.brand.name)));
    assert_eq!(
        linked(&body, r"/static/css/app\.[0-9a-f]{16}\.css").len(),
        1
    );
}

#[tokio::test]
async fn pages_and_mail_call_the_product_by_app_name() {
    let app = spawn_app_with(&[
        ("APP_NAME", "Acme Cloud"),
        ("APP_TAGLINE", "Invoices, done."),
    ])
    .await;

    let home = app.get("/").await.text().await.unwrap();
    let login = app.get("/login").await.text().await.unwrap();
    app.signup("Ada", "ada@example.com", PASSWORD).await;
    let mail = app.wait_for_mail("ada@example.com", "code").await;

    assert!(home.contains("Welcome to Acme Cloud"), "{home}");
    assert!(
        login.contains("<title>Sign in · Acme Cloud</title>"),
        "{login}"
    );
    assert!(login.contains("Invoices, done."), "{login}");
    assert!(
        mail.subject
            .ends_with("is your Acme Cloud verification code"),
        "{}",
        mail.subject
    );
    let sender = mail.header("from").unwrap_or_default();
    assert!(sender.contains("Acme Cloud"), "{sender}");
}

/// Every address in `text` that matches `pattern`.
fn linked(text: &str, pattern: &str) -> Vec<String> {
    let pattern = regex::Regex::new(pattern).unwrap();
    pattern
        .find_iter(text)
        .map(|found| found.as_str().to_owned())
        .collect()
}

const FINGERPRINTED: &str = r"/static/[a-z0-9/._-]+\.[0-9a-f]{16}(\.[a-z0-9]+)?";

#[tokio::test]
async fn pages_link_assets_by_content_hash_and_browsers_keep_them_for_a_year() {
    let app = spawn_app().await;
    let page = app.get("/login").await.text().await.unwrap();
    let links = linked(&page, FINGERPRINTED);
    let stylesheet = linked(&page, r"/static/css/app\.[0-9a-f]{16}\.css");
    let preloaded = linked(&page, r#"/static/fonts/[^"]+"#);

    assert!(
        links.len() >= 5,
        "stylesheet, script, icon, fonts: {links:?}"
    );
    let css = app.get(&stylesheet[0]).await.text().await.unwrap();
    let fonts = linked(&css, FINGERPRINTED);
    assert!(fonts.len() >= 6, "{fonts:?}");
    for font in &preloaded {
        assert!(
            fonts.contains(font),
            "{font} is preloaded but not what the CSS uses"
        );
    }
    for link in links.iter().chain(&fonts) {
        let response = app.get(link).await;
        assert_eq!(response.status(), 200, "{link}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{link}"
        );
    }
}

#[tokio::test]
async fn text_assets_are_sent_compressed_as_the_browser_accepts() {
    let app = spawn_app().await;
    let page = app.get("/login").await.text().await.unwrap();
    let stylesheet = &linked(&page, r"/static/css/app\.[0-9a-f]{16}\.css")[0];
    let font = &linked(&page, r#"/static/fonts/[^"]+"#)[0];
    let fetch = |path: &str, encodings: &str| {
        app.client
            .get(app.url(path))
            .header("accept-encoding", encodings)
            .send()
    };

    let plain = app.get(stylesheet).await.bytes().await.unwrap();
    let brotli = fetch(stylesheet, "gzip, deflate, br, zstd").await.unwrap();
    let gzip = fetch(stylesheet, "gzip").await.unwrap();
    let woff2 = fetch(font, "gzip, br").await.unwrap();

    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(brotli.headers()["vary"], "accept-encoding");
    let brotli_tag = brotli.headers()["etag"].clone();
    let compressed = brotli.bytes().await.unwrap();
    assert!(
        compressed.len() * 4 < plain.len(),
        "{} bytes",
        compressed.len()
    );
    let mut unpacked = Vec::new();
    brotli::BrotliDecompress(&mut &compressed[..], &mut unpacked).unwrap();
    assert_eq!(unpacked, plain);
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert_ne!(gzip.headers()["etag"], brotli_tag);
    let mut unpacked = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gzip.bytes().await.unwrap()[..]),
        &mut unpacked,
    )
    .unwrap();
    assert_eq!(unpacked, plain);
    assert!(woff2.headers().get("content-encoding").is_none());
    let again = app
        .client
        .get(app.url(stylesheet))
        .header("accept-encoding", "br")
        .header("if-none-match", brotli_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn static_files_are_revalidated_by_etag() {
    let app = spawn_app().await;
    let first = app.get("/static/css/app.css").await;
    let tag = first.headers()["etag"].to_str().unwrap().to_owned();

    let again = app
        .client
        .get(app.url("/static/css/app.css"))
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    let head = app
        .client
        .head(app.url("/static/js/app.js"))
        .send()
        .await
        .unwrap();
    let missing = app.get("/static/css/nothing.css").await;
    let outside = app.get("/static/..%2F..%2FCargo.toml").await;

    assert_eq!(again.status(), 304);
    assert_eq!(head.status(), 200);
    assert!(
        head.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(missing.status(), 404);
    assert_eq!(outside.status(), 404);
}

#[tokio::test]
async fn static_files_are_served_without_the_session_or_the_database() {
    let app = spawn_app().await;
    app.signed_up_user("ada@example.com").await;
    // A signed-in request reads its session from the database: take that table away.
    let mut conn = app.pool.get().unwrap();
    diesel::sql_query("DROP TABLE sessions")
        .execute(&mut conn)
        .unwrap();

    let asset = app.get("/static/css/app.css").await;
    let page = app.get("/dashboard").await;

    assert_eq!(asset.status(), 200);
    assert!(asset.headers().get("set-cookie").is_none());
    assert_ne!(page.status(), 200, "the dashboard still found its session");
}

#[tokio::test]
async fn static_files_are_served() {
    let app = spawn_app().await;

    let response = app.get("/static/css/app.css").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn unknown_pages_get_the_404_page_in_the_layout() {
    let app = spawn_app().await;

    let response = app.get("/no/such/page").await;

    assert_eq!(response.status(), 404);
    let body = response.text().await.unwrap();
    assert!(body.contains("Page not found"));
    assert!(body.contains(r#"<a href="/">Back to the home page</a>"#));
}

#[tokio::test]
async fn head_gets_what_get_gets_without_the_body() {
    let app = spawn_app().await;

    for path in [
        "/healthz",
        "/readyz",
        "/",
        "/login",
        "/dashboard",
        "/no-such-page",
    ] {
        let get = app.get(path).await;
        let head = app
            .client
            .head(app.url(path))
            .send()
            .await
            .expect("HEAD failed");

        assert_eq!(head.status(), get.status(), "{path}");
        for header in ["content-type", "location", "cache-control"] {
            assert_eq!(
                head.headers().get(header),
                get.headers().get(header),
                "{path}: {header}"
            );
        }
        assert!(head.bytes().await.unwrap().is_empty(), "{path}: a body");
    }
    let logout = app.client.head(app.url("/logout")).send().await.unwrap();
    assert_eq!(logout.status(), 405, "POST only");
}
