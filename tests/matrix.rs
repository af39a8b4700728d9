//! Builds and tests every selected combination the way its user would: in the rendered
//! project, `cargo fmt --check`, `cargo clippy --all-targets -- -D warnings`,
//! `cargo fetch` and `cargo deny check licenses bans sources`, and `cargo test`,
//! against real SQLite, PostgreSQL and MySQL/MariaDB servers.
//!
//! Knobs (environment):
//! - `MATRIX=sqlite-smtp,postgres` narrows the run to combinations or to every
//!   combination with an option; unset means all twelve.
//! - `MATRIX_POSTGRES_URL`, `MATRIX_MYSQL_URL`: admin URLs of the servers, handed to the
//!   generated tests as `TEST_DATABASE_URL` (they create and drop their own databases).
//! - `MATRIX_TARGET_DIR`: the build directory shared by all combinations
//!   (default `matrix/` in the harness's own target directory, `target/matrix`).
//! - `MATRIX_STEP_TIMEOUT`: seconds one step may take before it is killed (default 1800).
//!
//! Progress goes straight to stderr, so it shows even though libtest captures the
//! output of passing tests. The summary is also written to `target/matrix-report.txt`,
//! and each step's full output to `target/matrix-logs/<combination>/<step>.log`
//! (`target` being `$CARGO_TARGET_DIR` when that is set).

mod common;

use std::env;
use std::fs::{self, File};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    Answers, Combination, DATABASES, MAILS, PROJECT_NAME, cargo_in, harness_target,
    matrix_target_dir, progress, render, template_root,
};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/mysql";
const TAIL_LINES: usize = 80;

