//! Browser tests of the default combination (SQLite + SMTP): renders it, builds it with
//! the matrix's build settings (so the dependencies are compiled once for both), starts
//! the real SMTP test server and the app on free ports with a fresh database, creates an
//! administrator with the app's own `create-admin` command, then runs
//! `node browser/run.mjs`: playwright-core driving Debian's chromium, with axe-core.
//!
//! A second instance with a rate limit of one form post serves the 429 page.
//!
//! Needs: `npm ci` (playwright-core, axe-core in node_modules), chromium
//! (`apt-get install chromium`, or BROWSER_CHROMIUM=/path/to/chrome) and aiosmtpd
//! (`apt-get install python3-aiosmtpd`, or TEST_SMTP_PYTHON=/a/python3/that/has/it).
//! A missing one fails the test with what to install: it never skips.
//!
//! Screenshots of every page at 390 px and 1280 px go to `browser-screenshots/` in the
//! harness's target directory ($CARGO_TARGET_DIR, else `target/`).

mod common;

use std::env;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    Answers, PROJECT_NAME, cargo_in, env_path, free_port, harness_target, http_status,
    matrix_target_dir, progress, render, repo_root,
};

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "Harness-Keeper-Pass-42";
const NODE_TIMEOUT: Duration = Duration::from_secs(900);
const BUILD_TIMEOUT: Duration = Duration::from_secs(3600);
const LOG_TAIL_LINES: usize = 20;

#[test]
fn pages_flows_accessibility_and_screenshots_in_chromium() {
    let started = Instant::now();
    let tools = preflight().unwrap_or_else(|problems| {
        panic!(
            "the browser tests cannot run:\n  - {}",
            problems.join("\n  - ")
        )
    });

    let harness_target = harness_target();
    // The matrix's build directory, so the dependencies compiled for one serve the other.
    let build_dir = matrix_target_dir();
    let screenshots = harness_target.join("browser-screenshots");
    let scratch = env::temp_dir().join("actix-saas-starter-browser");

    progress("browser: rendering the default combination (sqlite, smtp)");
    let project = render(&Answers::Defaults, &scratch.join("project"))
        .unwrap_or_else(|e| panic!("cannot render the template: {e}"));
    let binary = build(&project, &build_dir, &scratch);

    let run_dir = scratch.join("run");
    let _ = fs::remove_dir_all(&run_dir);
    fs::create_dir_all(&run_dir).expect("cannot create the run folder");
    let mail_dir = run_dir.join("mail");
    let _ = fs::remove_dir_all(&screenshots);
    fs::create_dir_all(&screenshots).expect("cannot create the screenshot folder");

    let mut guard = Processes::default();
    let smtp_port = free_port();
    let smtp = start_smtp(&tools.python, &project, smtp_port, &mail_dir, &run_dir);
    guard.push("SMTP server", smtp, run_dir.join("smtp.log"));

    let main = Instance::new(&run_dir, "main");
    let mut main_env = main.env();
    main_env.extend([
        ("MAIL_TRANSPORT", "smtp".to_string()),
        ("SMTP_HOST", "127.0.0.1".to_string()),
        ("SMTP_PORT", smtp_port.to_string()),
        ("SMTP_TLS", "none".to_string()),
        ("MAIL_POLL_INTERVAL_MS", "100".to_string()),
        // Every page and flow posts forms from one address; this instance must not
        // answer them with 429 (the limited one below shows that page).
        ("RATE_LIMIT_AUTH_BURST", "100000".to_string()),
        ("RATE_LIMIT_AUTH_WINDOW_LIMIT", "100000".to_string()),
        ("MAX_REQUESTS_PER_CLIENT", "100000".to_string()),
    ]);
    create_admin(&binary, &main_env, &project);
    let app = start_app(&binary, &main_env, &project, &main.log);
    guard.push("app", app, main.log.clone());

    let limited = Instance::new(&run_dir, "limited");
    let mut limited_env = limited.env();
    limited_env.extend([
        ("MAIL_TRANSPORT", "log".to_string()),
        // One form post, then 429 for an hour.
        ("RATE_LIMIT_AUTH_BURST", "1".to_string()),
        ("RATE_LIMIT_AUTH_REFILL_SECONDS", "3600".to_string()),
    ]);
    let limited_app = start_app(&binary, &limited_env, &project, &limited.log);
    guard.push("rate-limited app", limited_app, limited.log.clone());

    wait_healthy(&main, &mut guard);
    wait_healthy(&limited, &mut guard);

    progress(&format!(
        "browser: app at {}, rate-limited app at {}, mail in {}\n\
         browser: screenshots go to {}",
        main.base_url,
        limited.base_url,
        mail_dir.display(),
        screenshots.display()
    ));
    let mut node = Command::new(&tools.node);
    node.arg("--test-reporter=spec")
        .arg(repo_root().join("browser").join("run.mjs"))
        .current_dir(repo_root())
        .env("BROWSER_BASE_URL", &main.base_url)
        .env("BROWSER_LIMITED_BASE_URL", &limited.base_url)
        .env("BROWSER_MAIL_DIR", &mail_dir)
        .env("BROWSER_SCREENSHOTS", &screenshots)
        .env("BROWSER_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("BROWSER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BROWSER_CHROMIUM", &tools.chromium);
    let (status, output) = run_streaming(node, NODE_TIMEOUT);
    let took = started.elapsed();
    progress(&format!(
        "browser: node finished ({status}) after {:.1}s in all; screenshots in {}",
        took.as_secs_f64(),
        screenshots.display()
    ));
    if !status.is_ok() {
        // The whole output went by above; node's summary of the failures is its end.
        let summary = output
            .rfind("failing tests:")
            .map_or(output.as_str(), |at| &output[at..]);
        panic!(
            "the browser tests failed ({status}):\n{summary}\n\n{}\n\
             Screenshots so far: {}",
            guard.log_tails(),
            screenshots.display()
        );
    }
}

/// What the run needs from the machine, found before anything is built.
struct Tools {
    node: PathBuf,
    chromium: PathBuf,
    python: String,
}

fn preflight() -> Result<Tools, Vec<String>> {
    let mut problems = vec![];
    let node = PathBuf::from("node");
    match Command::new(&node).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => problems.push(
            "node is not on the PATH: install Node.js 20 or newer (Debian: apt-get install nodejs npm)"
                .to_string(),
        ),
    }
    for package in ["playwright-core", "axe-core"] {
        let manifest = repo_root()
            .join("node_modules")
            .join(package)
            .join("package.json");
        if !manifest.is_file() {
            problems.push(format!(
                "{} is missing: run `npm ci` in {}",
                manifest.display(),
                repo_root().display()
            ));
        }
    }
    let chromium =
        env_path("BROWSER_CHROMIUM").unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        problems.push(format!(
            "no browser at {}: install Debian's chromium (apt-get install chromium), \
             or point BROWSER_CHROMIUM at a Chromium or Chrome binary",
            chromium.display()
        ));
    }
    let python = env::var("TEST_SMTP_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_string());
    let has_aiosmtpd = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_aiosmtpd {
        problems.push(format!(
            "{python} cannot import aiosmtpd, which the SMTP test server needs: install \
             python3-aiosmtpd (Debian/Ubuntu) or `pip install aiosmtpd`, or set \
             TEST_SMTP_PYTHON to a python3 that has it"
        ));
    }
    if problems.is_empty() {
        Ok(Tools {
            node,
            chromium,
            python,
        })
    } else {
        Err(problems)
    }
}

