//! The container image of the default combination (SQLite, SMTP), built from its
//! Dockerfile as a user's `docker build` would, then run.
//!
//! Docker Hub is out of this machine's reach and so is a container engine that can run
//! images, so: `scripts/image-bases.sh` makes the Dockerfile's two base images from
//! Debian's mirror (debootstrap) and this machine's Rust toolchain, `podman build
//! --isolation chroot` builds the app's image on them (the runtime base stands in for
//! distroless, which it cannot fetch), and the image's filesystem is run with chroot as
//! the image's user, with the image's environment, working directory, entry point and
//! health check. The binary in it must start, migrate, answer `/readyz`, pass the
//! HEALTHCHECK and stop cleanly on SIGTERM, all as that non-root user.
//!
//! Needs root, podman and debootstrap (`apt-get install podman debootstrap`; `.ci/run`
//! installs them). A missing one fails the test with what to install: it never skips.
//! The build time and the image's size are printed.

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    Answers, PROJECT_NAME, free_port, harness_target, http_status, progress, render, repo_root,
};

const TAG: &str = "localhost/demo-app:image-test";
const CONTAINER: &str = "demo-app-image-test";

#[test]
fn the_default_image_builds_and_runs_migrates_and_answers_readyz_as_its_non_root_user() {
    preflight().unwrap_or_else(|problems| {
        panic!(
            "the image test cannot run:\n  - {}",
            problems.join("\n  - ")
        )
    });
    let work = harness_target().join("image");
    progress("image: rendering the default combination (sqlite, smtp)");
    let project = render(&Answers::Defaults, &work.join("project"))
        .unwrap_or_else(|e| panic!("cannot render the template: {e}"));

    progress("image: base images (debootstrap, this machine's toolchain)");
    let bases = succeed(
        Command::new(repo_root().join("scripts/image-bases.sh")).arg(work.join("bases")),
        "scripts/image-bases.sh",
    );
    let bases = String::from_utf8_lossy(&bases.stdout);
    let (runtime_base, rust_base) = bases
        .trim()
        .split_once(' ')
        .expect("image-bases.sh prints two image names");

    progress("image: podman build");
    let started = Instant::now();
    let build = podman()
        .args(["build", "--isolation", "chroot", "--format", "docker"])
        .args(["--build-arg", &format!("RUST_IMAGE={rust_base}")])
        .args(["--build-arg", &format!("RUNTIME_IMAGE={runtime_base}")])
        .args(["--tag", TAG])
        .arg(&project)
        .output()
        .expect("cannot run podman");
    let log = work.join("build.log");
    std::fs::write(&log, [&build.stdout[..], &build.stderr[..]].concat()).unwrap();
    assert!(
        build.status.success(),
        "podman build failed ({}); the end of {}:\n{}",
        build.status,
        log.display(),
        tail(&String::from_utf8_lossy(&build.stderr), 30)
    );
    let size = inspect("{{.Size}}")
        .parse::<u64>()
        .expect("a size in bytes");
    progress(&format!(
        "image: built in {} s; {TAG} is {:.1} MB",
        started.elapsed().as_secs(),
        size as f64 / 1e6
    ));

    let config = ImageConfig::read();
    assert_eq!(config.user, "65532:65532", "the image runs as root");
    assert_eq!(config.working_dir, "/app");
    let binary = format!("/usr/local/bin/{PROJECT_NAME}");
    assert_eq!(config.entrypoint, std::slice::from_ref(&binary));
    assert_eq!(config.cmd, ["serve"]);
    assert_eq!(config.healthcheck, ["CMD", &binary, "healthcheck"]);
    for setting in [
        "APP_ENV=production",
        "APP_HOST=0.0.0.0",
        "DATABASE_URL=/app/data/demo_app.db",
    ] {
        assert!(
            config.env.iter().any(|e| e == setting),
            "no {setting} in {:?}",
            config.env
        );
    }

    let root = Container::create();
    let binary_size = std::fs::metadata(root.path.join(&binary[1..]))
        .expect("no binary where the entry point says")
        .len();
    progress(&format!(
        "image: the binary is {:.1} MB",
        binary_size as f64 / 1e6
    ));
    let port = free_port();
    // What `docker run -e ...` would add: the production settings the image cannot know.
    let mut env = config.env.clone();
    env.extend([
        format!("APP_PORT={port}"),
        "APP_BASE_URL=https://app.example.com".into(),
        format!("SESSION_SECRET={}", random_hex(64)),
        "MAIL_FROM=Demo <hello@example.com>".into(),
        "SMTP_HOST=localhost".into(),
        "SHUTDOWN_NOTICE_SECONDS=1".into(),
    ]);
    let run = |args: &[String]| in_image(&root.path, &config, &env, args);

    let mut app = run(&[binary.clone(), config.cmd[0].clone()])
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the app in the image");
    let ready = wait_for_ready(port, &mut app);
    let mut log = String::new();
    if !ready {
        let _ = app.kill();
        app.stderr.take().unwrap().read_to_string(&mut log).unwrap();
        panic!("the app in the image never answered /readyz with 200:\n{log}");
    }

    assert_eq!(
        process_uids(app.id()),
        "65532\t65532\t65532\t65532",
        "the app does not run as the image's user"
    );
    let database = root.path.join("app/data/demo_app.db");
    let owner = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(&database).expect("no database file in the image's volume"),
    );
    assert_eq!(owner, 65532, "{} belongs to {owner}", database.display());

    let health = run(&config.healthcheck[1..]).output().unwrap();
    assert!(
        health.status.success(),
        "the HEALTHCHECK failed: {}",
        String::from_utf8_lossy(&health.stderr)
    );

    let signalled = Command::new("kill")
        .args(["-TERM", &app.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let status = wait_exit(&mut app, Duration::from_secs(30));
    app.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(status == Some(0), "the app stopped with {status:?}:\n{log}");
    assert!(
        log.contains("applied migration"),
        "no migration in the log:\n{log}"
    );
    assert!(
        log.contains("shutting down"),
        "no graceful stop in the log:\n{log}"
    );

    // The release step DEPLOY.md gives: `migrate` on the same volume.
    let migrate = run(&[binary, "migrate".into()]).output().unwrap();
    let said = String::from_utf8_lossy(&migrate.stderr);
    assert!(migrate.status.success(), "migrate failed: {said}");
    assert!(said.contains("database schema is up to date"), "{said}");
}

fn preflight() -> Result<(), Vec<String>> {
    let mut problems = vec![];
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        problems.push("podman's chroot builds and chroot itself need root".to_string());
    }
    for (tool, package) in [("podman", "podman"), ("debootstrap", "debootstrap")] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success());
        if !found {
            problems.push(format!("{tool} is missing: apt-get install {package}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn podman() -> Command {
    Command::new("podman")
}

fn succeed(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        tail(&String::from_utf8_lossy(&output.stderr), 30)
    );
    output
}

fn inspect(format: &str) -> String {
    let output = succeed(
        podman().args(["image", "inspect", "--format", format, TAG]),
        "podman image inspect",
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// What the image says about running it.
struct ImageConfig {
    user: String,
    working_dir: String,
    env: Vec<String>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    healthcheck: Vec<String>,
}

impl ImageConfig {
    fn read() -> Self {
        // One item per line: none of these values holds a line break.
        let list = |field: &str| -> Vec<String> {
            inspect(&format!(
                "{{{{range {field}}}}}{{{{println .}}}}{{{{end}}}}"
            ))
            .lines()
            .map(str::to_owned)
            .collect()
        };
        Self {
            user: inspect("{{.Config.User}}"),
            working_dir: inspect("{{.Config.WorkingDir}}"),
            env: list(".Config.Env"),
            entrypoint: list(".Config.Entrypoint"),
            cmd: list(".Config.Cmd"),
            healthcheck: list(".Config.Healthcheck.Test"),
        }
    }
}

/// A container made from the image (never started: this machine cannot), whose
/// writable filesystem is mounted at `path`. Removed when dropped.
struct Container {
    path: PathBuf,
}

impl Container {
    fn create() -> Self {
        let _ = podman().args(["rm", "--force", CONTAINER]).output();
        succeed(
            podman().args(["create", "--name", CONTAINER, TAG]),
            "podman create",
        );
        let mounted = succeed(podman().args(["mount", CONTAINER]), "podman mount");
        Self {
            path: PathBuf::from(String::from_utf8_lossy(&mounted.stdout).trim()),
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman().args(["umount", CONTAINER]).output();
        let _ = podman().args(["rm", "--force", CONTAINER]).output();
    }
}

/// `args` run inside the image's filesystem as its user, in its working directory,
/// with `env` and nothing else, on this machine's network.
fn in_image(root: &Path, config: &ImageConfig, env: &[String], args: &[String]) -> Command {
    let (uid, gid) = config.user.split_once(':').expect("USER uid:gid");
    let (uid, gid): (libc::uid_t, libc::gid_t) = (uid.parse().unwrap(), gid.parse().unwrap());
    let root = root.to_owned();
    let working_dir = PathBuf::from(&config.working_dir);
    let mut command = Command::new(&args[0]);
    command.args(&args[1..]).env_clear();
    for setting in env {
        let (name, value) = setting.split_once('=').expect("NAME=value");
        command.env(name, value);
    }
    // SAFETY: between fork and exec the closure only makes system calls: chroot,
    // chdir, and dropping to the image's user (groups first, while still root).
    unsafe {
        command.pre_exec(move || {
            std::os::unix::fs::chroot(&root)?;
            std::env::set_current_dir(&working_dir)?;
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

fn wait_for_ready(port: u16, app: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if app.try_wait().unwrap().is_some() {
            return false;
        }
        if http_status(port, "/readyz") == Some(200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    None
}

/// The real, effective, saved and filesystem uids of a process, as /proc lists them.
fn process_uids(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `bytes` random bytes from the kernel, as hex: a session secret production accepts.
fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut random))
        .expect("cannot read /dev/urandom");
    random.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
