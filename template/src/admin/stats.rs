//! The numbers on the admin dashboard.

use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime};
use diesel::{Connection, QueryResult};
use serde::Serialize;

use crate::db::DbConn;
use crate::mail;
use crate::models::{daily_user_counts, outbox, user, user_counts};

/// Weeks in the sign-up chart, this one included.
pub const CHART_WEEKS: i64 = 8;

/// "Recently active" means signed in within this long.
const RECENT: Duration = Duration::days(30);

#[derive(Debug, Serialize)]
pub struct Stats {
    pub total_users: i64,
    /// Enabled, with a verified address.
    pub active_users: i64,
    /// Signed in within the last 30 days.
    pub recently_active: i64,
    pub signups_this_week: i64,
    /// Oldest first; the last one is this week.
    pub weekly_signups: Vec<WeekSignups>,
    /// Queued and not yet delivered.
    pub unsent_mail: i64,
    /// How long the message waiting longest has waited, e.g. "12 min".
    pub oldest_unsent_wait: Option<String>,
    /// Given up on: a permanent error or too many attempts.
    pub failed_mail: i64,
    /// Why delivery is paused, when the provider refuses our account or credentials.
    pub mail_paused: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WeekSignups {
    /// The Monday the week starts on, e.g. "Nov 23".
    pub label: String,
    pub signups: i64,
    /// The bar's height in the chart, 0 to 100, relative to the busiest week.
    pub height: i64,
}

/// Reads every number of the dashboard at `now`, in one transaction: the numbers agree
/// with one another, and the database sets up one read instead of one a query.
pub fn dashboard_stats(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Stats> {
    conn.transaction(|conn| read_stats(conn, now))
}

fn read_stats(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Stats> {
    let this_week = start_of_week(now);
    let chart_starts = this_week - Duration::weeks(CHART_WEEKS - 1);
    let recent = now - RECENT;
    // The kept counts are whole days; "recent" starts within a day, so the users who
    // last signed in during the rest of that day are counted from their rows.
    let first_whole_day = recent.date() + Duration::days(1);
    let days = daily_user_counts::since(conn, chart_starts.date().min(recent.date()))?;

    let mut weekly_signups = Vec::new();
    for weeks_ago in (0..CHART_WEEKS).rev() {
        let starts = this_week - Duration::weeks(weeks_ago);
        let week = starts.date()..(starts + Duration::weeks(1)).date();
        let signups = days
            .iter()
            .filter(|day| week.contains(&day.day))
            .map(|day| day.signups)
            .sum();
        weekly_signups.push(WeekSignups {
            label: starts.format("%b %-d").to_string(),
            signups,
            height: 0,
        });
    }
    let busiest = weekly_signups.iter().map(|week| week.signups).max();
    for week in &mut weekly_signups {
        week.height = busiest
            .filter(|busiest| *busiest > 0)
            .map_or(0, |busiest| week.signups * 100 / busiest);
    }
    let recently_active =
        user::count_signed_in_between(conn, recent, first_whole_day.and_time(NaiveTime::MIN))?
            + days
                .iter()
                .filter(|day| day.day >= first_whole_day)
                .map(|day| day.last_sign_ins)
                .sum::<i64>();

    let counts = user_counts::get(conn)?;
    let (unsent_mail, oldest_unsent) = outbox::count_unsent(conn)?;
    Ok(Stats {
        total_users: counts.total,
        active_users: counts.active,
        recently_active,
        signups_this_week: weekly_signups.last().map_or(0, |week| week.signups),
        weekly_signups,
        unsent_mail,
        oldest_unsent_wait: oldest_unsent.map(|queued| waited(now - queued)),
        failed_mail: outbox::count_given_up(conn)?,
        // Nothing waits, so nothing is paused: one query fewer on most views.
        mail_paused: if unsent_mail == 0 {
            None
        } else {
            outbox::latest_unsent_error(conn)?
                .and_then(|error| error.strip_prefix(mail::outbox::PAUSED).map(str::to_owned))
        },
    })
}

/// A wait in the largest units that matter: "under a minute", "12 min", "3 h 5 min",
/// "2 days".
fn waited(wait: Duration) -> String {
    let minutes = wait.num_minutes();
    match minutes {
        ..1 => "under a minute".to_owned(),
        1..60 => format!("{minutes} min"),
        60..1440 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => match wait.num_days() {
            1 => "1 day".to_owned(),
            days => format!("{days} days"),
        },
    }
}

/// Monday, 00:00 UTC, of the week `now` falls in.
pub fn start_of_week(now: NaiveDateTime) -> NaiveDateTime {
    let days_since_monday = i64::from(now.weekday().num_days_from_monday());
    (now.date() - Duration::days(days_since_monday)).and_time(NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn weeks_start_on_monday_at_midnight() {
        let saturday = NaiveDate::from_ymd_opt(2026, 11, 28)
            .unwrap()
            .and_hms_opt(15, 30, 0)
            .unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();

        assert_eq!(start_of_week(saturday), monday);
        assert_eq!(start_of_week(monday), monday);
    }

    #[test]
    fn waits_are_told_in_the_largest_units_that_matter() {
        let told: Vec<String> = [
            0,
            59,
            60,
            12 * 60,
            185 * 60,
            1439 * 60,
            86_400,
            3 * 86_400 + 7,
        ]
        .into_iter()
        .map(|seconds| waited(Duration::seconds(seconds)))
        .collect();

        assert_eq!(
            told,
            [
                "under a minute",
                "under a minute",
                "1 min",
                "12 min",
                "3 h 5 min",
                "23 h 59 min",
                "1 day",
                "3 days"
            ]
        );
    }
}
