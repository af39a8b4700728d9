//! How many users there are, of each kind the admin pages count. Counting a million
//! rows one by one is too slow for a page, so triggers on `users` keep these totals
//! up to date in the same transaction as every insert, update and delete.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::user_counts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = user_counts)]
pub struct UserCounts {
    pub total: i64,
    /// Enabled, with a verified address.
    pub active: i64,
    pub admins: i64,
    pub disabled: i64,
    pub unverified: i64,
}

pub fn get(conn: &mut DbConn) -> QueryResult<UserCounts> {
    user_counts::table
        .select(UserCounts::as_select())
        .get_result(conn)
}
