//! The web layer: the route table, one handler module per resource, and what every
//! request shares (state, page, errors, middleware, the signed-in user).

use actix_governor::Governor;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, Resource, web};

use crate::web::error::AppError;
use crate::web::middleware::rate_limit::{self, AuthLimit};
use crate::web::middleware::{admin_two_factor, deadline};

pub mod account;
pub mod admin;
pub mod admin_audit;
pub mod admin_mail;
pub mod assets;
pub mod auth;
pub mod client_ip;
pub mod cookies;
pub mod dashboard;
pub mod device;
pub mod error;
pub mod flash;
pub mod forms;
pub mod health;
pub mod home;
pub mod login;
pub mod middleware;
pub mod page;
pub mod passkey_ceremony;
pub mod passkeys;
pub mod password_resets;
pub mod paths;
pub mod pending;
pub mod redirect;
pub mod second_factor;
pub mod signup;
pub mod state;
pub mod sudo;
pub mod verification;

/// Forms are small; a larger body is refused with 413 before it is buffered.
pub const MAX_FORM_BYTES: usize = 32 * 1024;

/// Every route of the application. The forms that check a secret or send mail share
/// one per-IP budget: `auth_limit` in this instance, and the one in the database.
pub fn routes(cfg: &mut web::ServiceConfig, auth_limit: &AuthLimit) {
    let limited = |path| limited_resource(path, auth_limit);
    cfg.service(resource(paths::HOME).route(web::get().to(home::show)))
        .service(resource(paths::HEALTHZ).route(web::get().to(health::live)))
        .service(resource(paths::READYZ).route(web::get().to(health::ready)))
        .service(
            limited(paths::SIGNUP)
                .route(web::get().to(signup::new))
                .route(web::post().to(signup::create)),
        )
        .service(
            limited(paths::VERIFY)
                .route(web::get().to(verification::new))
                .route(web::post().to(verification::create)),
        )
        .service(limited(paths::VERIFY_RESEND).route(web::post().to(verification::resend)))
        .service(
            limited(paths::LOGIN)
                .route(web::get().to(login::new))
                .route(web::post().to(login::create)),
        )
        .service(
            limited(paths::LOGIN_TWO_FACTOR)
                .route(web::get().to(second_factor::new))
                .route(web::post().to(second_factor::create)),
        )
        .service(
            limited(paths::LOGIN_TWO_FACTOR_PASSKEY_OPTIONS)
                .route(web::post().to(second_factor::passkey_options)),
        )
        .service(
            limited(paths::LOGIN_TWO_FACTOR_PASSKEY)
                .route(web::post().to(second_factor::create_with_passkey)),
        )
        .service(limited(paths::LOGIN_PASSKEY_OPTIONS).route(web::post().to(passkeys::options)))
        .service(limited(paths::LOGIN_PASSKEY).route(web::post().to(passkeys::create)))
        .service(resource(paths::LOGOUT).route(web::post().to(login::delete)))
        .service(
            limited(paths::FORGOT_PASSWORD)
                .route(web::get().to(password_resets::new))
                .route(web::post().to(password_resets::create)),
        )
        .service(
            limited(paths::RESET_PASSWORD)
                .route(web::get().to(password_resets::edit))
                .route(web::post().to(password_resets::update)),
        )
        .service(resource(paths::DASHBOARD).route(web::get().to(dashboard::show)))
        .service(
            resource(paths::ACCOUNT)
                .route(web::get().to(account::profile::edit))
                .route(web::post().to(account::profile::update)),
        )
        .service(
            limited(paths::ACCOUNT_EMAIL)
                .route(web::get().to(account::email::edit))
                .route(web::post().to(account::email::create)),
        )
        .service(
            limited(paths::ACCOUNT_EMAIL_CONFIRM).route(web::post().to(account::email::confirm)),
        )
        .service(
            resource(paths::ACCOUNT_EMAIL_CANCEL).route(web::post().to(account::email::cancel)),
        )
        .service(
            limited(paths::ACCOUNT_PASSWORD)
                .route(web::get().to(account::password::edit))
                .route(web::post().to(account::password::update)),
        )
        .service(
            resource(paths::ACCOUNT_TWO_FACTOR)
                .route(web::get().to(account::two_factor::show))
                .route(web::post().to(account::two_factor::start)),
        )
        .service(
            limited(paths::ACCOUNT_TWO_FACTOR_ENABLE)
                .route(web::post().to(account::two_factor::enable)),
        )
        .service(
            resource(paths::ACCOUNT_TWO_FACTOR_RECOVERY_CODES)
                .route(web::post().to(account::two_factor::regenerate)),
        )
        .service(
            resource(paths::ACCOUNT_TWO_FACTOR_DISABLE)
                .route(web::post().to(account::two_factor::disable)),
        )
        .service(
            resource(paths::ACCOUNT_PASSKEYS)
                .route(web::get().to(account::passkeys::index))
                .route(web::post().to(account::passkeys::create)),
        )
        .service(
            resource(paths::ACCOUNT_PASSKEYS_OPTIONS)
                .route(web::post().to(account::passkeys::options)),
        )
        .service(
            resource(paths::ACCOUNT_PASSKEY_REMOVE)
                .route(web::post().to(account::passkeys::remove)),
        )
        .service(
            limited(paths::ACCOUNT_CONFIRM)
                .route(web::get().to(account::confirm::new))
                .route(web::post().to(account::confirm::create)),
        )
        .service(resource(paths::ACCOUNT_EXPORT).route(web::get().to(account::export::download)))
        .service(
            resource(paths::ACCOUNT_DELETE)
                .route(web::get().to(account::delete::new))
                .route(web::post().to(account::delete::create)),
        )
        .service(resource(paths::ACCOUNT_SESSIONS).route(web::get().to(account::sessions::index)))
        .service(
            resource(paths::ACCOUNT_SESSIONS_SIGN_OUT_OTHERS)
                .route(web::post().to(account::sessions::sign_out_others)),
        )
        .service(
            resource(paths::ACCOUNT_SESSION_SIGN_OUT)
                .route(web::post().to(account::sessions::sign_out)),
        )
        .service(admin_resource(paths::ADMIN).route(web::get().to(admin::show)))
        .service(admin_resource(paths::ADMIN_USERS).route(web::get().to(admin::users)))
        .service(admin_resource(paths::ADMIN_AUDIT).route(web::get().to(admin_audit::show)))
        .service(admin_resource(paths::ADMIN_MAIL).route(web::get().to(admin_mail::show)))
        .service(admin_resource(paths::ADMIN_MAIL_ACTION).route(web::post().to(admin_mail::act)))
        // Before `{action}`, which would otherwise take it.
        .service(
            admin_resource(paths::ADMIN_RESEND_VERIFICATION)
                .route(web::post().to(admin::resend_verification)),
        )
        .service(
            admin_resource(paths::ADMIN_RESET_TWO_FACTOR)
                .route(web::post().to(admin::reset_two_factor)),
        )
        .service(admin_resource(paths::ADMIN_USER_ACTION).route(web::post().to(admin::act)));
}

