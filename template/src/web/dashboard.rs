//! `GET /dashboard`: the signed-in user's home.

use actix_web::HttpResponse;

use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::page::Page;

pub async fn show(_user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    page.render("dashboard.html")
}
