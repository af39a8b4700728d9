use chrono::{Duration, Utc};
use diesel::result::{DatabaseErrorKind, Error};

use {{crate_name}}::db;
use {{crate_name}}::models::user::{self, NewUser};

use crate::helpers::spawn_app;

fn new_user<'a>(email: &'a str, now: chrono::NaiveDateTime) -> NewUser<'a> {
    NewUser {
        email,
        password_hash: "$2b$04$hash",
        name: "Ada Lovelace",
        is_admin: false,
        is_active: true,
        email_verified_at: None,
        created_at: now,
        updated_at: now,
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let app = spawn_app().await;

    let applied = db::migrate(&app.settings.database).expect("second migration run failed");

    assert!(applied.is_empty(), "re-applied {applied:?}");
}

#[tokio::test]
async fn a_user_round_trips_through_the_database() {
    let app = spawn_app().await;
    let mut conn = app.pool.get().unwrap();
    // Whole microseconds: the precision every supported database keeps.
    let now = chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros())
        .unwrap()
        .naive_utc();
    let verified = now - Duration::minutes(5);

    let mut row = new_user("ada@example.com", now);
    row.email_verified_at = Some(verified);
    row.is_admin = true;
    let stored = user::insert_user(&mut conn, &row).unwrap();

    let found = user::get_user_by_email(&mut conn, "ada@example.com")
        .unwrap()
        .expect("user not found");
    assert_eq!(found.id, stored.id);
    assert_eq!(found.name, "Ada Lovelace");
    assert!(found.is_admin && found.is_active);
    assert_eq!(found.email_verified_at, Some(verified));
    assert_eq!(found.last_login_at, None);
    assert_eq!(found.created_at, now);
    assert_eq!(user::count_active_admins(&mut conn).unwrap(), 1);
}

#[tokio::test]
async fn two_users_cannot_share_an_email() {
    let app = spawn_app().await;
    let mut conn = app.pool.get().unwrap();
    let now = Utc::now().naive_utc();
    user::insert_user(&mut conn, &new_user("ada@example.com", now)).unwrap();

    let second = user::insert_user(&mut conn, &new_user("ada@example.com", now));

    assert!(
        matches!(
            second,
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
        ),
        "{second:?}"
    );
}

#[tokio::test]
async fn emails_differing_only_in_accents_are_different_accounts() {
    let app = spawn_app().await;
    let mut conn = app.pool.get().unwrap();
    let now = Utc::now().naive_utc();
    user::insert_user(&mut conn, &new_user("rene@example.com", now)).unwrap();

    let accented = user::insert_user(&mut conn, &new_user("rené@example.com", now));

    assert!(accented.is_ok(), "{accented:?}");
    let found = user::get_user_by_email(&mut conn, "rene@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(found.email, "rene@example.com");
}
