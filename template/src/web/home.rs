use actix_web::{HttpResponse, web};
use tera::Tera;

use crate::errors::AppError;
use crate::web::page::Page;

/// The landing page.
pub async fn show(page: Page, tera: web::Data<Tera>) -> Result<HttpResponse, AppError> {
    page.render(&tera, "home.html")
}
