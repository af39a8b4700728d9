use chrono::NaiveDateTime;
use diesel::prelude::*;

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

/// Page `page` (from 1) of the log, newest first, and whether older entries follow.
/// The log grows with every sign-in, so it is never counted.
pub fn page_of_events(conn: &mut DbConn, page: i64) -> QueryResult<(Vec<AuditEvent>, bool)> {
    let mut events = audit_events::table
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .select(AuditEvent::as_select())
        .limit(PAGE_SIZE + 1)
        // Saturating: any page number is a request, not a reason to overflow.
        .offset((page.max(1) - 1).saturating_mul(PAGE_SIZE))
        .load(conn)?;
    let older = events.len() as i64 > PAGE_SIZE;
    events.truncate(PAGE_SIZE as usize);
    Ok((events, older))
}
