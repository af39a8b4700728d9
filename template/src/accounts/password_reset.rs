//! Forgotten passwords: a single-use emailed link, then a new password that ends
//! every session of the account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::email::EmailAddress;
use crate::accounts::{AccountSettings, FlowError};
use crate::db::{self, DbConn};
use crate::keys::{random_token, token_hash};
use crate::mail::{Email, Mailer, OutgoingEmail, outbox};
use crate::models::password_reset::{self, NewPasswordResetToken};
use crate::models::{User, session, user};

/// Someone asked for a reset link for `email`. Every address gets the same treatment,
/// in the same time: an unknown or disabled one goes through the same steps, which
/// change nothing and send nothing.
pub fn request_reset(
    conn: &mut DbConn,
    mailer: &Mailer,
    settings: &AccountSettings,
    email: &EmailAddress,
    now: NaiveDateTime,
) -> Result<(), FlowError> {
    let account =
        user::get_user_by_email(conn, email.as_str())?.filter(|account| account.is_active);
    let token = random_token(32);
    let mail = mailer.compose(
        email.as_str(),
        &Email::PasswordReset {
            name: account
                .as_ref()
                .map(|account| account.name.clone())
                .unwrap_or_default(),
            token: token.clone(),
        },
    )?;
    start_reset(conn, settings, account.as_ref(), &token, &mail, now)?;
    Ok(())
}

/// Stores a reset token for `account` (retiring older ones) and queues its mail.
/// `token` must come from `keys::random_token(32)`; only its hash is stored.
/// Without an account the same statements run against no row and nothing is sent,
/// so unknown addresses take as long as known ones.
fn start_reset(
    conn: &mut DbConn,
    settings: &AccountSettings,
    account: Option<&User>,
    token: &str,
    mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<()> {
    db::write_transaction(conn, |conn| {
        let Some(account) = account else {
            password_reset::retire_tokens(conn, user::NO_USER_ID, now)?;
            return Ok(());
        };
        db::lock_user_row(conn, account.id)?;
        if !outbox::enqueue_within_limits(conn, account.id, mail, settings.mail_limits, now)? {
            // Over the limit: no mail, and the link already sent stays valid.
            return Ok(());
        }
        password_reset::retire_tokens(conn, account.id, now)?;
        password_reset::insert_token(
            conn,
            &NewPasswordResetToken {
                user_id: account.id,
                token_hash: &token_hash(token),
                created_at: now,
                expires_at: now + settings.reset_lifetime,
            },
        )
        .map(drop)
    })
}

/// The account a live reset token belongs to.
pub fn account_for_token(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<User>> {
    match password_reset::find_live_token(conn, &token_hash(token), now)? {
        Some(live) => user::get_user(conn, live.user_id),
        None => Ok(None),
    }
}

/// Redeems the token and sets the new password, ending every session of the
/// account, retiring its other tokens and queuing the "password changed" mail, in
/// one transaction. `None` when the token was not live (or a parallel request
/// redeemed it first): exactly one redemption succeeds.
pub fn finish_reset(
    conn: &mut DbConn,
    token: &str,
    new_password_hash: &str,
    changed_mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<Option<User>> {
    db::write_transaction(conn, |conn| {
        let hash = token_hash(token);
        if !password_reset::redeem_token(conn, &hash, now)? {
            return Ok(None);
        }
        let Some(live) = password_reset::find_token(conn, &hash)? else {
            return Ok(None);
        };
        user::update_password_hash(conn, live.user_id, new_password_hash, now)?;
        // The link proved the address works.
        user::mark_email_verified(conn, live.user_id, now)?;
        password_reset::retire_tokens(conn, live.user_id, now)?;
        session::delete_user_sessions(conn, live.user_id)?;
        outbox::enqueue(conn, Some(live.user_id), changed_mail, now)?;
        user::get_user(conn, live.user_id)
    })
}