const STEPS: [(&str, &[&str]); 5] = [
    // rustfmt colours its diff even into a file unless told not to.
    ("fmt", &["fmt", "--check", "--", "--color=never"]),
    // --locked: with the Cargo.lock every generated project ships (template/locks/),
    // and a failure when that no longer fits Cargo.toml.
    (
        "clippy",
        &[
            "clippy",
            "--locked",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    // The crates of every platform the lock file names: clippy downloads only this
    // machine's, and deny reads them all (a fresh machine has never seen the Windows
    // or wasm ones).
    ("fetch", &["fetch", "--locked"]),
    // The project's deny.toml: every dependency's license, and its sources. Offline: the
    // crates are fetched, and the advisory database is for the project's own CI, which
    // has the network (README, "Licenses").
    (
        "deny",
        &["deny", "--offline", "check", "licenses", "bans", "sources"],
    ),
    ("test", &["test", "--locked"]),
];

/// Set to refresh template/locks/: each combination's dependencies are updated to their
/// newest compatible versions, checked, and its lock file written back.
const UPDATE_LOCKS: &str = "MATRIX_UPDATE_LOCKS";

#[test]
fn every_selected_combination_passes_fmt_clippy_and_its_own_tests() {
    let selected = selection(env::var("MATRIX").ok().as_deref()).unwrap_or_else(|e| panic!("{e}"));
    // Beside the harness's own build, wherever CARGO_TARGET_DIR puts it: CI points that
    // outside its fresh clone to start warm.
    let harness_target = harness_target();
    let target_dir = matrix_target_dir();
    let log_root = harness_target.join("matrix-logs");
    let timeout = Duration::from_secs(
        env::var("MATRIX_STEP_TIMEOUT")
            .ok()
            .map(|s| {
                s.parse()
                    .expect("MATRIX_STEP_TIMEOUT is a number of seconds")
            })
            .unwrap_or(1800),
    );

    progress(&format!(
        "matrix: {} combination(s), build dir {}, logs in {}",
        selected.len(),
        target_dir.display(),
        log_root.display()
    ));
    let started = Instant::now();
    let outcomes: Vec<Outcome> = selected
        .iter()
        .map(|&c| run_combination(c, &target_dir, &log_root.join(c.name()), timeout))
        .collect();

    let mut summary: Vec<String> = outcomes.iter().map(Outcome::summary_line).collect();
    let failed = outcomes.iter().filter(|o| !o.failures.is_empty()).count();
    summary.push(format!(
        "combinations: {} ok, {failed} failed, {}",
        outcomes.len() - failed,
        secs(started.elapsed())
    ));
    let summary = summary.join("\n");
    progress(&summary);
    let report = harness_target.join("matrix-report.txt");
    let written = fs::create_dir_all(&harness_target)
        .and_then(|()| fs::write(&report, format!("{summary}\n")));
    if let Err(e) = written {
        progress(&format!("cannot write {}: {e}", report.display()));
    }

    let details: Vec<String> = outcomes
        .iter()
        .flat_map(|o| {
            o.failures
                .iter()
                .map(move |(f, _)| format!("=== {}: {f}", o.combination))
        })
        .collect();
    // Last, because a long log is often cut in the middle when shown: the failed tests
    // and what they said, per combination.
    let digests: Vec<String> = outcomes
        .iter()
        .flat_map(|o| {
            o.failures
                .iter()
                .filter(|(_, digest)| !digest.is_empty())
                .map(move |(_, digest)| format!("--- {} ---\n{digest}", o.combination))
        })
        .collect();
    assert!(
        details.is_empty(),
        "{summary}\n\n{}\n\n{summary}\n\n{}",
        details.join("\n\n"),
        digests.join("\n")
    );
}

/// The combinations `MATRIX` names, in matrix order (grouped by database).
fn selection(matrix: Option<&str>) -> Result<Vec<Combination>, String> {
    let all = Combination::all();
    let Some(matrix) = matrix.filter(|m| !m.trim().is_empty()) else {
        return Ok(all);
    };
    let mut wanted = vec![false; all.len()];
    for entry in matrix.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let mut matched = false;
        for (i, c) in all.iter().enumerate() {
            if entry == c.name() || entry == c.database || entry == c.mail {
                wanted[i] = true;
                matched = true;
            }
        }
        if !matched {
            let names: Vec<String> = all.iter().map(Combination::name).collect();
            return Err(format!(
                "MATRIX names unknown {entry:?}. Valid entries: a combination ({}) \
                 or an option ({}, {}).",
                names.join(", "),
                DATABASES.join(", "),
                MAILS.join(", ")
            ));
        }
    }
    Ok(all
        .into_iter()
        .zip(wanted)
        .filter(|(_, w)| *w)
        .map(|(c, _)| c)
        .collect())
}

struct Outcome {
    combination: Combination,
    steps: Vec<(&'static str, Duration, bool)>,
    total: Duration,
    /// Each failed step's explanation with the tail of its output, and the digest of
    /// its failed tests (empty when it ran none).
    failures: Vec<(String, String)>,
}

impl Outcome {
    fn summary_line(&self) -> String {
        let status = if self.failures.is_empty() {
            "ok"
        } else {
            "FAIL"
        };
        let steps: Vec<String> = self.steps.iter().map(step_text).collect();
        format!(
            "{status:<5} {:<18} {}  total {}",
            self.combination.name(),
            steps.join("  "),
            secs(self.total)
        )
    }
}

fn step_text((name, took, ok): &(&str, Duration, bool)) -> String {
    let mark = if *ok { "" } else { " FAILED" };
    format!("{name} {}{mark}", secs(*took))
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn run_combination(c: Combination, target_dir: &Path, logs: &Path, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome {
        combination: c,
        steps: vec![],
        total: Duration::ZERO,
        failures: vec![],
    };
    // Whole lines only: libtest writes its own notes ("has been running for over
    // 60 seconds") to the same stream at any time.
    progress(&format!("      {:<18} render", c.name()));
    let step_started = Instant::now();
    // A stable path per combination, so the shared build dir only recompiles the app.
    let parent = env::temp_dir()
        .join("actix-saas-starter-matrix")
        .join(c.name());
    let database_url = database_url(c.database);
    let rendered = render(&Answers::Define(c), &parent);
    let render_ok = rendered.is_ok();
    outcome
        .steps
        .push(("render", step_started.elapsed(), render_ok));
    let ready = rendered.and_then(|project| match &database_url {
        Some(url) => check_reachable(c.database, url).map(|()| project),
        None => Ok(project),
    });
    if render_ok && ready.is_err() {
        outcome.steps.push(("server", Duration::ZERO, false));
    }

    match ready {
        Err(e) => outcome.failures.push((e, String::new())),
        Ok(project) => {
            let _ = fs::remove_dir_all(logs);
            let _ = fs::create_dir_all(logs);
            let updating = env::var_os(UPDATE_LOCKS).is_some_and(|v| !v.is_empty());
            let update: (&str, &[&str]) = ("update", &["update"]);
            let steps = updating.then_some(update).into_iter().chain(STEPS);
            for (name, args) in steps {
                let args: Vec<&str> = args
                    .iter()
                    .copied()
                    .filter(|arg| !(updating && *arg == "--locked"))
                    .collect();
                progress(&format!("      {:<18} cargo {}", c.name(), args.join(" ")));
                let log = logs.join(format!("{name}.log"));
                let mut command = cargo_in(&project, target_dir);
                command
                    .args(&args)
                    // A developer's own settings must not reach the generated tests.
                    .env_remove("RUST_LOG")
                    .env_remove("DATABASE_URL");
                match &database_url {
                    Some(url) => command.env("TEST_DATABASE_URL", url),
                    None => command.env_remove("TEST_DATABASE_URL"),
                };
                let step_started = Instant::now();
                let result = run_logged(command, &log, timeout);
                outcome
                    .steps
                    .push((name, step_started.elapsed(), result.is_ok()));
                if let Err(why) = result {
                    let text = fs::read_to_string(&log)
                        .unwrap_or_else(|e| format!("(cannot read log: {e})"));
                    let stale_lock = if text.contains("--locked was passed") {
                        format!(
                            "\nThe Cargo.lock this combination ships no longer fits its Cargo.toml: \
                             refresh template/locks/ with `{UPDATE_LOCKS}=1 cargo test --test matrix`."
                        )
                    } else {
                        String::new()
                    };
                    outcome.failures.push((
                        format!(
                            "`cargo {}` in {} {why}; last {TAIL_LINES} lines of {}:\n{}{stale_lock}",
                            args.join(" "),
                            project.display(),
                            log.display(),
                            tail(&text, TAIL_LINES)
                        ),
                        failed_tests(&text),
                    ));
                }
            }
            if updating
                && outcome.failures.is_empty()
                && let Err(e) = keep_lock(c, &project)
            {
                outcome.failures.push((e, String::new()));
            }
        }
    }
    outcome.total = started.elapsed();
    progress(&outcome.summary_line());
    outcome
}

/// Copies the project's Cargo.lock back to template/locks/, under the name the template
/// renders (the three HTTP API providers share one).
fn keep_lock(c: Combination, project: &Path) -> Result<(), String> {
    let lock = fs::read_to_string(project.join("Cargo.lock"))
        .map_err(|e| format!("cannot read the Cargo.lock of {c}: {e}"))?;
    let root = format!("name = \"{PROJECT_NAME}\"\n");
    let lock = lock.replacen(&root, "name = \"{{project-name}}\"\n", 1);
    let kept = template_root().join(c.lock_file());
    fs::write(&kept, lock).map_err(|e| format!("cannot write {}: {e}", kept.display()))
}

/// The admin URL the generated tests get as TEST_DATABASE_URL; SQLite needs none.
fn database_url(database: &str) -> Option<String> {
    let (var, default) = match database {
        "postgres" => ("MATRIX_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        "mysql" => ("MATRIX_MYSQL_URL", DEFAULT_MYSQL_URL),
        _ => return None,
    };
    Some(
        env::var(var)
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| default.to_string()),
    )
}

/// A missing server must fail the combination loudly, never skip it.
fn check_reachable(database: &str, url: &str) -> Result<(), String> {
    let var = if database == "postgres" {
        "MATRIX_POSTGRES_URL"
    } else {
        "MATRIX_MYSQL_URL"
    };
    let example = if database == "postgres" {
        DEFAULT_POSTGRES_URL
    } else {
        DEFAULT_MYSQL_URL
    };
    let fix = format!(
        "Start the server (.ci/run starts the local PostgreSQL and MariaDB), or point the \
         harness at one with an admin URL: {var}={example}"
    );
    let (host, port) = host_and_port(url, if database == "postgres" { 5432 } else { 3306 })
        .ok_or_else(|| format!("{var}: cannot read host and port from {url:?}. {fix}"))?;
    let addrs: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host} for {database} at {url}: {e}. {fix}"))?
        .collect();
    let mut last_error = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
            Ok(_) => return Ok(()),
            Err(e) => last_error = format!("{addr}: {e}"),
        }
    }
    Err(format!(
        "{database} server not reachable at {url} ({last_error}). {fix}"
    ))
}

