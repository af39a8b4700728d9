use std::collections::HashMap;
use std::time::Duration;

use {{crate_name}}::config::{Profile, Settings};
use {{crate_name}}::mail::MailTransport;

use crate::provider::credentials as provider_credentials;

fn settings_from(vars: &[(&str, &str)]) -> Result<Settings, Vec<String>> {
    let vars: HashMap<&str, &str> = vars.iter().copied().collect();
    Settings::from_lookup(|name| vars.get(name).map(|value| (*value).to_owned()))
        .map_err(|error| error.problems)
}

fn production_vars() -> Vec<(&'static str, &'static str)> {
    let mut vars = vec![
        ("APP_ENV", "production"),
        ("APP_BASE_URL", "https://example.com/"),
        ("DATABASE_URL", "configured-elsewhere"),
        (
            "SESSION_SECRET",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
        ("MAIL_FROM", "Example <hello@example.com>"),
    ];
    vars.extend(provider_credentials());
    vars
}

#[test]
fn development_needs_no_settings_at_all() {
    let settings = settings_from(&[]).expect("defaults were refused");

    assert_eq!(settings.profile, Profile::Development);
    assert_eq!(settings.port, 8000);
    assert_eq!(settings.base_url, "http://localhost:8000");
    assert_eq!(settings.mail.transport, MailTransport::Log);
    assert!(settings.session_secret_is_ephemeral);
    assert!(settings.session_secret.expose().len() >= 64);
    assert_eq!(settings.bcrypt_cost, 12);
    // Ctrl-C stops a development server at once.
    assert_eq!(settings.shutdown.notice, Duration::ZERO);
}

#[test]
fn a_complete_production_configuration_is_accepted() {
    let settings = settings_from(&production_vars()).expect("production settings refused");

    assert_eq!(settings.profile, Profile::Production);
    assert_eq!(settings.base_url, "https://example.com");
    assert_eq!(settings.mail.transport, MailTransport::Provider);
    assert!(!settings.session_secret_is_ephemeral);
    assert_eq!(settings.shutdown.notice, Duration::from_secs(5));
    assert_eq!(settings.shutdown.timeout, Duration::from_secs(25));
}

#[test]
fn a_shutdown_notice_that_leaves_no_time_to_finish_requests_is_refused() {
    let problems = settings_from(&[
        ("SHUTDOWN_NOTICE_SECONDS", "30"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "25"),
    ])
    .expect_err("the notice outlasted the whole stop");

    assert!(
        problems
            .iter()
            .any(|problem| problem.starts_with("SHUTDOWN_NOTICE_SECONDS")),
        "{problems:?}"
    );
}

#[test]
fn production_lists_every_missing_or_weak_setting() {
    let problems = settings_from(&[
        ("APP_ENV", "production"),
        ("APP_BASE_URL", "http://example.com"),
        ("SESSION_SECRET", "short"),
        ("BCRYPT_COST", "4"),
        ("MAIL_TRANSPORT", "log"),
    ])
    .expect_err("weak production settings were accepted");

    let mut expected = vec![
        "APP_BASE_URL",
        "DATABASE_URL",
        "SESSION_SECRET",
        "MAIL_TRANSPORT",
        "MAIL_FROM",
        "BCRYPT_COST",
    ];
    expected.extend(provider_credentials().iter().map(|(name, _)| *name));
    for variable in expected {
        assert!(
            problems.iter().any(|problem| problem.starts_with(variable)),
            "no problem reported for {variable}: {problems:#?}"
        );
    }
}

#[test]
fn a_missing_base_url_is_one_problem_not_two() {
    let vars: Vec<_> = production_vars()
        .into_iter()
        .filter(|(name, _)| *name != "APP_BASE_URL")
        .collect();

    let problems = settings_from(&vars).expect_err("production started without a URL");

    let about_url: Vec<_> = problems
        .iter()
        .filter(|problem| problem.starts_with("APP_BASE_URL"))
        .collect();
    assert_eq!(about_url.len(), 1, "{problems:#?}");
}

#[test]
fn the_product_is_called_by_its_app_name() {
    let default = settings_from(&[]).expect("defaults were refused");
    let named = settings_from(&[
        ("APP_NAME", " Acme Cloud "),
        ("APP_TAGLINE", "Invoices, done."),
    ])
    .expect("a name was refused");

    assert_eq!(default.brand.name, "{{project-name | title_case}}");
    assert_eq!(named.brand.name, "Acme Cloud");
    assert_eq!(named.brand.tagline, "Invoices, done.");
    assert_eq!(named.mail.from, "Acme Cloud <noreply@localhost>");
}

#[test]
fn production_refuses_the_example_session_secret() {
    let mut vars = production_vars();
    let example = format!("change-me-{}", "x".repeat(64));
    vars.push(("SESSION_SECRET", &example));

    let problems = settings_from(&vars).expect_err("the example secret was accepted");

    assert!(
        problems.iter().any(|p| p.contains("example value")),
        "{problems:?}"
    );
}

#[test]
fn production_refuses_a_guessable_secret_and_proxies_that_trust_everyone() {
    for (name, value) in [
        ("SESSION_SECRET", "a".repeat(64)),
        ("SESSION_SECRET", "ab".repeat(40)),
        ("TRUSTED_PROXIES", "0.0.0.0/0".to_owned()),
        ("TRUSTED_PROXIES", "10.0.0.0/8, ::/0".to_owned()),
    ] {
        let mut vars = production_vars();
        vars.push((name, &value));

        let problems = settings_from(&vars).expect_err(&format!("{name}={value} was accepted"));

        assert!(
            problems.iter().any(|problem| problem.starts_with(name)),
            "{name}={value}: {problems:?}"
        );
    }
}

#[test]
fn a_sender_the_mailer_cannot_use_is_refused_at_start_in_every_profile() {
    for profile in ["development", "production"] {
        let mut vars = production_vars();
        vars.extend([
            ("APP_ENV", profile),
            ("MAIL_FROM", "Example <not an address>"),
        ]);

        let problems = settings_from(&vars).expect_err("a bad MAIL_FROM was accepted");

        assert!(
            problems
                .iter()
                .any(|problem| problem.starts_with("MAIL_FROM")),
            "{profile}: {problems:?}"
        );
    }
}

#[test]
fn unparsable_values_are_reported_by_name() {
    let problems = settings_from(&[
        ("APP_PORT", "eighty"),
        ("APP_ENV", "staging"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, not-an-ip"),
        ("LOG_FORMAT", "xml"),
    ])
    .expect_err("bad values were accepted");

    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p == "LOG_FORMAT=xml is not a log format; use text or json"),
        "{problems:#?}"
    );
}

#[test]
fn out_of_range_limits_are_refused_with_their_range() {
    let problems = settings_from(&[
        ("MAIL_CONCURRENT_SENDS", "17"),
        ("MAX_REQUESTS_PER_CLIENT", "0"),
    ])
    .expect_err("out-of-range values were accepted");

    assert_eq!(
        problems,
        [
            "MAIL_CONCURRENT_SENDS=17 must be at most 16",
            "MAX_REQUESTS_PER_CLIENT=0 must be from 1 to 100000",
        ]
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let settings = settings_from(&production_vars()).unwrap();

    let printed = format!("{settings:?}");

    assert!(!printed.contains("0123456789abcdef"), "{printed}");
}
