use actix_web::{HttpResponse, web};
use tera::{Context, Tera};

use crate::errors::AppError;

/// The landing page.
pub async fn show(tera: web::Data<Tera>) -> Result<HttpResponse, AppError> {
    let page = super::render(&tera, "home.html", Context::new())?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page))
}
