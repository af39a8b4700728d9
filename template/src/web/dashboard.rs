//! `GET /dashboard`: the signed-in user's home.

use actix_web::{HttpResponse, web};
use tera::Tera;

use crate::auth::CurrentUser;
use crate::errors::AppError;
use crate::web::page::Page;

pub async fn show(
    _user: CurrentUser,
    page: Page,
    tera: web::Data<Tera>,
) -> Result<HttpResponse, AppError> {
    page.render(&tera, "dashboard.html")
}
