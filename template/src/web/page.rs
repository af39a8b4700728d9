//! What every page needs: the templates, the CSRF token for its forms, flash
//! messages, the signed-in user and the app's name.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use actix_web_flash_messages::{IncomingFlashMessages, Level};
use anyhow::Context as _;
use serde::Serialize;
use tera::Context;

use crate::templates::Templates;
use crate::web::auth::signed_in_user;
use crate::web::error::AppError;
use crate::web::middleware::csrf::CsrfToken;
use crate::web::state::State;

/// A page being put together; extract it in a handler, add values, render.
pub struct Page {
    templates: web::Data<Templates>,
    context: Context,
}

#[derive(Serialize)]
struct Flash {
    level: &'static str,
    text: String,
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(build_page(req, payload))
    }
}

fn build_page(req: &HttpRequest, payload: &mut Payload) -> Result<Page, AppError> {
    let templates = req
        .app_data::<web::Data<Templates>>()
        .cloned()
        .context("the page templates are not registered")?;
    let CsrfToken(csrf_token) = CsrfToken::from_request(req, payload).into_inner()?;
    let flashes: Vec<Flash> = IncomingFlashMessages::from_request(req, payload)
        .into_inner()
        .map(|messages| {
            messages
                .iter()
                .map(|message| Flash {
                    level: level_name(message.level()),
                    text: message.content().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut context = Context::new();
    context.insert("csrf_token", &csrf_token);
    context.insert("flashes", &flashes);
    context.insert("current_user", &signed_in_user(req));
    // Pages offer passkeys only where the site can use them (`Passkeys`).
    context.insert("passkeys_enabled", &State::of(req)?.passkeys.enabled());
    Ok(Page { templates, context })
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Success => "success",
        Level::Info | Level::Debug => "info",
    }
}

impl Page {
    /// Adds a value the template can use.
    pub fn insert<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> &mut Self {
        self.context.insert(key, value);
        self
    }

    /// Renders `template` as a 200 page.
    pub fn render(self, template: &str) -> Result<HttpResponse, AppError> {
        self.render_with_status(template, StatusCode::OK)
    }

    /// Renders `template` with `status`, e.g. 422 for a form with mistakes.
    pub fn render_with_status(
        self,
        template: &str,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        let body = self.templates.render(template, &self.context)?;
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body))
    }
}
