//! Operations on administrator accounts.

use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::DbConn;
use crate::models::user::{self, NewUser, User};

/// Why an administrator could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    #[error("a user with the email {0} already exists")]
    EmailTaken(String),
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// Creates an active administrator whose email counts as verified (the person
/// running the command vouches for it). `email` must already be normalised and
/// `password_hash` made by `password::hash_password`.
pub fn create_admin(
    conn: &mut DbConn,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<User, CreateAdminError> {
    if user::get_user_by_email(conn, email)?.is_some() {
        return Err(CreateAdminError::EmailTaken(email.to_owned()));
    }
    let now = Utc::now().naive_utc();
    user::insert_user(
        conn,
        &NewUser {
            email,
            password_hash,
            name,
            is_admin: true,
            is_active: true,
            email_verified_at: Some(now),
            created_at: now,
            updated_at: now,
        },
    )
    .map_err(|error| match error {
        // Another process created the same email in the meantime.
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            CreateAdminError::EmailTaken(email.to_owned())
        }
        other => CreateAdminError::Database(other),
    })
}
