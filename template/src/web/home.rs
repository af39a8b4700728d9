//! `GET /`: the landing page.

use actix_web::HttpResponse;

use crate::web::error::AppError;
use crate::web::page::Page;

pub async fn show(page: Page) -> Result<HttpResponse, AppError> {
    page.render("home.html")
}
