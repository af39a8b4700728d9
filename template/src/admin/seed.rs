//! Demo data for a development database (`seed`): people in every state the admin
//! pages show, an administrator to sign in as, and some history in the audit log.

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

use crate::db::{self, DbConn};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::user::{self, NewUser};

/// The administrator the demo data signs in as.
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// Every demo account's password: printed by `seed`, for development databases only.
pub const PASSWORD: &str = "Demo-Password-2026";

const FIRST_NAMES: [&str; 8] = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
];
const LAST_NAMES: [&str; 5] = ["Lovelace", "Hopper", "Turing", "Johnson", "Liskov"];

/// What `seed` made.
#[derive(Debug, PartialEq, Eq)]
pub enum Seeded {
    /// This many people besides the administrator.
    Users(usize),
    /// The administrator exists already: the database was seeded before.
    Already,
}

/// Adds the administrator and 40 people who joined over the last eight weeks (a few
/// recent ones unverified, some disabled, one more administrator), with their
/// sign-ins and a few admin actions in the audit log, in one transaction. Every
/// account gets `password_hash` (from `accounts::password::hash_password`).
pub fn seed(conn: &mut DbConn, password_hash: &str, now: NaiveDateTime) -> QueryResult<Seeded> {
    db::write_transaction(conn, |conn| {
        if user::get_user_by_email(conn, ADMIN_EMAIL)?.is_some() {
            return Ok(Seeded::Already);
        }
        let admin = user::insert_user(
            conn,
            &NewUser {
                email: ADMIN_EMAIL,
                password_hash,
                name: "Demo Admin",
                is_admin: true,
                is_active: true,
                email_verified_at: Some(now - Duration::days(60)),
                created_at: now - Duration::days(60),
                updated_at: now,
            },
        )?;
        let mut count = 0;
        for (n, first) in FIRST_NAMES.iter().enumerate() {
            for (m, last) in LAST_NAMES.iter().enumerate() {
                let index = i64::try_from(n * LAST_NAMES.len() + m).expect("a small index");
                let name = format!("{first} {last}");
                let email = format!("{}.{}@example.com", first, last).to_lowercase();
                // Over the last eight weeks, more each week, so the chart has a shape.
                let joined = now - Duration::hours(1_344 * (40 - index) * (40 - index) / 1_600);
                // Only recent ones: older unverified accounts are purged (UNVERIFIED_ACCOUNT_DAYS).
                let verified = index < 30 || index % 4 != 3;
                let person = user::insert_user(
                    conn,
                    &NewUser {
                        email: &email,
                        password_hash,
                        name: &name,
                        is_admin: index == 7,
                        is_active: index % 11 != 5,
                        email_verified_at: verified.then_some(joined + Duration::minutes(3)),
                        created_at: joined,
                        updated_at: joined,
                    },
                )?;
                count += 1;
                let event = |action, hours_ago: i64| NewAuditEvent {
                    actor_id: Some(person.id),
                    actor_email: &person.email,
                    action,
                    target_id: None,
                    target_email: None,
                    ip: "192.0.2.10",
                    created_at: now - Duration::hours(hours_ago),
                };
                if verified {
                    user::record_sign_in(conn, person.id, now - Duration::hours(index * 5))?;
                    audit_event::record(conn, &event("login.success", index * 5))?;
                }
                if index % 6 == 1 {
                    audit_event::record(conn, &event("login.failure", index * 5 + 1))?;
                }
                if !person.is_active {
                    audit_event::record(
                        conn,
                        &NewAuditEvent {
                            actor_id: Some(admin.id),
                            actor_email: &admin.email,
                            action: "admin.disable",
                            target_id: Some(person.id),
                            target_email: Some(&person.email),
                            ip: "192.0.2.1",
                            created_at: now - Duration::hours(index),
                        },
                    )?;
                }
            }
        }
        Ok(Seeded::Users(count))
    })
}
