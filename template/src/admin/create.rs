//! Creating an administrator, from the command line (`create-admin`).

use chrono::NaiveDateTime;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::accounts::email::EmailAddress;
use crate::accounts::name::DisplayName;
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
/// running the command vouches for it). `password_hash` must be made by
/// `accounts::password::hash_password`.
pub fn create_admin(
    conn: &mut DbConn,
    email: &EmailAddress,
    name: &DisplayName,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<User, CreateAdminError> {
    if user::get_user_by_email(conn, email.as_str())?.is_some() {
        return Err(CreateAdminError::EmailTaken(email.to_string()));
    }
    user::insert_user(
        conn,
        &NewUser {
            email: email.as_str(),
            password_hash,
            name: name.as_str(),
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
            CreateAdminError::EmailTaken(email.to_string())
        }
        other => CreateAdminError::Database(other),
    })
}
