//! The admin area: `GET /admin` (dashboard) and `GET /admin/users` (directory).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use tera::Tera;

use crate::admin::stats::{self, CHART_WEEKS};
use crate::admin::user_search::{self, Filter, Sort, UserQuery};
use crate::auth::AdminUser;
use crate::clock::Clock;
use crate::db::{self, DbPool};
use crate::errors::AppError;
use crate::web::page::Page;

pub async fn show(
    _admin: AdminUser,
    mut page: Page,
    pool: web::Data<DbPool>,
    clock: web::Data<dyn Clock>,
    tera: web::Data<Tera>,
) -> Result<HttpResponse, AppError> {
    let now = clock.now();
    let stats = db::run_blocking(&pool, move |conn| stats::dashboard_stats(conn, now)).await?;
    page.insert("stats", &stats);
    page.insert("chart_weeks", &CHART_WEEKS);
    page.render(&tera, "admin/index.html")
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
    mut page: Page,
    params: web::Query<UsersParams>,
    pool: web::Data<DbPool>,
    tera: web::Data<Tera>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let query = UserQuery {
        text: params.q.clone(),
        filter: params.filter,
        sort: params.sort,
        page: params.page.unwrap_or(1),
    };
    let found =
        db::run_blocking(&pool, move |conn| user_search::search_users(conn, &query)).await?;
    let rows: Vec<Row> = found
        .users
        .into_iter()
        .map(|user| Row {
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
        .insert("page_number", &found.page)
        .insert("pages", &found.pages)
        .insert("page_links", &page_links)
        .insert("q", &params.q)
        .insert("filter", &params.filter)
        .insert("sort", &params.sort)
        .insert("filters", &Filter::ALL);
    if found.page > 1 {
        page.insert("previous_href", &users_href(&params, found.page - 1));
    }
    if found.page < found.pages {
        page.insert("next_href", &users_href(&params, found.page + 1));
    }
    page.render(&tera, "admin/users.html")
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
    format!("/admin/users?{query}")
}
