//! `ADMIN_TWO_FACTOR_REQUIRED`: an administrator without two-factor sign-in sees no
//! admin page and can take no admin action until they set it up; they are sent to
//! `/account/two-factor` instead. Wraps the admin routes only (`web::routes`).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};
use actix_web_flash_messages::FlashMessage;

use crate::models::two_factor;
use crate::web::auth::signed_in_user;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;

pub async fn require(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req
        .app_data::<State>()
        .filter(|state| state.settings.accounts.admin_two_factor_required)
        .cloned();
    // Anyone else is the handler's to answer (the login page, 403).
    let admin = signed_in_user(req.request()).filter(|user| user.is_admin);
    let (Some(state), Some(admin)) = (state, admin) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    match state
        .db(move |conn, _| two_factor::is_enabled(conn, admin.id))
        .await
    {
        Ok(true) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
        Ok(false) => {
            FlashMessage::warning(
                "Set up two-factor sign-in first: this site requires it of administrators.",
            )
            .send();
            Ok(req.into_response(see_other(paths::ACCOUNT_TWO_FACTOR)))
        }
        Err(error) => Ok(req.into_response(error.error_response())),
    }
}
