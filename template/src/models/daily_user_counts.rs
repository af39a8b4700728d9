//! How many users joined, and how many last signed in, on each day (UTC). Counting
//! them from `users` reads an index entry per user in the range, a third of a million
//! for "signed in within 30 days" at a million users, so triggers on `users` keep these
//! per-day numbers exact in the same transaction as every insert, update and delete.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::daily_user_counts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = daily_user_counts)]
pub struct DailyUserCounts {
    pub day: NaiveDate,
    /// Users created that day.
    pub signups: i64,
    /// Users whose latest sign-in was that day.
    pub last_sign_ins: i64,
}

/// Every day from `from` on, oldest first; later days than today too, which a clock
/// set wrong may have written, as a count from the rows would include them.
pub fn since(conn: &mut DbConn, from: NaiveDate) -> QueryResult<Vec<DailyUserCounts>> {
    daily_user_counts::table
        .filter(daily_user_counts::day.ge(from))
        .order(daily_user_counts::day.asc())
        .select(DailyUserCounts::as_select())
        .load(conn)
}