/// A resource whose handlers' panics become the 500 page, and whose handlers get
/// `REQUEST_TIMEOUT_SECONDS`. Every route goes through here: a panic anywhere else
/// would drop the visitor's connection.
fn resource(
    path: &str,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    web::resource(path)
        .wrap(from_fn(error::catch_panics))
        .wrap(from_fn(deadline::limit))
}

/// Like [`resource`], for the admin area: with `ADMIN_TWO_FACTOR_REQUIRED`, an
/// administrator without two-factor sign-in is sent to set it up first.
fn admin_resource(
    path: &str,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    web::resource(path)
        .wrap(from_fn(admin_two_factor::require))
        .wrap(from_fn(error::catch_panics))
        .wrap(from_fn(deadline::limit))
}

/// Like [`resource`], behind both auth limits: the in-process one first, which turns a
/// flood away before it reaches the database, then the budget every instance shares.
fn limited_resource(
    path: &str,
    auth_limit: &AuthLimit,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    web::resource(path)
        .wrap(from_fn(error::catch_panics))
        .wrap(from_fn(rate_limit::shared_budget))
        .wrap(Governor::new(auth_limit))
        .wrap(from_fn(deadline::limit))
}

/// The answer for a path no route matches.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::ErrorHandlers;
    use actix_web::{App, test};
    use tera::Context;

    use crate::assets::Assets;
    use crate::templates::{self, Templates};

    use super::*;

    async fn boom() -> HttpResponse {
        panic!("internal detail that must not leak")
    }

    #[actix_web::test]
    async fn a_panicking_handler_gets_the_500_page_instead_of_a_dropped_connection() {
        let mut globals = Context::new();
        globals.insert("app_name", "Test");
        let templates = Templates::new(|| templates::load(|_| true), false, globals)
            .expect("cannot load the templates")
            .with_function("asset", Assets::fingerprinted(paths::STATIC));
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(templates))
                .service(resource("/boom").route(web::get().to(boom)))
                .wrap(ErrorHandlers::new().default_handler(error::render_error_page)),
        )
        .await;

        let response =
            test::call_service(&app, test::TestRequest::get().uri("/boom").to_request()).await;

        assert_eq!(response.status(), 500);
        let page = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        assert!(page.contains(r#"class="error-page""#), "{page}");
        assert!(!page.contains("internal detail"), "{page}");
    }
}
