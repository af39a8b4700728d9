use crate::helpers::{spawn_app, spawn_app_without_database};

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
    assert!(body.contains(&format!("Welcome to {}", env!("CARGO_PKG_NAME"))));
    assert!(body.contains(r#"href="/static/css/app.css""#));
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
