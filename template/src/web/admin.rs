//! `GET /admin`: the administrators' home.

use actix_web::{HttpResponse, web};
use tera::Tera;

use crate::auth::AdminUser;
use crate::errors::AppError;
use crate::web::page::Page;

pub async fn show(
    _admin: AdminUser,
    page: Page,
    tera: web::Data<Tera>,
) -> Result<HttpResponse, AppError> {
    page.render(&tera, "admin/index.html")
}
