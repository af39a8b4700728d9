//! `GET/POST /account/confirm?next=…`: the password again, to start sudo mode before a
//! sensitive action; then on to `next`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::secret::Secret;
use crate::web::account::{LOCKED, PasswordCheck, check_current_password};
use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::forms::FieldErrors;
use crate::web::login::NextQuery;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::{safe_next, see_other};
use crate::web::state::State;
use crate::web::sudo;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    password: Secret,
}

pub async fn new(
    _user: CurrentUser,
    state: State,
    page: Page,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    render(
        page,
        &state,
        &query.next,
        &FieldErrors::default(),
        StatusCode::OK,
    )
}

pub async fn create(
    req: HttpRequest,
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
    session: Session,
    query: web::Query<NextQuery>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let password = form.into_inner().password;
    let mut errors = FieldErrors::default();
    match check_current_password(&req, &state, current.id, password).await? {
        PasswordCheck::Right(_) => {
            sudo::start(&session, state.now())?;
            return Ok(see_other(safe_next(&query.next).unwrap_or(paths::ACCOUNT)));
        }
        PasswordCheck::Wrong => errors.add("password", "That is not your password."),
        PasswordCheck::Locked => errors.add("password", LOCKED),
    }
    render(
        page,
        &state,
        &query.next,
        &errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

fn render(
    mut page: Page,
    state: &State,
    next: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("next", next).insert("errors", errors).insert(
        "sudo_minutes",
        &state.settings.sessions.sudo_timeout.num_minutes(),
    );
    page.render_with_status("account/confirm.html", status)
}
