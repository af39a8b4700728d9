//! `GET/POST /account`: the user's profile (their name).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::Deserialize;

use crate::accounts::name::DisplayName;
use crate::models::user;
use crate::web::auth::CurrentUser;
use crate::web::error::AppError;
use crate::web::forms::FieldErrors;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    name: String,
}

pub async fn edit(CurrentUser(current): CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    render(page, &current.name, &FieldErrors::default(), StatusCode::OK)
}

pub async fn update(
    CurrentUser(current): CurrentUser,
    state: State,
    page: Page,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    let name = match DisplayName::parse(&form.name) {
        Ok(name) => name,
        Err(error) => {
            let mut errors = FieldErrors::default();
            errors.add("name", error.to_string());
            return render(
                page,
                form.name.trim(),
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let now = state.now();
    let user_id = current.id;
    state
        .db(move |conn, _| user::set_name(conn, user_id, name.as_str(), now))
        .await?;
    FlashMessage::success("Your name is saved.").send();
    Ok(see_other(paths::ACCOUNT))
}

fn render(
    mut page: Page,
    name: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("name", name).insert("errors", errors);
    page.render_with_status("account/profile.html", status)
}
