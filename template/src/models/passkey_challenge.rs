//! The passkey_challenges table: challenges handed out and not answered yet, each
//! claimed once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::passkey_challenges;

/// Records a new challenge (by the hash of its nonce), dropping those issued before
/// `oldest`, which can no longer be claimed.
pub fn issue(
    conn: &mut DbConn,
    nonce_hash: &str,
    now: NaiveDateTime,
    oldest: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(passkey_challenges::table.filter(passkey_challenges::created_at.lt(oldest)))
        .execute(conn)?;
    diesel::insert_into(passkey_challenges::table)
        .values((
            passkey_challenges::nonce_hash.eq(nonce_hash),
            passkey_challenges::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims the challenge: true for the one caller whose delete removed it, if it was
/// issued at `oldest` or later.
pub fn claim(conn: &mut DbConn, nonce_hash: &str, oldest: NaiveDateTime) -> QueryResult<bool> {
    let claimed = diesel::delete(
        passkey_challenges::table
            .filter(passkey_challenges::nonce_hash.eq(nonce_hash))
            .filter(passkey_challenges::created_at.ge(oldest)),
    )
    .execute(conn)?;
    Ok(claimed == 1)
}
