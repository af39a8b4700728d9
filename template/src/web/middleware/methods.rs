//! Methods answered for every route: HEAD like GET, TRACE never.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

/// TRACE (and the old TRACK) would echo requests, cookies included, back to a script
/// that can read the answer: refused on every path with 405.
pub async fn refuse_trace(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let method = req.method();
    if method == Method::TRACE || method.as_str() == "TRACK" {
        return Ok(req.into_response(HttpResponse::MethodNotAllowed().finish()));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// HEAD is GET without the body (RFC 9110): load balancers and uptime checkers ask
/// with it. Routed as GET; actix-http still sends no body, as it knows the request
/// came as HEAD.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
