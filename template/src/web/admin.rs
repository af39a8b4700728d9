//! The admin area: `GET /admin` (dashboard), `GET /admin/users` (directory),
//! `POST /admin/users/{id}/{action}` (enable, disable, promote, demote, delete,
//! sign-out) and `POST /admin/users/{id}/resend-verification`.

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use serde::{Deserialize, Serialize};

use crate::accounts::verification::ResendOutcome;
use crate::admin::actions::{self, Action, Actor, Refusal, Resent};
use crate::admin::stats::{self, CHART_WEEKS};
use crate::models::user_search::{self, Filter, Sort, UserQuery};
use crate::models::{passkey, session, two_factor};
use crate::web::auth::AdminUser;
use crate::web::client_ip;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::redirect::{safe_next, see_other};
use crate::web::state::State;
use crate::web::sudo;

pub async fn show(
    _admin: AdminUser,
    state: State,
    mut page: Page,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let stats = state
        .db(move |conn, _| stats::dashboard_stats(conn, now))
        .await?;
    page.insert("stats", &stats)
        .insert("chart_weeks", &CHART_WEEKS);
    page.render("admin/index.html")
}

/// The directory's query string; anything missing takes its default.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UsersParams {
    q: String,
    filter: Filter,
    sort: Sort,
    page: Option<i64>,
}

/// A user as the directory shows them.
#[derive(Serialize)]
struct Row {
    id: i64,
    name: String,
    email: String,
    is_admin: bool,
    is_active: bool,
    verified: bool,
    joined: String,
    /// Live sessions: where the user is signed in now.
    sessions: i64,
    two_factor: bool,
    passkeys: bool,
}

/// A link to another page of the same search.
#[derive(Serialize)]
struct PageLink {
    number: i64,
    href: String,
    current: bool,
}

pub async fn users(
    _admin: AdminUser,
    state: State,
    mut page: Page,
    params: web::Query<UsersParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let query = UserQuery {
        text: params.q.clone(),
        filter: params.filter,
        sort: params.sort,
        page: params.page.unwrap_or(1),
    };
    let now = state.now();
    let (found, sessions, two_factor, passkeys) = state
        .db(move |conn, _| {
            let found = user_search::search_users(conn, &query)?;
            let ids: Vec<i64> = found.users.iter().map(|user| user.id).collect();
            let sessions = session::live_session_counts(conn, &ids, now)?;
            let two_factor = two_factor::enabled_among(conn, &ids)?;
            let passkeys = passkey::owners_among(conn, &ids)?;
            diesel::QueryResult::Ok((found, sessions, two_factor, passkeys))
        })
        .await?;
    let sessions: HashMap<i64, i64> = sessions.into_iter().collect();
    let rows: Vec<Row> = found
        .users
        .into_iter()
        .map(|user| Row {
            sessions: sessions.get(&user.id).copied().unwrap_or(0),
            two_factor: two_factor.contains(&user.id),
            passkeys: passkeys.contains(&user.id),
            id: user.id,
            verified: user.email_verified_at.is_some(),
            joined: user.created_at.format("%Y-%m-%d").to_string(),
            name: user.name,
            email: user.email,
            is_admin: user.is_admin,
            is_active: user.is_active,
        })
        .collect();
    let link = |number: i64| PageLink {
        number,
        href: users_href(&params, number),
        current: number == found.page,
    };
    // The first and last pages, and two on each side of this one.
    let mut numbers: Vec<i64> = vec![1, found.pages];
    numbers.extend((found.page - 2)..=(found.page + 2));
    numbers.retain(|number| (1..=found.pages).contains(number));
    numbers.sort_unstable();
    numbers.dedup();
    let page_links: Vec<PageLink> = numbers.into_iter().map(link).collect();

    page.insert("rows", &rows)
        .insert("total", &found.total)
        .insert("more", &found.more)
        .insert("page_number", &found.page)
        .insert("pages", &found.pages)
        .insert("page_links", &page_links)
        .insert("q", &params.q)
        .insert("filter", &params.filter)
        .insert("sort", &params.sort)
        .insert("filters", &Filter::ALL)
        .insert("current_href", &users_href(&params, found.page));
    if found.page > 1 {
        page.insert("previous_href", &users_href(&params, found.page - 1));
    }
    if found.page < found.pages {
        page.insert("next_href", &users_href(&params, found.page + 1));
    }
    page.render("admin/users.html")
}

