//! The user directory: search, filters, sorting and pages.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::users;
use crate::db::{self, DbConn};
use crate::models::user::User;
use crate::models::user_counts;

/// Users per page.
pub const PAGE_SIZE: i64 = 25;

/// A search counts its matches up to here, then says "more": an exact count of a
/// common word would read every matching row of a large table, and 40 pages are
/// more than anyone reads before refining the search.
pub const COUNT_LIMIT: i64 = 1000;

/// Longer search text is cut here; no name or address is longer.
const MAX_SEARCH_CHARS: usize = 254;

/// The escape character of the LIKE patterns. Not a backslash: some databases give it
/// meanings of their own, and one character that means the same everywhere is simpler.
const ESCAPE: char = '!';

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    #[default]
    All,
    Admins,
    Disabled,
    Unverified,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Most recent sign-ups first.
    #[default]
    Newest,
    /// By email address, A to Z.
    Email,
}

impl Filter {
    pub const ALL: [Self; 4] = [Self::All, Self::Admins, Self::Disabled, Self::Unverified];

    /// The name in URLs (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Admins => "admins",
            Self::Disabled => "disabled",
            Self::Unverified => "unverified",
        }
    }
}

impl Sort {
    /// The name in URLs (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Email => "email",
        }
    }
}

/// What the admin asked for.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Found anywhere in the email or the name, ignoring case; `%`, `_` and every
    /// other character mean only themselves.
    pub text: String,
    pub filter: Filter,
    pub sort: Sort,
    /// From 1.
    pub page: i64,
}

/// One page of results.
#[derive(Debug)]
pub struct UserPage {
    pub users: Vec<User>,
    /// Matches on every page together; for a search, at most `COUNT_LIMIT`.
    pub total: i64,
    /// The search matches more users than `total`.
    pub more: bool,
    pub page: i64,
    pub pages: i64,
}

type Backend = <DbConn as Connection>::Backend;

/// The page of users matching `query`.
pub fn search_users(conn: &mut DbConn, query: &UserQuery) -> QueryResult<UserPage> {
    let text: String = query.text.trim().chars().take(MAX_SEARCH_CHARS).collect();
    let (candidates, total, more) = if text.is_empty() {
        let counts = user_counts::get(conn)?;
        let total = match query.filter {
            Filter::All => counts.total,
            Filter::Admins => counts.admins,
            Filter::Disabled => counts.disabled,
            Filter::Unverified => counts.unverified,
        };
        (None, total, false)
    } else {
        let candidates = db::user_search_candidates(conn, &text, COUNT_LIMIT)?;
        let found = matching(&text, query.filter, candidates.as_deref())
            .select(users::id)
            .limit(COUNT_LIMIT + 1)
            .load::<i64>(conn)?
            .len() as i64;
        (candidates, found.min(COUNT_LIMIT), found > COUNT_LIMIT)
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = query.page.clamp(1, pages);
    let matches = || matching(&text, query.filter, candidates.as_deref());
    let ordered = match query.sort {
        Sort::Newest => matches().order((users::created_at.desc(), users::id.desc())),
        Sort::Email => matches().order(users::email.asc()),
    };
    // The page's ids first, then their rows: the ids of a deep page come from an index
    // alone, where fetching whole rows would read every row skipped on the way.
    let ids: Vec<i64> = ordered
        .select(users::id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
        .load(conn)?;
    let mut users: Vec<User> = users::table
        .filter(users::id.eq_any(&ids))
        .select(User::as_select())
        .load(conn)?;
    users.sort_by_key(|user| ids.iter().position(|id| *id == user.id));
    Ok(UserPage {
        users,
        total,
        more,
        page,
        pages,
    })
}

/// The users `filter` lets through whose email or name contains `text`; only among
/// `candidates`, when the database's search index has narrowed them down.
fn matching(
    text: &str,
    filter: Filter,
    candidates: Option<&[i64]>,
) -> users::BoxedQuery<'static, Backend> {
    let mut select = users::table.into_boxed();
    if let Some(ids) = candidates {
        select = select.filter(users::id.eq_any(ids.to_vec()));
    }
    if !text.is_empty() {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        select = select.filter(
            users::email
                .like(pattern.clone())
                .escape(ESCAPE)
                .or(lower(users::name).like(pattern).escape(ESCAPE)),
        );
    }
    match filter {
        Filter::All => select,
        Filter::Admins => select.filter(users::is_admin.eq(true)),
        Filter::Disabled => select.filter(users::is_active.eq(false)),
        Filter::Unverified => select.filter(users::email_verified_at.is_null()),
    }
}

/// `text` with the LIKE wildcards and the escape character made literal.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_') || c == ESCAPE {
            escaped.push(ESCAPE);
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_the_escape_character_are_escaped() {
        assert_eq!(escape_like("100%_a!b\\c"), "100!%!_a!!b\\c");
    }
}
