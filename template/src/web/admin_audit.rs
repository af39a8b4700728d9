//! `GET /admin/audit`: the audit log, newest first, narrowed by kind and by user.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::models::audit_event::{self, Filter, Kind};
use crate::web::auth::AdminUser;
use crate::web::error::AppError;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::state::State;

/// The audit log's query string.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    kind: Kind,
    user: String,
    page: Option<i64>,
}

/// An entry as the page shows it.
#[derive(Serialize)]
struct Row {
    at: String,
    actor: String,
    /// What happened, in words.
    words: &'static str,
    /// The action's identifier, kept beside the words for searching the page.
    action: String,
    target: String,
    ip: String,
}

/// A kind the filter offers.
#[derive(Serialize)]
struct KindOption {
    value: &'static str,
    label: &'static str,
}

pub async fn show(
    _admin: AdminUser,
    state: State,
    mut page: Page,
    params: web::Query<Params>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let number = params.page.unwrap_or(1).max(1);
    let filter = Filter {
        kind: params.kind,
        email: params.user.trim().to_lowercase(),
    };
    let (events, older) = {
        let filter = filter.clone();
        state
            .db(move |conn, _| audit_event::page_of_events(conn, &filter, number))
            .await?
    };
    let rows: Vec<Row> = events
        .into_iter()
        .map(|event| Row {
            at: event.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            actor: event.actor_email,
            words: words(&event.action),
            action: event.action,
            target: event.target_email.unwrap_or_default(),
            ip: event.ip,
        })
        .collect();
    // Which entries these are, counted from the newest: the log itself is never counted.
    let first = (number - 1)
        .saturating_mul(audit_event::PAGE_SIZE)
        .saturating_add(1);
    let kinds: Vec<KindOption> = Kind::ALL
        .iter()
        .map(|kind| KindOption {
            value: kind.as_str(),
            label: kind.label(),
        })
        .collect();
    page.insert("first", &first)
        .insert("last", &(first.saturating_add(rows.len() as i64 - 1)))
        .insert("rows", &rows)
        .insert("page_number", &number)
        .insert("kinds", &kinds)
        .insert("kind", filter.kind.as_str())
        .insert("user", &filter.email)
        .insert(
            "filtered",
            &(filter.kind != Kind::All || !filter.email.is_empty()),
        );
    if number > 1 {
        page.insert("previous_href", &href(&filter, number - 1));
    }
    if older {
        page.insert("next_href", &href(&filter, number + 1));
    }
    page.render("admin/audit.html")
}

/// `/admin/audit` with the same filters, on page `number`.
fn href(filter: &Filter, number: i64) -> String {
    let query = serde_urlencoded::to_string([
        ("kind", filter.kind.as_str()),
        ("user", filter.email.as_str()),
        ("page", &number.to_string()),
    ])
    .unwrap_or_default();
    format!("{}?{query}", paths::ADMIN_AUDIT)
}

/// An action in words; empty for an identifier this list does not know (one an app
/// adds), which the page then shows alone.
fn words(action: &str) -> &'static str {
    match action {
        "login.success" => "Signed in",
        "login.failure" => "Sign-in failed",
        "login.lockout" => "Locked out after failed sign-ins",
        "admin.enable" => "Enabled an account",
        "admin.disable" => "Disabled an account",
        "admin.promote" => "Made an administrator",
        "admin.demote" => "Took administrator rights",
        "admin.delete" => "Deleted an account",
        "admin.resend_verification" => "Sent a new verification code",
        "admin.sign_out" => "Signed a user out everywhere",
        "admin.reset_two_factor" => "Turned off a user's two-factor sign-in",
        "admin.mail_retry" => "Retried a mail",
        "admin.mail_discard" => "Discarded a mail",
        "account.sign_out_session" => "Signed out one of their sessions",
        "account.sign_out_others" => "Signed out their other sessions",
        "account.email_change" => "Changed their email address",
        "account.two_factor_enable" => "Turned on two-factor sign-in",
        "account.two_factor_disable" => "Turned off two-factor sign-in",
        "account.recovery_codes" => "Made new recovery codes",
        "account.passkey_add" => "Added a passkey",
        "account.passkey_remove" => "Removed a passkey",
        "account.delete" => "Deleted their account",
        _ => "",
    }
}
