//! HTTP handlers, one module per resource, and the route table.

use actix_web::{HttpResponse, web};
use tera::{Context, Tera};

use crate::errors::AppError;

pub mod health;
pub mod home;

/// Every route of the application.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::show))
        .route("/healthz", web::get().to(health::live))
        .route("/readyz", web::get().to(health::ready));
}

/// Renders a page; every page knows the application's name.
pub fn render(tera: &Tera, template: &str, mut context: Context) -> Result<String, AppError> {
    context.insert("app_name", env!("CARGO_PKG_NAME"));
    Ok(tera.render(template, &context)?)
}

/// The answer for a path no route matches.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
