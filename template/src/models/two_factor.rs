//! The two_factor table: each user's authenticator app, while enrolling and once on.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::two_factor;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = two_factor)]
pub struct TwoFactor {
    pub user_id: i64,
    /// `keys::Keys::seal_two_factor_secret`'s output.
    pub secret_sealed: String,
    /// `None` while the user is still enrolling.
    pub enabled_at: Option<NaiveDateTime>,
}

pub fn find(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<TwoFactor>> {
    two_factor::table
        .find(user_id)
        .select(TwoFactor::as_select())
        .get_result(conn)
        .optional()
}

/// Whether user `user_id` signs in with a second factor.
pub fn is_enabled(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        two_factor::table
            .find(user_id)
            .filter(two_factor::enabled_at.is_not_null()),
    ))
    .get_result(conn)
}

/// Of `user_ids`, those who sign in with a second factor.
pub fn enabled_among(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<Vec<i64>> {
    two_factor::table
        .filter(two_factor::user_id.eq_any(user_ids))
        .filter(two_factor::enabled_at.is_not_null())
        .select(two_factor::user_id)
        .load(conn)
}

/// Starts an enrolment with a new sealed secret, replacing an unfinished one. Does
/// nothing when two-factor sign-in is on already; says whether it started. Not for a
/// transaction: on some databases the unique violation it expects aborts one.
pub fn start_enrolment(
    conn: &mut DbConn,
    user_id: i64,
    secret_sealed: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::delete(
        two_factor::table
            .find(user_id)
            .filter(two_factor::enabled_at.is_null()),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(two_factor::table)
        .values((
            two_factor::user_id.eq(user_id),
            two_factor::secret_sealed.eq(secret_sealed),
            two_factor::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        // The row left is an enabled one.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Uses time step `step` of user `user_id`'s authenticator at sign-in, refusing a step
/// no later than the last one accepted, so each code works once. Says whether it was
/// accepted.
pub fn accept_step(conn: &mut DbConn, user_id: i64, step: i64) -> QueryResult<bool> {
    let accepted = diesel::update(
        two_factor::table
            .find(user_id)
            .filter(two_factor::enabled_at.is_not_null())
            .filter(
                two_factor::last_step
                    .is_null()
                    .or(two_factor::last_step.lt(step)),
            ),
    )
    .set(two_factor::last_step.eq(step))
    .execute(conn)?;
    Ok(accepted == 1)
}

/// Turns two-factor sign-in on with the enrolment `row`, whose secret gave the code of
/// step `step`; not if that enrolment was restarted meanwhile (another secret) or is
/// finished already. Says whether it did.
pub fn enable(
    conn: &mut DbConn,
    row: &TwoFactor,
    step: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let enabled = diesel::update(
        two_factor::table
            .find(row.user_id)
            .filter(two_factor::enabled_at.is_null())
            .filter(two_factor::secret_sealed.eq(&row.secret_sealed)),
    )
    .set((
        two_factor::enabled_at.eq(now),
        two_factor::last_step.eq(step),
    ))
    .execute(conn)?;
    Ok(enabled == 1)
}

/// Turns two-factor sign-in off (or drops an unfinished enrolment); says whether it
/// was on. Of two at once, one says so.
pub fn delete(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    let enabled = diesel::delete(
        two_factor::table
            .find(user_id)
            .filter(two_factor::enabled_at.is_not_null()),
    )
    .execute(conn)?;
    diesel::delete(two_factor::table.find(user_id)).execute(conn)?;
    Ok(enabled == 1)
}
