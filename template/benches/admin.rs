//! How the admin pages' queries hold up with a million users: seeds them, then prints
//! p50 and p95 of each query the dashboard and the user directory run.
//!
//! `BENCH_DATABASE_URL=<url> cargo bench --bench admin` fills the database at that URL
//! (a `DATABASE_URL` of its own), which it empties first: never point it at data you
//! want to keep. `BENCH_USERS` changes the number of users (default 1000000).

use std::time::{Duration, Instant};

use chrono::{Duration as Age, NaiveDateTime, Utc};
use diesel::prelude::*;

use {{crate_name}}::admin::stats::dashboard_stats;
use {{crate_name}}::db::schema::{audit_events, outbox_messages, users};
use {{crate_name}}::db::{self, DatabaseSettings, DbConn, Timeouts};
use {{crate_name}}::models::user::NewUser;
use {{crate_name}}::models::user_search::{Filter, Sort, UserQuery, search_users};

const ROUNDS: usize = 30;

/// One measured query; returns how many rows it produced, so nothing is optimised away.
type Case = Box<dyn Fn(&mut DbConn) -> QueryResult<usize>>;
const NAMES: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];

fn main() -> anyhow::Result<()> {
    let Ok(url) = std::env::var("BENCH_DATABASE_URL") else {
        anyhow::bail!("set BENCH_DATABASE_URL to a database the benchmark may fill");
    };
    let users: i64 = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let settings = DatabaseSettings {
        url,
        pool_size: 2,
        timeouts: Timeouts::default(),
    };
    db::migrate(&settings)?;
    let pool = db::build_pool(&settings);
    let mut conn = pool.get()?;
    let now = Utc::now().naive_utc();

    let started = Instant::now();
    seed(&mut conn, users, now)?;
    println!(
        "seeded {users} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let query = |text: &str, page: i64| UserQuery {
        text: text.to_owned(),
        filter: Filter::All,
        sort: Sort::Newest,
        page,
    };
    let cases: Vec<(&str, Case)> = vec![
        (
            "dashboard",
            Box::new(move |conn| dashboard_stats(conn, now).map(|_| 1)),
        ),
        (
            "user list, page 1",
            Box::new(move |conn| search_users(conn, &query("", 1)).map(|page| page.users.len())),
        ),
        (
            "search matching one user",
            Box::new(move |conn| {
                search_users(conn, &query("user0000123@", 1)).map(|page| page.users.len())
            }),
        ),
        (
            "search matching 1 in 8",
            Box::new(move |conn| {
                search_users(conn, &query("grace", 1)).map(|page| page.users.len())
            }),
        ),
        (
            "admins only, page 1",
            Box::new(move |conn| {
                let admins = UserQuery {
                    filter: Filter::Admins,
                    ..query("", 1)
                };
                search_users(conn, &admins).map(|page| page.users.len())
            }),
        ),
        (
            "user list, page 1000",
            Box::new(move |conn| search_users(conn, &query("", 1000)).map(|page| page.users.len())),
        ),
    ];
    println!("{:<28} {:>9} {:>9}", "query", "p50 ms", "p95 ms");
    for (name, run) in cases {
        for _ in 0..2 {
            run(&mut conn)?;
        }
        let mut times: Vec<Duration> = (0..ROUNDS)
            .map(|_| {
                let started = Instant::now();
                run(&mut conn).map(|_| started.elapsed())
            })
            .collect::<QueryResult<_>>()?;
        times.sort();
        let at = |share: f64| times[((times.len() as f64 * share) as usize).min(times.len() - 1)];
        println!(
            "{name:<28} {:>9.1} {:>9.1}",
            at(0.50).as_secs_f64() * 1000.0,
            at(0.95).as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// `count` users over the last two years: 95% enabled, 90% verified, a third signed
/// in within two months, one in ten thousand an administrator.
fn seed(conn: &mut DbConn, count: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(audit_events::table).execute(conn)?;
    diesel::delete(outbox_messages::table).execute(conn)?;
    diesel::delete(users::table).execute(conn)?;
    let emails: Vec<String> = (0..count)
        .map(|n| format!("user{n:07}@example.com"))
        .collect();
    let names: Vec<String> = (0..count)
        .map(|n| format!("{} {n}", NAMES[n as usize % NAMES.len()]))
        .collect();
    let two_years = Age::days(730).num_seconds();
    for chunk in (0..count as usize).collect::<Vec<_>>().chunks(50_000) {
        conn.transaction(|conn| {
            for batch in chunk.chunks(2_000) {
                let rows: Vec<NewUser<'_>> = batch
                    .iter()
                    .map(|&n| {
                        let joined = now - Age::seconds(two_years * n as i64 / count);
                        NewUser {
                            email: &emails[n],
                            password_hash: "seeded",
                            name: &names[n],
                            is_admin: n % 10_000 == 0,
                            is_active: n % 20 != 0,
                            email_verified_at: (n % 10 != 0).then_some(joined),
                            created_at: joined,
                            updated_at: joined,
                        }
                    })
                    .collect();
                diesel::insert_into(users::table)
                    .values(&rows)
                    .execute(conn)?;
            }
            QueryResult::Ok(())
        })?;
    }
    // A third signed in lately.
    diesel::update(
        users::table.filter(
            users::email
                .like("%3@example.com")
                .or(users::email.like("%6@example.com"))
                .or(users::email.like("%9@example.com")),
        ),
    )
    .set(users::last_login_at.eq(Some(now - Age::days(10))))
    .execute(conn)?;
    // Fresh statistics, as the database keeps them for a table in service.
    db::refresh_statistics(conn)?;
    Ok(())
}