/// `/admin/users` with the same search, filter and order, on page `number`.
fn users_href(params: &UsersParams, number: i64) -> String {
    let query = serde_urlencoded::to_string([
        ("q", params.q.as_str()),
        ("filter", params.filter.as_str()),
        ("sort", params.sort.as_str()),
        ("page", &number.to_string()),
    ])
    .unwrap_or_default();
    format!("{}?{query}", paths::ADMIN_USERS)
}

/// The form behind every action button: where to return afterwards.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    next: String,
}

impl ActionForm {
    /// The directory page the button was on, or the directory itself.
    fn back(&self) -> String {
        safe_next(&self.next)
            .filter(|next| next.starts_with(paths::ADMIN_USERS))
            .unwrap_or(paths::ADMIN_USERS)
            .to_owned()
    }
}

/// The administrator behind a request, as the audit log records them.
pub fn actor(req: &HttpRequest, admin: AdminUser, state: &State) -> Actor {
    Actor {
        id: admin.0.id,
        email: admin.0.email,
        ip: client_ip::of_request(req, &state.settings.trusted_proxies).to_string(),
    }
}

/// Enables, disables, promotes, demotes or deletes a user; then back to the
/// directory with a message, or a 409 page saying why not.
pub async fn act(
    req: HttpRequest,
    admin: AdminUser,
    state: State,
    mut page: Page,
    session: Session,
    path: web::Path<(i64, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    let (target_id, action_name) = path.into_inner();
    let action = Action::parse(&action_name).ok_or(AppError::NotFound)?;
    let back = form.back();
    // A signed-in laptop left open must not be enough to remove or empower accounts.
    sudo::require(&session, &state, &back)?;
    let actor = actor(&req, admin, &state);
    let now = state.now();
    let outcome = state
        .db(move |conn, _| actions::apply(conn, &actor, target_id, action, now))
        .await?;
    match outcome {
        Ok(target) => {
            FlashMessage::success(action.done(&target.email)).send();
            Ok(see_other(&back))
        }
        Err(Refusal::NotFound) => Err(AppError::NotFound),
        Err(refusal) => {
            page.insert("message", &refusal.to_string())
                .insert("back", &back);
            page.render_with_status("admin/refused.html", StatusCode::CONFLICT)
        }
    }
}

/// Turns a user's two-factor sign-in off (in sudo mode); then back to the directory
/// with a message.
pub async fn reset_two_factor(
    req: HttpRequest,
    admin: AdminUser,
    state: State,
    session: Session,
    path: web::Path<i64>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    let target_id = path.into_inner();
    let back = form.back();
    sudo::require(&session, &state, &back)?;
    let actor = actor(&req, admin, &state);
    let now = state.now();
    let reset = state
        .db(move |conn, state| {
            actions::reset_two_factor(conn, &state.mailer, &actor, target_id, now)
        })
        .await?;
    match reset {
        None => return Err(AppError::NotFound),
        Some((target, true)) => FlashMessage::success(format!(
            "{} signs in with their password alone now (no second factor, no passkeys); we emailed them.",
            target.email
        ))
        .send(),
        Some((target, false)) => {
            FlashMessage::info(format!(
                "{} has neither two-factor sign-in nor passkeys.",
                target.email
            ))
            .send();
        }
    }
    Ok(see_other(&back))
}

/// Mails an unverified user a new code, as if they had asked for it themself; then
/// back to the directory with a message.
pub async fn resend_verification(
    req: HttpRequest,
    admin: AdminUser,
    state: State,
    path: web::Path<i64>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    let target_id = path.into_inner();
    let back = form.back();
    let actor = actor(&req, admin, &state);
    let now = state.now();
    let resent = state
        .db(move |conn, state| {
            actions::resend_verification(
                conn,
                &state.mailer,
                &state.keys,
                &state.settings.accounts,
                &actor,
                target_id,
                now,
            )
        })
        .await?;
    match resent {
        Resent::NotFound => return Err(AppError::NotFound),
        Resent::AlreadyVerified(email) => {
            FlashMessage::info(format!("{email} is already verified.")).send();
        }
        Resent::Code(email, ResendOutcome::Sent) => {
            FlashMessage::success(format!("A new code is on its way to {email}.")).send();
        }
        Resent::Code(email, ResendOutcome::TooSoon(seconds)) => FlashMessage::warning(format!(
            "{email} got a code moments ago; try again in {seconds} seconds."
        ))
        .send(),
        Resent::Code(email, ResendOutcome::HourlyLimit) => FlashMessage::warning(format!(
            "{email} has had as many codes as allowed this hour."
        ))
        .send(),
    }
    Ok(see_other(&back))
}
