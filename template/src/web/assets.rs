//! `GET /static/{name}`: the files of `static/` (`crate::assets`), with no session and
//! no database work.

use std::sync::Arc;

use actix_web::http::header::{
    self, AcceptEncoding, CacheControl, CacheDirective, ContentEncoding, EntityTag, Header,
    HeaderValue, IfNoneMatch,
};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::assets::{Assets, Encoding, Found};
use crate::web::error::AppError;

/// A year: what browsers and proxies are told to keep a fingerprinted file for.
const A_YEAR: u32 = 365 * 24 * 60 * 60;

/// The file named `name`, compressed as the browser accepts; or 304 when the browser's
/// copy (by its `ETag`) is current.
pub async fn serve(
    req: HttpRequest,
    name: web::Path<String>,
    assets: web::Data<Assets>,
) -> Result<HttpResponse, AppError> {
    let Found { asset, immutable } = assets.find(&name).ok_or(AppError::NotFound)?;
    let wanted = if asset.compressible() {
        accepted(&req)
    } else {
        Encoding::Identity
    };
    let (encoding, body) = if asset.is_ready(wanted) {
        asset.body(wanted)
    } else {
        // The first request for an encoding compresses the file, tens of milliseconds
        // at brotli's best: on the blocking pool, not on a worker other requests share.
        let compressing = Arc::clone(&asset);
        web::block(move || compressing.body(wanted))
            .await
            .map_err(|error| AppError::Internal(error.into()))?
    };
    // Each encoding is its own representation, with its own tag.
    let tag = EntityTag::new_strong(match encoding {
        Encoding::Identity => asset.hash().to_owned(),
        Encoding::Brotli => format!("{}-br", asset.hash()),
        Encoding::Gzip => format!("{}-gzip", asset.hash()),
    });
    let current = match IfNoneMatch::parse(&req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|known| known.weak_eq(&tag)),
        Err(_) => false,
    };

    let mut response = if current {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header(header::ETag(tag));
    response.insert_header(if immutable {
        CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(A_YEAR),
            CacheDirective::Extension("immutable".to_owned(), None),
        ])
    } else {
        // Asked for again each time (a cheap 304), so a deploy shows at once.
        CacheControl(vec![CacheDirective::NoCache])
    });
    if asset.compressible() {
        response.insert_header((header::VARY, "accept-encoding"));
    }
    if current {
        return Ok(response.finish());
    }
    match encoding {
        Encoding::Identity => {}
        Encoding::Brotli => {
            response.insert_header(ContentEncoding::Brotli);
        }
        Encoding::Gzip => {
            response.insert_header(ContentEncoding::Gzip);
        }
    }
    let content_type = HeaderValue::from_str(asset.content_type())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(response
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body))
}

/// The encoding the browser prefers of those a file can be sent in.
fn accepted(req: &HttpRequest) -> Encoding {
    let Ok(accepted) = AcceptEncoding::parse(req) else {
        return Encoding::Identity;
    };
    let offered = [
        header::Encoding::brotli(),
        header::Encoding::gzip(),
        header::Encoding::identity(),
    ];
    match accepted.negotiate(offered.iter()) {
        Some(chosen) if chosen == header::Encoding::brotli() => Encoding::Brotli,
        Some(chosen) if chosen == header::Encoding::gzip() => Encoding::Gzip,
        _ => Encoding::Identity,
    }
}
