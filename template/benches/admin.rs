//! How the admin pages' queries hold up with a million users: seeds them, then prints
//! p50 and p95 of each query the dashboard and the user directory run.
//!
//! `cargo bench --bench admin` fills the database at `BENCH_DATABASE_URL`, which it
//! empties first: never point it at data you want to keep.
{%- if database == "sqlite" %} Without it, the benchmark
//! uses a temporary file.
{%- else %} It must be set, to a
//! database of its own.
{%- endif %} `BENCH_USERS` changes the number of users (default 1000000).

use std::time::{Duration, Instant};

use chrono::{Duration as Age, NaiveDateTime, Utc};
use diesel::prelude::*;

use {{crate_name}}::admin::stats::dashboard_stats;
use {{crate_name}}::admin::user_search::{Filter, Sort, UserQuery, search_users};
use {{crate_name}}::config::DatabaseSettings;
use {{crate_name}}::db::schema::{audit_events, outbox_messages, users};
use {{crate_name}}::db::{self, DbConn};
use {{crate_name}}::models::user::NewUser;

const ROUNDS: usize = 30;

/// One measured query; returns how many rows it produced, so nothing is optimised away.
type Case = Box<dyn Fn(&mut DbConn) -> QueryResult<usize>>;
const NAMES: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];

fn main() -> anyhow::Result<()> {
{%- if database == "sqlite" %}
    let scratch = tempfile::TempDir::new()?;
{%- endif %}
    let url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => url,
{%- if database == "sqlite" %}
        Err(_) => scratch
            .path()
            .join("bench.db")
            .to_string_lossy()
            .into_owned(),
{%- else %}
        Err(_) => anyhow::bail!("set BENCH_DATABASE_URL to a database the benchmark may fill"),
{%- endif %}
    };
    let users: i64 = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let settings = DatabaseSettings { url, pool_size: 2 };
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
{%- if database == "postgres" %}
    // Fresh statistics and a visibility map, as autovacuum gives a table in service.
    diesel::sql_query("VACUUM ANALYZE users").execute(conn)?;
{%- elsif database == "sqlite" %}
    // Fresh statistics for the query planner, as `PRAGMA optimize` keeps them.
    diesel::sql_query("ANALYZE").execute(conn)?;
{%- else %}
    // Fresh index statistics, as InnoDB recalculates them in the background.
    diesel::sql_query("ANALYZE TABLE users").execute(conn)?;
{%- endif %}
    Ok(())
}
