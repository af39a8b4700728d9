//! The admin area: the dashboard's numbers and the user directory.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use reqwest::header::LOCATION;

use {{crate_name}}::admin::actions::{self, Action, Actor, Refusal};
use {{crate_name}}::admin::stats;
use {{crate_name}}::clock::Clock;
use {{crate_name}}::db::schema::{
    daily_user_counts, outbox_messages, password_reset_tokens, sessions, users, verification_codes,
};
use {{crate_name}}::db::{self, DatabaseSettings};
use {{crate_name}}::mail::OutgoingEmail;
use {{crate_name}}::mail::outbox;
use {{crate_name}}::models::user::{self, NewUser};
use {{crate_name}}::models::user_search::{Filter, Sort, UserQuery, search_users};

use crate::backend::wait_for_lock_waiters;
use crate::helpers::{PASSWORD, TestApp, eventually, spawn_app};

const ADMIN: &str = "admin@example.com";

#[tokio::test]
async fn the_dashboard_counts_users_weekly_signups_and_mail() {
    let app = admin_app().await;
    let now = app.clock.now();
    let three_weeks_ago = now - Duration::weeks(3);
    seed(&app, "new1@example.com", "New", now, Seed::default());
    seed(
        &app,
        "new2@example.com",
        "New",
        now,
        Seed {
            verified: false,
            ..Seed::default()
        },
    );
    seed(
        &app,
        "new3@example.com",
        "New",
        now,
        Seed {
            active: false,
            ..Seed::default()
        },
    );
    seed(
        &app,
        "old1@example.com",
        "Old",
        three_weeks_ago,
        Seed {
            last_login: Some(now - Duration::days(3)),
            ..Seed::default()
        },
    );
    seed(
        &app,
        "old2@example.com",
        "Old",
        three_weeks_ago,
        Seed {
            last_login: Some(now - Duration::days(40)),
            ..Seed::default()
        },
    );
    seed(
        &app,
        "ancient@example.com",
        "Old",
        now - Duration::weeks(10),
        Seed::default(),
    );
    queue_mail(&app, "later@example.com", now + Duration::days(1), None);
    {
        // Queued three hours ago, to be tried again tomorrow.
        let mut conn = app.pool.get().unwrap();
        diesel::update(
            outbox_messages::table.filter(outbox_messages::recipient.eq("later@example.com")),
        )
        .set(outbox_messages::created_at.eq(now - Duration::minutes(185)))
        .execute(&mut conn)
        .unwrap();
    }
    queue_mail(&app, "refused@example.com", now, Some(now));
    let admin_signed_in_recently = {
        let mut conn = app.pool.get().unwrap();
        let admin = user::get_user_by_email(&mut conn, ADMIN).unwrap().unwrap();
        i64::from(
            admin
                .last_login_at
                .is_some_and(|at| at >= now - Duration::days(30)),
        )
    };
    // The admin's own verification mail must be out before mail is counted.
    eventually("the admin's mail to be marked sent", || {
        (unsent_count(&app) == 1).then_some(())
    })
    .await;

    let page = app.get("/admin").await.text().await.unwrap();

    // The admin, three new, two three weeks old, one older than the chart.
    assert_eq!(stat(&page, "total_users"), 7);
    // Everyone but the unverified and the disabled one.
    assert_eq!(stat(&page, "active_users"), 5);
    assert_eq!(stat(&page, "recently_active"), 1 + admin_signed_in_recently);
    assert_eq!(stat(&page, "signups_this_week"), 4);
    assert_eq!(stat(&page, "unsent_mail"), 1);
    assert!(
        page.contains(r#"<span data-stat="oldest_unsent_wait">3 h 5 min</span>"#),
        "{page}"
    );
    assert_eq!(stat(&page, "failed_mail"), 1);
    assert_eq!(bars(&page), [0, 0, 0, 0, 2, 0, 0, 4]);
}

#[tokio::test]
async fn search_is_a_case_insensitive_literal_substring_of_email_or_name() {
    let app = admin_app().await;
    let now = app.clock.now();
    for (email, name) in [
        ("percent@example.com", "100% Real"),
        ("snake@example.com", "snake_case"),
        ("slash@example.com", r"back\slash"),
        ("bang@example.com", "wow!"),
        ("byron@example.com", "Augusta Byron"),
        ("grace@example.com", "Grace Hopper"),
    ] {
        seed(&app, email, name, now, Seed::default());
    }

    for (search, expected) in [
        ("%", vec!["percent@example.com"]),
        ("_", vec!["snake@example.com"]),
        (r"\", vec!["slash@example.com"]),
        ("!", vec!["bang@example.com"]),
        ("BYRON", vec!["byron@example.com"]),
        ("GRACE@", vec!["grace@example.com"]),
        ("' OR '1'='1", vec![]),
        ("\" OR 1=1 --", vec![]),
    ] {
        let response = app.get(&users_url(&[("q", search)])).await;
        assert_eq!(response.status(), 200, "{search}");
        let page = response.text().await.unwrap();
        assert_eq!(emails_in(&page), expected, "{search}");
    }
}

#[tokio::test]
async fn filters_show_admins_disabled_or_unverified_users() {
    let app = admin_app().await;
    let now = app.clock.now();
    seed(
        &app,
        "boss@example.com",
        "Boss",
        now,
        Seed {
            admin: true,
            ..Seed::default()
        },
    );
    seed(
        &app,
        "gone@example.com",
        "Gone",
        now,
        Seed {
            active: false,
            ..Seed::default()
        },
    );
    seed(
        &app,
        "new@example.com",
        "New",
        now,
        Seed {
            verified: false,
            ..Seed::default()
        },
    );

    let mut shown = Vec::new();
    for filter in ["admins", "disabled", "unverified", "all"] {
        let page = app
            .get(&users_url(&[("filter", filter)]))
            .await
            .text()
            .await
            .unwrap();
        let mut emails = emails_in(&page);
        emails.sort();
        shown.push(emails);
    }

    assert_eq!(shown[0], ["admin@example.com", "boss@example.com"]);
    assert_eq!(shown[1], ["gone@example.com"]);
    assert_eq!(shown[2], ["new@example.com"]);
    assert_eq!(shown[3].len(), 4);
}

#[tokio::test]
async fn users_are_listed_newest_first_or_by_email_25_to_a_page() {
    let app = admin_app().await;
    let now = app.clock.now();
    // Thirty users, one minute apart; user29 is the newest.
    for n in 0..30 {
        let joined = now - Duration::hours(1) + Duration::minutes(n);
        seed(
            &app,
            &format!("user{n:02}@example.com"),
            "User",
            joined,
            Seed::default(),
        );
    }

    let first = app.get("/admin/users").await.text().await.unwrap();
    let second = app
        .get(&users_url(&[("page", "2")]))
        .await
        .text()
        .await
        .unwrap();
    let beyond = app
        .get(&users_url(&[("page", "99")]))
        .await
        .text()
        .await
        .unwrap();
    let by_email = app
        .get(&users_url(&[("sort", "email")]))
        .await
        .text()
        .await
        .unwrap();

    let first = emails_in(&first);
    assert_eq!(first.len(), 25);
    // The admin signed up last, so comes first.
    assert_eq!(&first[..2], ["admin@example.com", "user29@example.com"]);
    let second_emails = emails_in(&second);
    assert_eq!(second_emails.len(), 6);
    assert_eq!(second_emails.last().unwrap(), "user00@example.com");
    assert!(second.contains("Page 2 of 2"), "{second}");
    assert!(second.contains(r#"data-total="31""#), "{second}");
    assert_eq!(
        emails_in(&beyond),
        second_emails,
        "a page past the end shows the last"
    );
    assert_eq!(
        &emails_in(&by_email)[..2],
        ["admin@example.com", "user00@example.com"]
    );
}

#[tokio::test]
async fn page_links_keep_the_search_filter_and_order() {
    let app = admin_app().await;
    let now = app.clock.now();
    for n in 0..30 {
        seed(
            &app,
            &format!("match{n:02}@example.com"),
            "Match",
            now,
            Seed {
                verified: false,
                ..Seed::default()
            },
        );
    }

    let page = app
        .get(&users_url(&[
            ("q", "match"),
            ("filter", "unverified"),
            ("sort", "email"),
        ]))
        .await
        .text()
        .await
        .unwrap();

    // As a browser reads the attribute.
    let page = page.replace("&#x2F;", "/").replace("&amp;", "&");
    assert!(
        page.contains(r#"href="/admin/users?q=match&filter=unverified&sort=email&page=2""#),
        "{page}"
    );
}

#[tokio::test]
async fn the_totals_follow_sign_ups_and_every_admin_action() {
    let app = admin_app().await;
    let now = app.clock.now();
    seed(
        &app,
        "pending@example.com",
        "Pending",
        now,
        Seed {
            verified: false,
            ..Seed::default()
        },
    );
    app.signed_up_user_in(&app.new_browser(), "member@example.com")
        .await;
    let member = user_id(&app, "member@example.com");
    assert_eq!(shown_totals(&app).await, [3, 2, 1, 0, 1]);

    for (action, expected) in [
        ("disable", [3, 1, 1, 1, 1]),
        ("promote", [3, 1, 2, 1, 1]),
        ("enable", [3, 2, 2, 0, 1]),
        ("demote", [3, 2, 1, 0, 1]),
        ("delete", [2, 1, 1, 0, 1]),
    ] {
        assert_eq!(act(&app, member, action).await.status(), 303, "{action}");
        assert_eq!(shown_totals(&app).await, expected, "after {action}");
        assert_eq!(counted_totals(&app), expected, "after {action}");
    }
}

#[tokio::test]
async fn a_search_matching_over_a_thousand_says_more_and_still_finds_rare_users() {
    let app = admin_app().await;
    let now = app.clock.now();
    let emails: Vec<String> = (0..1010)
        .map(|n| format!("member{n:04}@example.com"))
        .collect();
    // member0000 is the newest.
    let rows: Vec<NewUser<'_>> = emails
        .iter()
        .enumerate()
        .map(|(n, email)| NewUser {
            email,
            password_hash: "not a hash: this user never signs in",
            name: "Member",
            is_admin: false,
            is_active: true,
            email_verified_at: Some(now),
            created_at: now - Duration::seconds(n as i64 + 1),
            updated_at: now,
        })
        .collect();
    {
        let mut conn = app.pool.get().unwrap();
        diesel::insert_into(users::table)
            .values(&rows)
            .execute(&mut conn)
            .unwrap();
    }
    seed(
        &app,
        "z.rare@example.com",
        "Zebedee Quill",
        now,
        Seed::default(),
    );

    let common = app
        .get(&users_url(&[("q", "MEMBER")]))
        .await
        .text()
        .await
        .unwrap();
    let last = app
        .get(&users_url(&[("q", "member"), ("page", "99")]))
        .await
        .text()
        .await
        .unwrap();
    let exactly_the_limit = app
        .get(&users_url(&[("q", "member0")]))
        .await
        .text()
        .await
        .unwrap();

    assert!(
        common.contains(r#"data-total="1000" data-more"#),
        "{common}"
    );
    assert!(common.contains("More than 1000 users"), "{common}");
    assert_eq!(emails_in(&common)[0], "member0000@example.com");
    assert!(last.contains("Page 40 of 40"), "{last}");
    assert_eq!(emails_in(&last)[0], "member0975@example.com");
    assert!(
        exactly_the_limit.contains(r#"data-total="1000">"#),
        "{exactly_the_limit}"
    );
    for rare in ["zebedee", "EDEE Q", "z.rare@"] {
        let page = app
            .get(&users_url(&[("q", rare)]))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(emails_in(&page), ["z.rare@example.com"], "{rare}");
    }
}

#[tokio::test]
async fn the_kept_daily_counts_follow_sign_ups_sign_ins_and_deletions() {
    let app = admin_app().await;
    let (bob, carol) = (app.new_browser(), app.new_browser());
    app.signed_up_user_in(&bob, "bob@example.com").await;
    app.signed_up_user_in(&carol, "carol@example.com").await;
    let now = app.clock.now();
    seed(
        &app,
        "old@example.com",
        "Old",
        now - Duration::days(45),
        Seed {
            last_login: Some(now - Duration::days(31)),
            ..Seed::default()
        },
    );
    for (browser, email) in [(&bob, "bob@example.com"), (&carol, "carol@example.com")] {
        browser.logout().await;
        assert_eq!(
            browser.login(email, PASSWORD).await.status(),
            303,
            "{email}"
        );
    }
    // The next day Bob's latest sign-in moves to it, and a second one that day does not.
    app.clock.advance(Duration::days(1));
    for _ in 0..2 {
        bob.logout().await;
        assert_eq!(bob.login("bob@example.com", PASSWORD).await.status(), 303);
    }
    app.signed_up_user_in(&app.new_browser(), "dan@example.com")
        .await;
    let signup = app
        .new_browser()
        .signup("Eve", "eve@example.com", PASSWORD)
        .await;
    assert_eq!(signup.status(), 303);
    // Two days later the administrator signs in again and deletes Carol.
    app.clock.advance(Duration::days(2));
    assert_eq!(app.login(ADMIN, PASSWORD).await.status(), 303);
    let carol_id = user_id(&app, "carol@example.com");
    assert_eq!(act(&app, carol_id, "delete").await.status(), 303);

    assert_eq!(kept_days(&app), days_counted_from_rows(&app));
    // Around every boundary of the chart's weeks and of "within 30 days".
    let now = app.clock.now();
    let mut conn = app.pool.get().unwrap();
    let rows: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = users::table
        .select((users::created_at, users::last_login_at))
        .load(&mut conn)
        .unwrap();
    // Whole microseconds, as the database keeps them: the comparisons here and there agree.
    let now = chrono::DateTime::from_timestamp_micros(now.and_utc().timestamp_micros())
        .unwrap()
        .naive_utc();
    let sweep = (-24 * 10..24 * 70)
        .step_by(5)
        .map(|hours| now + Duration::hours(hours));
    // Exactly 30 days after each sign-in, and a microsecond later.
    let boundaries = rows.iter().filter_map(|(_, last)| *last).flat_map(|last| {
        let at = last + Duration::days(30);
        [at, at + Duration::microseconds(1)]
    });
    for at in sweep.chain(boundaries) {
        let stats = stats::dashboard_stats(&mut conn, at).unwrap();
        let recently_active = rows
            .iter()
            .filter(|(_, last)| last.is_some_and(|last| last >= at - Duration::days(30)))
            .count() as i64;
        let this_week = stats::start_of_week(at);
        let weekly: Vec<i64> = (0..stats::CHART_WEEKS)
            .rev()
            .map(|weeks_ago| {
                let starts = this_week - Duration::weeks(weeks_ago);
                let ends = starts + Duration::weeks(1);
                rows.iter()
                    .filter(|(created, _)| (starts..ends).contains(created))
                    .count() as i64
            })
            .collect();
        let shown: Vec<i64> = stats.weekly_signups.iter().map(|w| w.signups).collect();
        assert_eq!(stats.recently_active, recently_active, "at {at}");
        assert_eq!(shown, weekly, "at {at}");
    }
}

#[tokio::test]
async fn the_search_finds_what_a_plain_like_finds_as_users_change() {
    let app = admin_app().await;
    let now = app.clock.now();
    for (email, name) in [
        ("ada.lovelace@example.com", "Ada Lovelace"),
        ("grace@example.com", "Grace Hopper"),
        ("z.rare@example.com", "Zebedee Quill"),
        ("elodie@example.com", "ÉLODIE Dupont"),
        ("repeat@example.com", "Aaaa Aaaa"),
        ("al@example.com", "Al"),
    ] {
        seed(&app, email, name, now, Seed::default());
    }
    let texts = [
        "lovelace",
        "LACE",
        "ada",
        "zebedee q",
        "ee",
        "a",
        "@ex",
        "aaa",
        "aaaa a",
        "élodie",
        "elodie",
        "dupont",
        "xyz",
        "e q",
        "brewster",
        "zq@",
        "quill@ex",
        "al",
        "al@",
    ];
    assert_search_is_a_plain_like(&app, &texts);

    let mut conn = app.pool.get().unwrap();
    let grace = user_id(&app, "grace@example.com");
    diesel::update(users::table.find(grace))
        .set(users::name.eq("Grace Brewster Hopper"))
        .execute(&mut conn)
        .unwrap();
    let rare = user_id(&app, "z.rare@example.com");
    diesel::update(users::table.find(rare))
        .set(users::email.eq("zq@example.com"))
        .execute(&mut conn)
        .unwrap();
    let ada = user_id(&app, "ada.lovelace@example.com");
    user::delete_user(&mut conn, ada).unwrap();
    drop(conn);

    assert_search_is_a_plain_like(&app, &texts);
    for (text, expected) in [
        ("brewster", vec!["grace@example.com"]),
        ("zq@", vec!["zq@example.com"]),
        ("z.rare", vec![]),
        ("ada.lovelace", vec![]),
    ] {
        let mut conn = app.pool.get().unwrap();
        assert_eq!(searched(&mut conn, text), expected, "{text}");
    }
}

/// Asserts that the directory finds exactly what a LIKE over every row finds, for each text.
fn assert_search_is_a_plain_like(app: &TestApp, texts: &[&str]) {
    diesel::define_sql_function!(fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text);
    let mut conn = app.pool.get().unwrap();
    for text in texts {
        let pattern = format!("%{}%", text.to_lowercase());
        let liked: Vec<String> = users::table
            .filter(
                users::email
                    .like(&pattern)
                    .or(lower(users::name).like(&pattern)),
            )
            .order(users::email.asc())
            .select(users::email)
            .load(&mut conn)
            .unwrap();
        assert_eq!(searched(&mut conn, text), liked, "{text}");
    }
}

/// The emails the directory shows for `text`, A to Z.
fn searched(conn: &mut db::DbConn, text: &str) -> Vec<String> {
    let query = UserQuery {
        text: text.to_owned(),
        filter: Filter::All,
        sort: Sort::Email,
        page: 1,
    };
    search_users(conn, &query)
        .unwrap()
        .users
        .into_iter()
        .map(|user| user.email)
        .collect()
}

/// Sign-ups and latest sign-ins per day, as kept, leaving out days down to nothing.
fn kept_days(app: &TestApp) -> BTreeMap<NaiveDate, (i64, i64)> {
    let mut conn = app.pool.get().unwrap();
    daily_user_counts::table
        .select((
            daily_user_counts::day,
            daily_user_counts::signups,
            daily_user_counts::last_sign_ins,
        ))
        .load::<(NaiveDate, i64, i64)>(&mut conn)
        .unwrap()
        .into_iter()
        .filter(|(_, signups, sign_ins)| (*signups, *sign_ins) != (0, 0))
        .map(|(day, signups, sign_ins)| (day, (signups, sign_ins)))
        .collect()
}

/// The same, counted from the users' rows.
fn days_counted_from_rows(app: &TestApp) -> BTreeMap<NaiveDate, (i64, i64)> {
    let mut conn = app.pool.get().unwrap();
    let rows: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = users::table
        .select((users::created_at, users::last_login_at))
        .load(&mut conn)
        .unwrap();
    let mut days = BTreeMap::new();
    for (created, last_sign_in) in rows {
        days.entry(created.date()).or_insert((0, 0)).0 += 1;
        if let Some(last_sign_in) = last_sign_in {
            days.entry(last_sign_in.date()).or_insert((0, 0)).1 += 1;
        }
    }
    days
}

#[tokio::test]
async fn the_directory_is_for_admins_only() {
    let app = spawn_app().await;
    let anonymous = app.get("/admin/users").await;
    app.signed_up_user("someone@example.com").await;
    let user = app.get("/admin/users").await;

    assert_eq!(anonymous.status(), 303);
    assert_eq!(
        anonymous.headers()["location"],
        "/login?next=%2Fadmin%2Fusers"
    );
    assert_eq!(user.status(), 403);
}

/// An app with a signed-in administrator, `ADMIN`, in its default browser.
async fn admin_app() -> TestApp {
    let app = spawn_app().await;
    app.signed_up_user(ADMIN).await;
    app.set_admin(ADMIN, true);
    app
}

struct Seed {
    admin: bool,
    active: bool,
    verified: bool,
    last_login: Option<NaiveDateTime>,
}

impl Default for Seed {
    fn default() -> Self {
        Self {
            admin: false,
            active: true,
            verified: true,
            last_login: None,
        }
    }
}

fn seed(app: &TestApp, email: &str, name: &str, joined: NaiveDateTime, seed: Seed) {
    let mut conn = app.pool.get().unwrap();
    let created = user::insert_user(
        &mut conn,
        &NewUser {
            email,
            password_hash: "not a hash: this user never signs in",
            name,
            is_admin: seed.admin,
            is_active: seed.active,
            email_verified_at: seed.verified.then_some(joined),
            created_at: joined,
            updated_at: joined,
        },
    )
    .unwrap();
    diesel::update(users::table.find(created.id))
        .set(users::last_login_at.eq(seed.last_login))
        .execute(&mut conn)
        .unwrap();
}

/// A message due at `due`; given up on at `failed_at`, if set.
fn queue_mail(app: &TestApp, to: &str, due: NaiveDateTime, failed_at: Option<NaiveDateTime>) {
    let mut conn = app.pool.get().unwrap();
    let email = OutgoingEmail {
        kind: "hello".to_owned(),
        to: to.to_owned(),
        subject: "Hello".to_owned(),
        text_body: "Hello".to_owned(),
        html_body: "<p>Hello</p>".to_owned(),
    };
    outbox::enqueue(&mut conn, None, &email, due).unwrap();
    diesel::update(outbox_messages::table.filter(outbox_messages::recipient.eq(to)))
        .set(outbox_messages::failed_at.eq(failed_at))
        .execute(&mut conn)
        .unwrap();
}

fn unsent_count(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    outbox_messages::table
        .filter(outbox_messages::sent_at.is_null())
        .filter(outbox_messages::failed_at.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn users_url(params: &[(&str, &str)]) -> String {
    format!(
        "/admin/users?{}",
        serde_urlencoded::to_string(params).unwrap()
    )
}

/// Total, active, admins, disabled and unverified users as the dashboard and the
/// directory's filters show them.
async fn shown_totals(app: &TestApp) -> [i64; 5] {
    let dashboard = app.get("/admin").await.text().await.unwrap();
    let mut totals = [
        stat(&dashboard, "total_users"),
        stat(&dashboard, "active_users"),
        0,
        0,
        0,
    ];
    let pattern = regex::Regex::new(r#"data-total="(\d+)""#).unwrap();
    for (slot, filter) in totals[2..]
        .iter_mut()
        .zip(["admins", "disabled", "unverified"])
    {
        let page = app
            .get(&users_url(&[("filter", filter)]))
            .await
            .text()
            .await
            .unwrap();
        *slot = pattern
            .captures(&page)
            .unwrap_or_else(|| panic!("no total in {page}"))[1]
            .parse()
            .unwrap();
    }
    totals
}

/// The same totals, counted row by row.
fn counted_totals(app: &TestApp) -> [i64; 5] {
    let mut conn = app.pool.get().unwrap();
    let mut count = |query: users::BoxedQuery<'static, _>| -> i64 {
        query.count().get_result(&mut conn).unwrap()
    };
    [
        count(users::table.into_boxed()),
        count(
            users::table
                .filter(users::is_active.eq(true))
                .filter(users::email_verified_at.is_not_null())
                .into_boxed(),
        ),
        count(users::table.filter(users::is_admin.eq(true)).into_boxed()),
        count(users::table.filter(users::is_active.eq(false)).into_boxed()),
        count(
            users::table
                .filter(users::email_verified_at.is_null())
                .into_boxed(),
        ),
    ]
}

/// The number a dashboard card shows.
fn stat(page: &str, name: &str) -> i64 {
    let pattern = regex::Regex::new(&format!(r#"data-stat="{name}">(\d+)<"#)).unwrap();
    pattern
        .captures(page)
        .unwrap_or_else(|| panic!("no {name} in {page}"))[1]
        .parse()
        .unwrap()
}

/// The sign-ups per week in the chart, oldest first.
fn bars(page: &str) -> Vec<i64> {
    let pattern = regex::Regex::new(r#"data-signups="(\d+)""#).unwrap();
    pattern
        .captures_iter(page)
        .map(|captures| captures[1].parse().unwrap())
        .collect()
}

/// The emails in the directory's table, top to bottom.
fn emails_in(page: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r#"<td class="email"[^>]*>([^<]*)</td>"#).unwrap();
    pattern
        .captures_iter(page)
        .map(|captures| captures[1].to_owned())
        .collect()
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_at_once_and_enabled_again() {
    let app = admin_app().await;
    let ann = app.new_browser();
    app.signed_up_user_in(&ann, "ann@example.com").await;
    let id = user_id(&app, "ann@example.com");

    let disabled = act(&app, id, "disable").await;
    let ann_after = ann.get("/dashboard").await;
    let login = ann.login("ann@example.com", PASSWORD).await;
    let enabled = act(&app, id, "enable").await;
    let login_again = app.new_browser().login("ann@example.com", PASSWORD).await;

    assert_eq!(disabled.status(), 303);
    assert_eq!(disabled.headers()["location"], "/admin/users");
    assert_eq!(ann_after.status(), 303, "the live session still works");
    assert_ne!(login.status(), 303, "a disabled user signed in");
    assert_eq!(enabled.status(), 303);
    assert_eq!(login_again.status(), 303);
}

#[tokio::test]
async fn promoted_users_get_the_admin_pages_and_demoted_ones_lose_them_on_the_next_request() {
    let app = admin_app().await;
    let bob = app.new_browser();
    app.signed_up_user_in(&bob, "bob@example.com").await;
    let id = user_id(&app, "bob@example.com");

    act(&app, id, "promote").await;
    let as_admin = bob.get("/admin/users").await.status().as_u16();
    act(&app, id, "demote").await;
    let demoted = bob.get("/admin/users").await.status().as_u16();

    assert_eq!((as_admin, demoted), (200, 403));
}

#[tokio::test]
async fn resending_verification_mails_a_new_code_to_an_unverified_user() {
    let app = admin_app().await;
    app.new_browser()
        .signup("Cy", "cy@example.com", PASSWORD)
        .await;
    let first = app.latest_code_for("cy@example.com").await;
    // Past the resend cooldown.
    app.clock.advance(Duration::minutes(2));

    let response = act(&app, user_id(&app, "cy@example.com"), "resend-verification").await;

    assert_eq!(response.status(), 303);
    let second = app.latest_code_for("cy@example.com").await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn resending_verification_keeps_the_cooldown_and_leaves_verified_users_alone() {
    let app = admin_app().await;
    app.new_browser()
        .signup("Cy", "cy@example.com", PASSWORD)
        .await;
    app.signed_up_user_in(&app.new_browser(), "dee@example.com")
        .await;
    let (cy, dee) = (
        user_id(&app, "cy@example.com"),
        user_id(&app, "dee@example.com"),
    );
    let codes_before = (owned_rows(&app, cy)[0], owned_rows(&app, dee)[0]);

    let too_soon = act(&app, cy, "resend-verification").await;
    let too_soon_page = app.get("/admin/users").await.text().await.unwrap();
    let verified = act(&app, dee, "resend-verification").await;
    let verified_page = app.get("/admin/users").await.text().await.unwrap();
    let unknown = act(&app, 999_999, "resend-verification").await;

    assert_eq!(
        [too_soon.status(), verified.status(), unknown.status()].map(|s| s.as_u16()),
        [303, 303, 404]
    );
    assert!(
        // 60 seconds, or 59 where the database keeps whole seconds only.
        too_soon_page.contains("cy@example.com got a code moments ago; try again in "),
        "{too_soon_page}"
    );
    assert!(
        verified_page.contains("dee@example.com is already verified."),
        "{verified_page}"
    );
    let codes_after = (owned_rows(&app, cy)[0], owned_rows(&app, dee)[0]);
    assert_eq!(codes_after, codes_before);
    let audit = app.get("/admin/audit").await.text().await.unwrap();
    assert!(
        events_in(&audit)
            .iter()
            .all(|event| event[1] != "admin.resend_verification"),
        "{audit}"
    );
}

#[tokio::test]
async fn deleting_a_user_removes_their_codes_tokens_sessions_and_mail_in_one_go() {
    let app = admin_app().await;
    let dee = app.new_browser();
    app.signed_up_user_in(&dee, "dee@example.com").await;
    dee.post_form("/verify/resend", &[]).await;
    app.new_browser()
        .post_form("/forgot-password", &[("email", "dee@example.com")])
        .await;
    let id = user_id(&app, "dee@example.com");
    let owned_before = owned_rows(&app, id);
    assert!(
        owned_before.iter().all(|count| *count > 0),
        "{owned_before:?}"
    );

    let response = act(&app, id, "delete").await;

    assert_eq!(response.status(), 303);
    assert_eq!(owned_rows(&app, id), [0, 0, 0, 0]);
    let mut conn = app.pool.get().unwrap();
    assert!(user::get_user(&mut conn, id).unwrap().is_none());
    drop(conn);
    assert_eq!(dee.get("/dashboard").await.status(), 303);
}

#[tokio::test]
async fn the_directory_counts_each_users_sessions_and_can_sign_them_out_everywhere() {
    let app = admin_app().await;
    let dee = app.new_browser();
    app.signed_up_user_in(&dee, "dee@example.com").await;
    let phone = app.new_browser();
    phone.login("dee@example.com", PASSWORD).await;
    let id = user_id(&app, "dee@example.com");
    let sessions_shown = |page: &str| {
        regex::Regex::new(&format!(
            r#"data-user-id="{id}"(?s:.)*?data-sessions="(\d+)""#
        ))
        .unwrap()
        .captures(page)
        .map(|c| c[1].to_owned())
    };

    let before = app.get("/admin/users?q=dee").await.text().await.unwrap();
    let response = act(&app, id, "sign-out").await;
    let after = app.get("/admin/users?q=dee").await.text().await.unwrap();

    assert_eq!(sessions_shown(&before).as_deref(), Some("2"), "{before}");
    assert_eq!(response.status(), 303);
    assert!(
        after.contains("dee@example.com is signed out everywhere."),
        "{after}"
    );
    assert_eq!(sessions_shown(&after).as_deref(), Some("0"), "{after}");
    for browser in [&dee, &phone] {
        assert_eq!(browser.get("/dashboard").await.status(), 303);
    }
    let audit = app
        .get("/admin/audit?kind=admin")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(events_in(&audit)[0][1], "admin.sign_out", "{audit}");
    assert_eq!(events_in(&audit)[0][2], "dee@example.com");
}

#[tokio::test]
async fn admins_cannot_disable_demote_or_delete_themselves() {
    let app = admin_app().await;
    let id = user_id(&app, ADMIN);

    for action in ["disable", "demote", "delete"] {
        let response = act(&app, id, action).await;
        assert_eq!(response.status(), 409, "{action}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains("cannot disable, demote or delete your own account"),
            "{page}"
        );
    }

    let mut conn = app.pool.get().unwrap();
    let admin = user::get_user(&mut conn, id).unwrap().unwrap();
    assert!(admin.is_admin && admin.is_active);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_removed() {
    let app = admin_app().await;
    let admin = user_id(&app, ADMIN);
    // Someone whose rights were taken a moment ago, acting on a stale page.
    seed(
        &app,
        "former@example.com",
        "Former",
        app.clock.now(),
        Seed::default(),
    );
    let former = Actor {
        id: user_id(&app, "former@example.com"),
        email: "former@example.com".to_owned(),
        ip: "192.0.2.1".to_owned(),
    };
    let now = app.clock.now();

    let mut conn = app.pool.get().unwrap();
    let outcomes: Vec<_> = [Action::Demote, Action::Disable, Action::Delete]
        .into_iter()
        .map(|action| actions::apply(&mut conn, &former, admin, action, now).unwrap())
        .collect();

    for outcome in outcomes {
        assert_eq!(
            outcome.map(|user| user.email),
            Err(Refusal::LastAdmin(ADMIN.to_owned()))
        );
    }
    assert_eq!(user::count_active_admins(&mut conn).unwrap(), 1);
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_leave_one_admin() {
    for action in [Action::Demote, Action::Disable, Action::Delete] {
        let app = admin_app().await;
        let now = app.clock.now();
        seed(
            &app,
            "second@example.com",
            "Second",
            now,
            Seed {
                admin: true,
                ..Seed::default()
            },
        );
        let first = actor(&app, ADMIN);
        let second = actor(&app, "second@example.com");

        // A third transaction holds the admin rows, so both actions start, read their
        // target, and then wait for the guard's lock together.
        let pool = db::build_pool(&DatabaseSettings {
            pool_size: 3,
            ..app.settings.database.clone()
        });
        let (held, release) = (mpsc::channel(), mpsc::channel::<()>());
        let mut holder = pool.get().unwrap();
        let holding = thread::spawn(move || {
            db::write_transaction(&mut holder, |conn| {
                db::lock_active_admins(conn)?;
                held.0.send(()).unwrap();
                release.1.recv().unwrap();
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
        });
        held.1.recv().unwrap();
        let racers: Vec<_> = [(first.clone(), second.id), (second, first.id)]
            .into_iter()
            .map(|(actor, target)| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let mut conn = pool.get().unwrap();
                    actions::apply(&mut conn, &actor, target, action, now).unwrap()
                })
            })
            .collect();
        let mut conn = app.pool.get().unwrap();
        wait_for_lock_waiters(&mut conn, 2);
        release.0.send(()).unwrap();
        holding.join().unwrap();
        let outcomes: Vec<_> = racers
            .into_iter()
            .map(|racer| racer.join().unwrap())
            .collect();

        let refused = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Err(Refusal::LastAdmin(_))))
            .count();
        assert_eq!(refused, 1, "{action:?}: {outcomes:?}");
        assert_eq!(
            user::count_active_admins(&mut conn).unwrap(),
            1,
            "{action:?}"
        );
    }
}

fn actor(app: &TestApp, email: &str) -> Actor {
    Actor {
        id: user_id(app, email),
        email: email.to_owned(),
        ip: "192.0.2.1".to_owned(),
    }
}

#[tokio::test]
async fn unknown_users_and_actions_get_404_and_other_users_403() {
    let app = admin_app().await;
    let id = user_id(&app, ADMIN);

    let unknown_user = act(&app, 999_999, "disable").await;
    let unknown_action = act(&app, id, "explode").await;
    let ann = app.new_browser();
    app.signed_up_user_in(&ann, "ann@example.com").await;
    let by_user = ann
        .post_form(&format!("/admin/users/{id}/demote"), &[])
        .await;

    assert_eq!(unknown_user.status(), 404);
    assert_eq!(unknown_action.status(), 404);
    assert_eq!(by_user.status(), 403);
    let mut conn = app.pool.get().unwrap();
    assert!(user::get_user(&mut conn, id).unwrap().unwrap().is_admin);
}

#[tokio::test]
async fn actions_on_users_ask_for_the_password_once_sudo_mode_is_over() {
    let app = admin_app().await;
    app.signed_up_user_in(&app.new_browser(), "bob@example.com")
        .await;
    let bob = user_id(&app, "bob@example.com");
    app.clock.advance(Duration::minutes(11));

    let stale = app
        .post_form(
            &format!("/admin/users/{bob}/delete"),
            &[("next", "/admin/users?page=2")],
        )
        .await;

    assert_eq!(stale.status(), 303);
    assert_eq!(
        stale.headers()[LOCATION],
        "/account/confirm?next=%2Fadmin%2Fusers%3Fpage%3D2"
    );
    let mut conn = app.pool.get().unwrap();
    assert!(user::get_user(&mut conn, bob).unwrap().is_some());
    let confirmed = app
        .post_form(
            "/account/confirm?next=%2Fadmin%2Fusers",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(confirmed.headers()[LOCATION], "/admin/users");
    assert_eq!(act(&app, bob, "delete").await.status(), 303);
    assert!(user::get_user(&mut conn, bob).unwrap().is_none());
}

async fn act(app: &TestApp, id: i64, action: &str) -> reqwest::Response {
    app.post_form(
        &format!("/admin/users/{id}/{action}"),
        &[("next", "/admin/users")],
    )
    .await
}

fn user_id(app: &TestApp, email: &str) -> i64 {
    let mut conn = app.pool.get().unwrap();
    user::get_user_by_email(&mut conn, email)
        .unwrap()
        .unwrap()
        .id
}

/// Codes, reset tokens, sessions and queued mail of user `id`.
fn owned_rows(app: &TestApp, id: i64) -> [i64; 4] {
    let mut conn = app.pool.get().unwrap();
    [
        verification_codes::table
            .filter(verification_codes::user_id.eq(id))
            .count()
            .get_result(&mut conn)
            .unwrap(),
        password_reset_tokens::table
            .filter(password_reset_tokens::user_id.eq(id))
            .count()
            .get_result(&mut conn)
            .unwrap(),
        sessions::table
            .filter(sessions::user_id.eq(id))
            .count()
            .get_result(&mut conn)
            .unwrap(),
        outbox_messages::table
            .filter(outbox_messages::user_id.eq(id))
            .count()
            .get_result(&mut conn)
            .unwrap(),
    ]
}

#[tokio::test]
async fn every_admin_action_is_in_the_audit_log_with_who_whom_and_where() {
    let app = admin_app().await;
    let now = app.clock.now();
    seed(
        &app,
        "eve@example.com",
        "Eve",
        now,
        Seed {
            verified: false,
            ..Seed::default()
        },
    );
    let id = user_id(&app, "eve@example.com");

    for action in [
        "promote",
        "demote",
        "disable",
        "enable",
        "resend-verification",
        "delete",
    ] {
        assert_eq!(act(&app, id, action).await.status(), 303, "{action}");
    }

    let page = app.get("/admin/audit").await.text().await.unwrap();
    let events = events_in(&page);
    let admin_events: Vec<&[String; 4]> = events
        .iter()
        .filter(|event| event[1].starts_with("admin."))
        .collect();
    let actions: Vec<&str> = admin_events.iter().map(|event| event[1].as_str()).collect();
    // Newest first.
    assert_eq!(
        actions,
        [
            "admin.delete",
            "admin.resend_verification",
            "admin.enable",
            "admin.disable",
            "admin.demote",
            "admin.promote"
        ]
    );
    for event in admin_events {
        assert_eq!(event[0], ADMIN);
        assert_eq!(event[2], "eve@example.com", "the target, even once deleted");
        assert_eq!(event[3], "127.0.0.1");
    }
}

#[tokio::test]
async fn logins_failures_and_lockouts_are_in_the_audit_log() {
    let app = admin_app().await;
    let ann = app.new_browser();
    app.signed_up_user_in(&ann, "ann@example.com").await;
    ann.logout().await;
    ann.login("ann@example.com", PASSWORD).await;
    for _ in 0..10 {
        app.new_browser().login("ann@example.com", "wrong").await;
    }
    app.new_browser().login("nobody@example.com", "wrong").await;

    let page = app.get("/admin/audit").await.text().await.unwrap();
    let events = events_in(&page);
    let count = |who: &str, what: &str| {
        events
            .iter()
            .filter(|event| event[0] == who && event[1] == what)
            .count()
    };

    assert_eq!(count("ann@example.com", "login.success"), 1);
    assert_eq!(count("ann@example.com", "login.failure"), 10);
    assert_eq!(count("ann@example.com", "login.lockout"), 1);
    assert_eq!(count("nobody@example.com", "login.failure"), 1);
}

#[tokio::test]
async fn the_audit_log_is_paged_fifty_to_a_page() {
    let app = admin_app().await;
    for _ in 0..60 {
        app.new_browser().login("nobody@example.com", "wrong").await;
    }

    let first = app.get("/admin/audit").await.text().await.unwrap();
    let second = app.get("/admin/audit?page=2").await.text().await.unwrap();

    let beyond = app.get("/admin/audit?page=3").await.text().await.unwrap();

    assert_eq!(events_in(&first).len(), 50);
    assert!(first.contains(r#"rel="next""#), "{first}");
    // Sixty failures and the admin's own sign-in, if verifying signed them in.
    assert!(!events_in(&second).is_empty());
    assert!(second.contains("Entries 51–"), "{second}");
    assert!(!second.contains(r#"rel="next""#), "{second}");
    assert!(events_in(&beyond).is_empty());
    assert!(beyond.contains("No entries this far back."), "{beyond}");
    let farthest = app.get(&format!("/admin/audit?page={}", i64::MAX)).await;
    assert_eq!(farthest.status(), 200);
    let farthest = farthest.text().await.unwrap();
    assert!(farthest.contains("No entries this far back."), "{farthest}");
    let other = app.new_browser();
    app.signed_up_user_in(&other, "user@example.com").await;
    assert_eq!(other.get("/admin/audit").await.status(), 403);
}

#[tokio::test]
async fn the_audit_log_says_what_happened_in_words_and_filters_by_kind_and_user() {
    let app = admin_app().await;
    let ann = app.new_browser();
    app.signed_up_user_in(&ann, "ann@example.com").await;
    ann.logout().await;
    ann.login("ann@example.com", PASSWORD).await;
    app.new_browser().login("ann@example.com", "wrong").await;
    app.new_browser().login("bob@example.com", "wrong").await;
    let ann_id = user_id(&app, "ann@example.com");
    assert_eq!(act(&app, ann_id, "promote").await.status(), 303);

    let page = app.get("/admin/audit").await.text().await.unwrap();
    for (id, words) in [
        ("login.success", "Signed in"),
        ("login.failure", "Sign-in failed"),
        ("admin.promote", "Made an administrator"),
    ] {
        assert!(
            page.contains(&format!(
                r#"{words}<span class="action-id"><span class="sr-only">: </span>{id}</span>"#
            )),
            "{id} is not said as {words:?}: {page}"
        );
    }

    let of = |query: &'static str| {
        let app = &app;
        async move {
            let page = app.get(&format!("/admin/audit?{query}")).await;
            assert_eq!(page.status(), 200, "{query}");
            events_in(&page.text().await.unwrap())
        }
    };
    let failed = of("kind=failed-sign-ins").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.iter().all(|event| event[1] == "login.failure"));
    let admin = of("kind=admin").await;
    assert_eq!(admin.len(), 1, "{admin:?}");
    assert_eq!(admin[0][1], "admin.promote");
    // By user: what they did and what was done to them, however the address is typed.
    let anns: Vec<String> = of("user=+Ann%40Example.com+")
        .await
        .into_iter()
        .map(|event| event[1].clone())
        .collect();
    assert_eq!(anns, ["admin.promote", "login.failure", "login.success"]);
    let both = of("kind=failed-sign-ins&user=bob%40example.com").await;
    assert_eq!(both.len(), 1);
    assert_eq!(both[0][0], "bob@example.com");
    assert!(of("user=nobody%40example.com").await.is_empty());
    // The form shows the filters in force.
    let filtered = app
        .get("/admin/audit?kind=admin&user=ann%40example.com")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        filtered.contains(r#"<option value="admin" selected>"#),
        "{filtered}"
    );
    assert!(
        filtered.contains(r#"value="ann@example.com""#),
        "{filtered}"
    );
    assert_eq!(app.get("/admin/audit?kind=everything").await.status(), 400);
}

#[tokio::test]
async fn the_audit_log_pages_keep_the_filters_and_say_which_entries_they_show() {
    let app = admin_app().await;
    for _ in 0..55 {
        app.new_browser().login("nobody@example.com", "wrong").await;
    }
    app.new_browser().login("other@example.com", "wrong").await;

    let first = app
        .get("/admin/audit?user=nobody%40example.com")
        .await
        .text()
        .await
        .unwrap();
    assert!(first.contains("Entries 1–50"), "{first}");
    let next = regex::Regex::new(r#"<a rel="next" href="([^"]*)""#)
        .unwrap()
        .captures(&first)
        .expect("no link to older entries")[1]
        .replace("&#x2F;", "/")
        .replace("&amp;", "&");
    assert!(next.contains("user=nobody%40example.com"), "{next}");
    let second = app.get(&next).await.text().await.unwrap();
    assert_eq!(events_in(&second).len(), 5, "{second}");
    assert!(second.contains("Entries 51–55"), "{second}");
    assert!(!second.contains(r#"rel="next""#), "{second}");
}

/// Who, what, whom and from where, for each row of the audit log page; "what" is the
/// action's identifier, shown under its words.
fn events_in(page: &str) -> Vec<[String; 4]> {
    let pattern = regex::Regex::new(
        r#"<td class="actor"[^>]*>([^<]*)</td>\s*<td class="action"[^>]*>[^<]*<span class="action-id"><span class="sr-only">: </span>([^<]*)</span></td>\s*<td class="target"[^>]*>([^<]*)</td>\s*<td class="ip"[^>]*>([^<]*)</td>"#,
    )
    .unwrap();
    pattern
        .captures_iter(page)
        .map(|c| {
            [
                c[1].to_owned(),
                c[2].to_owned(),
                c[3].to_owned(),
                c[4].to_owned(),
            ]
        })
        .collect()
}
