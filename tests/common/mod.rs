//! What the test binaries share: the option matrix, rendering the template with
//! cargo-generate's library (exactly as `cargo generate` would, minus the prompts),
//! and asking a server on this machine for a page.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::env;
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::Duration;

use cargo_generate::{GenerateArgs, TemplatePath, Vcs};

pub const DATABASES: [&str; 3] = ["sqlite", "postgres", "mysql"];
pub const MAILS: [&str; 4] = ["smtp", "postmark", "sendgrid", "resend"];

/// The project name every test renders with; the rendered project lives in a folder of that name.
pub const PROJECT_NAME: &str = "demo-app";

/// One database and one mail provider: one project a user can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Combination {
    pub database: &'static str,
    pub mail: &'static str,
}

impl Combination {
    /// Every combination, grouped by database.
    pub fn all() -> Vec<Combination> {
        DATABASES
            .iter()
            .flat_map(|&database| {
                MAILS
                    .iter()
                    .map(move |&mail| Combination { database, mail })
            })
            .collect()
    }

    /// `<database>-<mail>`, as in examples/ and `MATRIX`.
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The lock file under template/locks/ the project ships as Cargo.lock (the three
    /// HTTP API providers need the same crates); the post hook picks it the same way.
    pub fn lock_file(&self) -> String {
        let family = if self.mail == "smtp" { "smtp" } else { "api" };
        format!("locks/{}-{family}.lock", self.database)
    }

    /// The examples/ values file a user would pass with `--template-values-file`.
    pub fn examples_file(&self) -> PathBuf {
        repo_root()
            .join("examples")
            .join(format!("{}.toml", self.name()))
    }
}

impl fmt::Display for Combination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.database, self.mail)
    }
}

/// How the answers to the template's questions reach cargo-generate.
pub enum Answers {
    /// None at all: every placeholder takes its default.
    Defaults,
    /// `--define database=... --define mail=...`.
    Define(Combination),
    /// `--template-values-file examples/<combination>.toml`.
    ValuesFile(Combination),
}

/// This checkout. Read when the test runs (cargo sets it for test binaries): a binary
/// built from another checkout sharing the build directory and reused as up to date
/// would otherwise work on that other checkout's files.
pub fn repo_root() -> PathBuf {
    env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// Where the harness builds: `$CARGO_TARGET_DIR`, else `target/` of this checkout.
pub fn harness_target() -> PathBuf {
    env_path("CARGO_TARGET_DIR").unwrap_or_else(|| repo_root().join("target"))
}

/// The build directory the rendered projects share (`MATRIX_TARGET_DIR`, else
/// `matrix/` in the harness's own), so dependencies are compiled once for all.
pub fn matrix_target_dir() -> PathBuf {
    env_path("MATRIX_TARGET_DIR").unwrap_or_else(|| harness_target().join("matrix"))
}

/// `cargo` in the rendered `project`, with the settings every build of a rendered
/// project uses: the same settings mean the same compiled dependencies.
pub fn cargo_in(project: &Path, target_dir: &Path) -> Command {
    let mut command = Command::new("cargo");
    command
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_TERM_COLOR", "never")
        // Debug info is most of a debug build's size and link time, and line tables
        // are all a panic's backtrace needs.
        .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
        // Each project is built once per run: incremental caches would only cost
        // time and disk.
        .env("CARGO_INCREMENTAL", "0");
    command
}

/// An absolute path from the environment: the children run in other directories.
pub fn env_path(var: &str) -> Option<PathBuf> {
    let path = env::var_os(var).filter(|v| !v.is_empty())?;
    Some(std::path::absolute(&path).unwrap_or_else(|_| PathBuf::from(path)))
}

/// Writes straight to the process's stderr, which libtest does not capture (it only
/// captures the print macros), so progress shows during a plain `cargo test`.
pub fn progress(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

pub fn template_root() -> PathBuf {
    repo_root().join("template")
}

/// Renders the template into `parent/demo-app` and returns that path. `parent` is wiped
/// first so nothing from an earlier run survives. It must lie outside this checkout:
/// inside it, cargo would take the rendered project for a member of the harness workspace.
pub fn render(answers: &Answers, parent: &Path) -> Result<PathBuf, String> {
    render_as(answers, parent, PROJECT_NAME)
}

/// Like [`render`], as the project `name`.
pub fn render_as(answers: &Answers, parent: &Path, name: &str) -> Result<PathBuf, String> {
    set_author_once();
    if parent.exists() {
        fs::remove_dir_all(parent)
            .map_err(|e| format!("cannot clear {}: {e}", parent.display()))?;
    }
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;

    // An empty app config, so that a developer's ~/.cargo/cargo-generate.toml (favorites,
    // default values) cannot change what the tests render.
    let config = parent.join("cargo-generate-app-config.toml");
    fs::write(&config, "").map_err(|e| format!("cannot write {}: {e}", config.display()))?;

    let (define, template_values_file) = match answers {
        Answers::Defaults => (vec![], None),
        Answers::Define(c) => (
            vec![
                format!("database={}", c.database),
                format!("mail={}", c.mail),
            ],
            None,
        ),
        Answers::ValuesFile(c) => (vec![], Some(c.examples_file().display().to_string())),
    };

    let args = GenerateArgs {
        template_path: TemplatePath {
            path: Some(repo_root().display().to_string()),
            auto_path: Some("template".into()),
            ..Default::default()
        },
        name: Some(name.into()),
        silent: true,
        vcs: Some(Vcs::None),
        bin: true,
        no_workspace: true,
        // The CLI users install does not run rustfmt, so neither may the tests:
        // `cargo fmt --check` must see the output exactly as users get it.
        no_fmt: true,
        config: Some(config),
        define,
        template_values_file,
        destination: Some(parent.to_path_buf()),
        ..Default::default()
    };
    cargo_generate::generate(args).map_err(|e| format!("cargo-generate failed: {e:#}"))
}

/// cargo-generate insists on an author (the `authors` variable), which it takes from
/// $CARGO_NAME, $USER and the like; CI machines may have none of them. A fixed one also
/// keeps the output independent of who runs the tests.
fn set_author_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: std serialises its own environment reads and writes, and no code in
        // this process reads the environment outside std.
        unsafe {
            std::env::set_var("CARGO_NAME", "actix-saas-starter");
            std::env::set_var("CARGO_EMAIL", "actix-saas-starter@example.com");
        }
    });
}

/// Every file below `root` by its `/`-separated relative path, skipping build output.
pub fn read_tree(root: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() != 1 || e.file_name() != "target");
    for entry in walker {
        let entry = entry.map_err(|e| format!("cannot walk {}: {e}", root.display()))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir stays below its root");
        let rel = rel.to_string_lossy().replace('\\', "/");
        let bytes = fs::read(entry.path())
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        files.insert(rel, bytes);
    }
    Ok(files)
}

/// The status of `GET path` on 127.0.0.1:`port`, or `None` while nothing answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free port")
}