/// `scheme://[user[:password]@]host[:port][/database]` to (host, port).
fn host_and_port(url: &str, default_port: u16) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Runs `command` with stdout and stderr interleaved into `log`; Err says how it failed.
fn run_logged(mut command: Command, log: &Path, timeout: Duration) -> Result<(), String> {
    let file = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err_file = file.try_clone().map_err(|e| e.to_string())?;
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| format!("could not start: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("failed ({status})")),
            None if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "killed after {} (MATRIX_STEP_TIMEOUT)",
                    secs(timeout)
                ));
            }
            None => thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What libtest said of each failed test: where it panicked and the first lines of
/// the message, without the backtrace; and how a test binary died when it crashed
/// (a signal, a stack overflow) without a panic to report.
fn failed_tests(log: &str) -> String {
    const MESSAGE_LINES: usize = 12;
    const CRASH_MARKS: [&str; 3] = [
        "process didn't exit successfully",
        "fatal runtime error",
        "has overflowed its stack",
    ];
    let mut digest = Vec::new();
    let mut lines = log.lines();
    let mut running = "";
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("Running ") {
            // Which test binary was running, kept to name a crash's binary.
            running = line.trim();
        } else if CRASH_MARKS.iter().any(|mark| line.contains(mark)) {
            if !running.is_empty() {
                digest.push(format!("while {running}"));
            }
            digest.push(line.trim().to_string());
        } else if line.starts_with("---- ") && line.ends_with(" ----") {
            digest.push(line.to_string());
        } else if line.starts_with("thread '") && line.contains(" panicked at ") {
            digest.push(line.to_string());
            digest.extend(
                lines
                    .by_ref()
                    .take_while(|l| !l.starts_with("stack backtrace:") && !l.starts_with("note: "))
                    .take(MESSAGE_LINES)
                    .map(|l| format!("  {l}")),
            );
        }
    }
    digest.join("\n")
}

