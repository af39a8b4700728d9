//! `GET/POST /signup`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::accounts::email::EmailAddress;
use crate::accounts::name::DisplayName;
use crate::accounts::signup::{self, Registration};
use crate::accounts::verification::CodeMail;
use crate::mail::Email;
use crate::secret::Secret;
use crate::web::error::AppError;
use crate::web::forms::{FieldErrors, password_policy};
use crate::web::page::Page;
use crate::web::pending::{Pending, redirect_to_verify};
use crate::web::state::State;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignupForm {
    name: String,
    email: String,
    password: Secret,
    password_confirmation: Secret,
}

pub async fn new(page: Page) -> Result<HttpResponse, AppError> {
    render(page, "", "", &FieldErrors::default(), StatusCode::OK)
}

pub async fn create(
    req: HttpRequest,
    state: State,
    page: Page,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    let name = DisplayName::parse(&form.name)
        .inspect_err(|error| errors.add("name", error.to_string()))
        .ok();
    let email = EmailAddress::parse(&form.email)
        .inspect_err(|error| errors.add("email", error.to_string()))
        .ok();
    errors.check_new_password(
        form.password.expose(),
        form.password_confirmation.expose(),
        email.as_ref().map_or("", EmailAddress::as_str),
    );
    let (Some(name), Some(email), true) = (name, email, errors.is_empty()) else {
        return render(
            page,
            form.name.trim(),
            &form.email,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };

    // Hashed even for an address that has an account, so both take the same time.
    let password_hash = state.hashing.hash(form.password.into_exposed()).await?;
    let code = CodeMail::new(&state.mailer, email.as_str(), name.as_str())?;
    let attempt_mail = state.mailer.compose(
        email.as_str(),
        &Email::SignupAttempt {
            name: String::new(),
        },
    )?;
    let now = state.now();
    let address = email.clone();
    let mut pending = Pending::for_email(&req, email.as_str());
    let browser = pending.browser();
    state
        .db(move |conn, state| {
            signup::register(
                conn,
                &state.keys,
                &state.settings.accounts,
                &Registration {
                    name: &name,
                    email: &address,
                    password_hash: &password_hash,
                    code: &code,
                    attempt_mail: &attempt_mail,
                    browser: &browser,
                },
                now,
            )
        })
        .await?;

    // The code page says where the code went; a flash would only repeat it.
    // A code went out, or (for a taken address) the page acts as if one had.
    pending.code_sent(&state.settings.accounts, now);
    redirect_to_verify(&state, &pending)
}

fn render(
    mut page: Page,
    name: &str,
    email: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.insert("name", name)
        .insert("email", email)
        .insert("errors", errors)
        .insert("password_policy", &password_policy());
    page.render_with_status("auth/signup.html", status)
}