/// Builds the rendered project with the matrix's settings and returns a copy of its
/// binary: the shared build directory's `debug/demo-app` is overwritten by whichever
/// combination is built next.
fn build(project: &Path, build_dir: &Path, scratch: &Path) -> PathBuf {
    progress(&format!(
        "browser: cargo build in {} (build dir {})",
        project.display(),
        build_dir.display()
    ));
    let log = scratch.join("build.log");
    let file = File::create(&log).expect("cannot create the build log");
    let mut command = cargo_in(project, build_dir);
    command
        .arg("build")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("cannot share the build log"))
        .stderr(file);
    let started = Instant::now();
    let mut child = command.spawn().expect("cannot start cargo");
    let status = wait_timeout(&mut child, BUILD_TIMEOUT);
    if !status.is_ok() {
        panic!(
            "`cargo build` of the rendered app failed ({status}); last {LOG_TAIL_LINES} lines of {}:\n{}",
            log.display(),
            tail(&log, LOG_TAIL_LINES)
        );
    }
    progress(&format!(
        "browser: built in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    let built = build_dir.join("debug").join(PROJECT_NAME);
    let copy = scratch.join(PROJECT_NAME);
    fs::copy(&built, &copy)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", built.display(), copy.display()));
    copy
}

/// One app instance: its port, base URL, database and log.
struct Instance {
    port: u16,
    base_url: String,
    database: PathBuf,
    log: PathBuf,
}

impl Instance {
    fn new(run_dir: &Path, name: &str) -> Instance {
        let port = free_port();
        Instance {
            port,
            // A name, not an address: passkeys (WebAuthn) need a domain for their site.
            base_url: format!("http://localhost:{port}"),
            database: run_dir.join(format!("{name}.db")),
            log: run_dir.join(format!("{name}.log")),
        }
    }

    /// The settings both instances share; see the rendered `.env.example`.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("APP_ENV", "development".to_string()),
            ("APP_HOST", "127.0.0.1".to_string()),
            ("APP_PORT", self.port.to_string()),
            ("APP_BASE_URL", self.base_url.clone()),
            ("DATABASE_URL", self.database.display().to_string()),
            (
                "SESSION_SECRET",
                "browser-tests-only-Yq3v8Xz1Lk5Rt7Wn2Pb4Hs6Jd9Fg0Mc3Vx5Nz7Qa1Ew4Ry6Tu8Io2Ps"
                    .to_string(),
            ),
            // The lowest cost the app accepts: hashing is not under test here.
            ("BCRYPT_COST", "4".to_string()),
            ("MAIL_FROM", "Demo App <noreply@example.com>".to_string()),
            ("RUST_LOG", "info".to_string()),
        ]
    }
}

