//! A ceiling on the time a handler may take (`REQUEST_TIMEOUT_SECONDS`, default 30):
//! past it the visitor gets the 503 page instead of a wait without end. Database
//! statements and locks have their own, shorter limits; this one catches the rest.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use crate::web::error::AppError;
use crate::web::state::State;

/// Wraps each resource (see `web::resource`): only there, after routing, may the
/// request be kept aside for the answer.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Without the app's state (a resource tried on its own) there is no setting to apply.
    let Some(timeout) = req
        .app_data::<State>()
        .map(|state| state.settings.request_timeout)
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let request = req.request().clone();
    match tokio::time::timeout(timeout, next.call(req)).await {
        Ok(response) => response.map(ServiceResponse::map_into_boxed_body),
        // The error response logs it, as the fault it is.
        Err(_) => Ok(ServiceResponse::new(
            request,
            AppError::Overdue(timeout).error_response(),
        )),
    }
}