#[test]
fn matrix_entries_select_combinations_or_options() {
    let names = |m: &str| -> Vec<String> {
        selection(Some(m))
            .unwrap()
            .iter()
            .map(Combination::name)
            .collect()
    };
    assert_eq!(
        names("postgres-resend, sqlite-smtp"),
        ["sqlite-smtp", "postgres-resend"]
    );
    assert_eq!(
        names("postgres"),
        [
            "postgres-smtp",
            "postgres-postmark",
            "postgres-sendgrid",
            "postgres-resend"
        ]
    );
    assert_eq!(
        names("resend"),
        ["sqlite-resend", "postgres-resend", "mysql-resend"]
    );
    assert_eq!(selection(None).unwrap().len(), 12);
    let error = selection(Some("sqlite,oracle")).unwrap_err();
    assert!(
        error.contains("\"oracle\"") && error.contains("mysql-sendgrid"),
        "{error}"
    );
}

#[test]
fn a_failed_test_is_digested_to_its_name_and_message() {
    let log = "test a::ok ... ok\ntest a::bad ... FAILED\n\nfailures:\n\n---- a::bad stdout ----\n\
               thread 'a::bad' (7) panicked at tests/api/a.rs:3:5:\nassertion `left == right` failed\n  \
               left: 1\n right: 2\nnote: run with `RUST_BACKTRACE=1`\n\nfailures:\n    a::bad\n";
    assert_eq!(
        failed_tests(log),
        "---- a::bad stdout ----\nthread 'a::bad' (7) panicked at tests/api/a.rs:3:5:\n  \
         assertion `left == right` failed\n    left: 1\n   right: 2"
    );
    assert_eq!(failed_tests("test a::ok ... ok\n"), "");
}

#[test]
fn a_crashed_test_binary_is_digested_to_how_it_died() {
    let log = "     Running tests/api/main.rs (target/debug/deps/api-1)\ntest a::ok ... ok\n\
               error: test failed, to rerun pass `--test api`\n\nCaused by:\n  process didn't \
               exit successfully: `target/debug/deps/api-1` (signal: 11, SIGSEGV: invalid memory \
               reference)\n";
    assert_eq!(
        failed_tests(log),
        "while Running tests/api/main.rs (target/debug/deps/api-1)\nprocess didn't exit \
         successfully: `target/debug/deps/api-1` (signal: 11, SIGSEGV: invalid memory reference)"
    );
}

#[test]
fn database_urls_give_host_and_port() {
    assert_eq!(
        host_and_port("postgres://postgres@127.0.0.1:5432/postgres", 1),
        Some(("127.0.0.1".into(), 5432))
    );
    assert_eq!(
        host_and_port("mysql://root:p@ss@db/mysql", 3306),
        Some(("db".into(), 3306))
    );
    assert_eq!(
        host_and_port("postgres://[::1]:6000", 5432),
        Some(("::1".into(), 6000))
    );
    assert_eq!(host_and_port("not a url", 5432), None);
}