fn configured(command: &mut Command, vars: &[(&str, String)], cwd: &Path) {
    // Only the settings given here: a developer's own (DATABASE_URL, APP_ENV, limits)
    // must not leak in. The app finds templates/ and static/ in its working directory,
    // the rendered project's, which holds no .env.
    command.env_clear();
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Some(value) = env::var_os(keep) {
            command.env(keep, value);
        }
    }
    command.current_dir(cwd);
    for (name, value) in vars {
        command.env(name, value);
    }
}

fn create_admin(binary: &Path, vars: &[(&str, String)], project: &Path) {
    let mut command = Command::new(binary);
    command.args([
        "create-admin",
        "--email",
        ADMIN_EMAIL,
        "--name",
        "Ada Admin",
    ]);
    configured(&mut command, vars, project);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} create-admin: {e}", binary.display()));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
        .expect("cannot write the password to create-admin");
    let out = child
        .wait_with_output()
        .expect("create-admin did not finish");
    assert!(
        out.status.success(),
        "create-admin failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_app(binary: &Path, vars: &[(&str, String)], project: &Path, log: &Path) -> Child {
    let file = File::create(log).expect("cannot create the app log");
    let mut command = Command::new(binary);
    command.arg("serve");
    configured(&mut command, vars, project);
    command
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("cannot share the app log"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()))
}

/// The rendered project's own SMTP test server, started and waited for ("ready").
fn start_smtp(python: &str, project: &Path, port: u16, mail_dir: &Path, run_dir: &Path) -> Child {
    let script = project.join("tests").join("support").join("smtp_server.py");
    let log = run_dir.join("smtp.log");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(port.to_string())
        .arg(mail_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("cannot create the SMTP log"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {python} {}: {e}", script.display()));
    let stdout: ChildStdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(line) if line.trim() == "ready" => child,
        other => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the SMTP test server did not report ready (got {other:?}); {}:\n{}",
                log.display(),
                tail(&log, LOG_TAIL_LINES)
            );
        }
    }
}

fn wait_healthy(instance: &Instance, guard: &mut Processes) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if http_status(instance.port, "/healthz") == Some(200) {
            return;
        }
        if let Some(exited) = guard.exited() {
            panic!("{exited}\n{}", guard.log_tails());
        }
        thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "{} did not answer /healthz with 200 within 60s\n{}",
        instance.base_url,
        guard.log_tails()
    );
}

/// The processes this test started, killed when it ends, however it ends.
#[derive(Default)]
struct Processes {
    children: Vec<(&'static str, Child, PathBuf)>,
}

impl Processes {
    fn push(&mut self, name: &'static str, child: Child, log: PathBuf) {
        self.children.push((name, child, log));
    }

    /// "name exited (status)" for the first one that is no longer running.
    fn exited(&mut self) -> Option<String> {
        self.children.iter_mut().find_map(|(name, child, _)| {
            child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| format!("the {name} exited early ({status})"))
        })
    }

    fn log_tails(&self) -> String {
        self.children
            .iter()
            .map(|(name, _, log)| {
                format!(
                    "--- last {LOG_TAIL_LINES} lines of the {name}'s log {}:\n{}",
                    log.display(),
                    tail(log, LOG_TAIL_LINES)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How a child process ended.
enum Status {
    Exited(ExitStatus),
    TimedOut(Duration),
}

impl Status {
    fn is_ok(&self) -> bool {
        matches!(self, Status::Exited(s) if s.success())
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(s) => write!(f, "{s}"),
            Status::TimedOut(d) => write!(f, "killed after {}s", d.as_secs()),
        }
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Status {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Status::Exited(status),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Status::TimedOut(timeout);
            }
            Ok(None) => thread::sleep(Duration::from_millis(200)),
            Err(e) => panic!("cannot wait for a child process: {e}"),
        }
    }
}

/// Runs `command`, copying its stdout and stderr to this process's stderr as they come
/// (libtest does not capture that), and returns how it ended and everything it wrote.
fn run_streaming(mut command: Command, timeout: Duration) -> (Status, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node: {e}"));
    let (tx, rx) = mpsc::channel::<String>();
    let readers: Vec<_> = [
        Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().expect("piped")),
    ]
    .into_iter()
    .map(|stream| {
        let tx = tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = writeln!(std::io::stderr(), "{line}");
                let _ = tx.send(line);
            }
        })
    })
    .collect();
    drop(tx);
    let status = wait_timeout(&mut child, timeout);
    for reader in readers {
        let _ = reader.join();
    }
    let output: Vec<String> = rx.into_iter().collect();
    (status, output.join("\n"))
}

/// The last `lines` lines of a log, each cut to 300 characters (request logs are long).
fn tail(log: &Path, lines: usize) -> String {
    let text = fs::read_to_string(log).unwrap_or_else(|e| format!("(cannot read log: {e})"));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|line| match line.char_indices().nth(300) {
            Some((at, _)) => format!("{}...", &line[..at]),
            None => (*line).to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
