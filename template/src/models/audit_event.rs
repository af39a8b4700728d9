use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::db::schema::audit_events;

/// Entries per page of `/admin/audit`.
pub const PAGE_SIZE: i64 = 50;

/// One entry of the audit log.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    /// The account that acted, while it exists.
    pub actor_id: Option<i64>,
    /// Who acted: the account's address, or the address typed at a failed login.
    pub actor_email: String,
    /// What happened, e.g. `admin.disable` or `login.failure`.
    pub action: String,
    pub target_id: Option<i64>,
    pub target_email: Option<String>,
    /// The client's address, read through `TRUSTED_PROXIES`.
    pub ip: String,
    pub created_at: NaiveDateTime,
}

/// An entry to write.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub actor_id: Option<i64>,
    pub actor_email: &'a str,
    pub action: &'a str,
    pub target_id: Option<i64>,
    pub target_email: Option<&'a str>,
    pub ip: &'a str,
    pub created_at: NaiveDateTime,
}

impl<'a> NewAuditEvent<'a> {
    /// What a user did to their own account: they are actor and target.
    pub fn by_owner(
        (user_id, email): (i64, &'a str),
        action: &'a str,
        ip: &'a str,
        created_at: NaiveDateTime,
    ) -> Self {
        Self {
            actor_id: Some(user_id),
            actor_email: email,
            action,
            target_id: Some(user_id),
            target_email: Some(email),
            ip,
            created_at,
        }
    }
}

/// Writes an entry; call it in the transaction of the change it records.
pub fn record(conn: &mut DbConn, event: &NewAuditEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// Deletes up to `limit` entries written before `before`; returns how many.
pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = audit_events::table
        .filter(audit_events::created_at.lt(before))
        .select(audit_events::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(audit_events::table.filter(audit_events::id.eq_any(ids))).execute(conn)
}

/// Every entry by or about the user `user_id`, newest first (for their data export).
pub fn events_about(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(
            audit_events::actor_id
                .eq(user_id)
                .or(audit_events::target_id.eq(user_id)),
        )
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .select(AuditEvent::as_select())
        .load(conn)
}

/// Which kind of entries the log shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    #[default]
    All,
    SignIns,
    FailedSignIns,
    Lockouts,
    Admin,
    Account,
}

impl Kind {
    pub const ALL: [Self; 6] = [
        Self::All,
        Self::SignIns,
        Self::FailedSignIns,
        Self::Lockouts,
        Self::Admin,
        Self::Account,
    ];

    /// The name in URLs (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::SignIns => "sign-ins",
            Self::FailedSignIns => "failed-sign-ins",
            Self::Lockouts => "lockouts",
            Self::Admin => "admin",
            Self::Account => "account",
        }
    }

    /// The choice as the filter offers it.
    pub fn label(self) -> &'static str {
        match self {
            Self::All => "Everything",
            Self::SignIns => "Sign-ins",
            Self::FailedSignIns => "Failed sign-ins",
            Self::Lockouts => "Lockouts",
            Self::Admin => "Admin actions",
            Self::Account => "Users' own account changes",
        }
    }
}

/// What the log is narrowed to: a kind of entry, and entries by or about one address.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Kind,
    /// Lower-case; empty for everyone.
    pub email: String,
}

/// Page `page` (from 1) of the entries `filter` lets through, newest first, and
/// whether older ones follow. The log grows with every sign-in, so it is never
/// counted. Each kind and the address have an index
/// (`migrations/*_filter_the_audit_log`); the prefix kinds use it where the
/// database's collation lets LIKE do so.
pub fn page_of_events(
    conn: &mut DbConn,
    filter: &Filter,
    page: i64,
) -> QueryResult<(Vec<AuditEvent>, bool)> {
    let mut query = audit_events::table
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .select(AuditEvent::as_select())
        .limit(PAGE_SIZE + 1)
        // Saturating: any page number is a request, not a reason to overflow.
        .offset((page.max(1) - 1).saturating_mul(PAGE_SIZE))
        .into_boxed();
    query = match filter.kind {
        Kind::All => query,
        Kind::SignIns => query.filter(audit_events::action.eq("login.success")),
        Kind::FailedSignIns => query.filter(audit_events::action.eq("login.failure")),
        Kind::Lockouts => query.filter(audit_events::action.eq("login.lockout")),
        Kind::Admin => query.filter(audit_events::action.like("admin.%")),
        Kind::Account => query.filter(audit_events::action.like("account.%")),
    };
    if !filter.email.is_empty() {
        query = query.filter(
            audit_events::actor_email
                .eq(&filter.email)
                .or(audit_events::target_email.eq(&filter.email)),
        );
    }
    let mut events = query.load(conn)?;
    let older = events.len() as i64 > PAGE_SIZE;
    events.truncate(PAGE_SIZE as usize);
    Ok((events, older))
}
