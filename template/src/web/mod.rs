//! HTTP handlers, one module per resource, and the route table.

use actix_web::{HttpResponse, web};

use crate::errors::AppError;

pub mod account;
pub mod admin;
pub mod dashboard;
pub mod forms;
pub mod health;
pub mod home;
pub mod page;
pub mod password_resets;
pub mod redirect;
pub mod sessions;
pub mod signup;
pub mod verification;

/// Every route of the application.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::show))
        .route("/healthz", web::get().to(health::live))
        .route("/readyz", web::get().to(health::ready))
        .service(
            web::resource("/signup")
                .route(web::get().to(signup::new))
                .route(web::post().to(signup::create)),
        )
        .service(
            web::resource("/verify")
                .route(web::get().to(verification::new))
                .route(web::post().to(verification::create)),
        )
        .route("/verify/resend", web::post().to(verification::resend))
        .service(
            web::resource("/login")
                .route(web::get().to(sessions::new))
                .route(web::post().to(sessions::create)),
        )
        .route("/logout", web::post().to(sessions::delete))
        .service(
            web::resource("/forgot-password")
                .route(web::get().to(password_resets::new))
                .route(web::post().to(password_resets::create)),
        )
        .service(
            web::resource("/reset-password")
                .route(web::get().to(password_resets::edit))
                .route(web::post().to(password_resets::update)),
        )
        .route("/dashboard", web::get().to(dashboard::show))
        .service(
            web::resource("/account/password")
                .route(web::get().to(account::edit_password))
                .route(web::post().to(account::update_password)),
        )
        .route("/admin", web::get().to(admin::show));
}

/// The answer for a path no route matches.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
