//! The rate_limit_hits table: the auth forms' per-address budget that every instance
//! shares, counted per fixed window.

use chrono::{DateTime, Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::rate_limit_hits as hits;
use crate::db::{self, DbConn};

/// The start of the `window`-long window `now` falls in, counted from the Unix epoch so
/// that every instance cuts the same windows.
pub fn window_start(now: NaiveDateTime, window: Duration) -> NaiveDateTime {
    let seconds = now.and_utc().timestamp();
    let start = seconds - seconds.rem_euclid(window.num_seconds().max(1));
    DateTime::from_timestamp(start, 0).map_or(now, |start| start.naive_utc())
}

/// Counts one more attempt from `bucket` in the window starting at `window_start`;
/// returns the attempts in that window so far, this one included.
pub fn count_hit(conn: &mut DbConn, bucket: &str, window_start: NaiveDateTime) -> QueryResult<i64> {
    db::write_transaction(conn, |conn| {
        db::add_rate_limit_hit(conn, bucket, window_start)?;
        hits::table
            .find((bucket, window_start))
            .select(hits::hits)
            .get_result(conn)
    })
}

/// Forgets the windows that started before `before`; returns how many.
pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(hits::table.filter(hits::window_start.lt(before))).execute(conn)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn windows_are_cut_from_the_epoch_so_every_instance_cuts_the_same() {
        let at = |h, m, s| {
            NaiveDate::from_ymd_opt(2026, 12, 5)
                .unwrap()
                .and_hms_opt(h, m, s)
                .unwrap()
        };
        let ten_minutes = Duration::minutes(10);

        assert_eq!(window_start(at(14, 37, 12), ten_minutes), at(14, 30, 0));
        assert_eq!(window_start(at(14, 30, 0), ten_minutes), at(14, 30, 0));
        assert_eq!(window_start(at(14, 29, 59), ten_minutes), at(14, 20, 0));
        assert_eq!(window_start(at(14, 37, 12), Duration::days(1)), at(0, 0, 0));
    }
}
