//! CUSTOMIZE.md's recipes, run as written. Each step a reader follows is a block of
//! the document marked with an HTML comment just above it:
//!
//! - `<!-- recipe: NAME -->` above a `diff` block: a change to existing files, applied
//!   with `git apply` (its context must still match the generated code);
//! - `<!-- recipe: NAME file=PATH -->` above any block: a new file with that content;
//! - `<!-- recipe: NAME run -->` above an `sh` block: commands, run in the project.
//!
//! The steps are applied in document order to a freshly rendered default project,
//! which must then pass `cargo fmt --check`, clippy and its own tests, the recipes'
//! tests included. The migration recipe is checked on its own: adding the folder alone
//! must change what `migrate` applies. The document is the only copy of the recipes,
//! so a recipe that stops working fails here.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    Answers, Combination, PROJECT_NAME, cargo_in, harness_target, matrix_target_dir, progress,
    render, render_as, repo_root,
};

/// Every recipe the document must keep, in its order.
const RECIPES: [&str; 8] = [
    "send-a-new-kind-of-mail",
    "add-a-page",
    "add-an-admin-action",
    "add-a-migration",
    "extend-the-user-model",
    "rebrand",
    "switch-mail-provider",
    "replace-the-rate-limiter",
];

#[derive(Debug, PartialEq)]
enum Kind {
    Diff,
    File(String),
    Run,
}

#[derive(Debug)]
struct Step {
    recipe: String,
    kind: Kind,
    body: String,
    /// Where the block starts in the document, for messages.
    line: usize,
}

#[test]
fn every_recipe_in_customize_md_builds_lints_and_passes_its_own_tests() {
    let document = fs::read_to_string(repo_root().join("CUSTOMIZE.md")).unwrap();
    let steps = recipe_steps(&document).unwrap_or_else(|problem| panic!("{problem}"));
    let mut found: Vec<&str> = Vec::new();
    for step in &steps {
        if found.last() != Some(&step.recipe.as_str()) {
            found.push(&step.recipe);
        }
    }
    assert_eq!(found, RECIPES, "the recipes of CUSTOMIZE.md, in order");

    let parent = harness_target().join("recipes");
    let project = render(&Answers::Defaults, &parent).unwrap_or_else(|e| panic!("{e}"));
    let target = matrix_target_dir();
    let binary = target.join("debug").join(PROJECT_NAME);
    let database = parent.join("recipes.db");

    for recipe in RECIPES {
        progress(&format!("recipes: {recipe}"));
        if recipe == "switch-mail-provider" {
            // What `cargo generate ... --name tmp-app -d mail=postmark` makes, beside the project.
            let postmark = Answers::Define(Combination {
                database: "sqlite",
                mail: "postmark",
            });
            let throwaway = harness_target().join("recipes-throwaway");
            let made =
                render_as(&postmark, &throwaway, "tmp-app").unwrap_or_else(|e| panic!("{e}"));
            fs::rename(made, parent.join("tmp-app")).unwrap();
        }
        let before_migration = recipe == "add-a-migration";
        if before_migration {
            cargo(&project, &target, &["build"]);
            let applied = migrate(&binary, &project, &database);
            assert!(applied > 0, "the first migrate applied nothing");
        }
        for step in steps.iter().filter(|step| step.recipe == recipe) {
            apply(&project, step);
        }
        if before_migration {
            // Only the migrations folder changed: build.rs must make cargo notice.
            cargo(&project, &target, &["build"]);
            assert_eq!(
                migrate(&binary, &project, &database),
                1,
                "after the migration recipe, migrate must apply its one new migration"
            );
        }
    }

    cargo(
        &project,
        &target,
        &["fmt", "--check", "--", "--color=never"],
    );
    cargo(
        &project,
        &target,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    );
    cargo(&project, &target, &["test"]);
    cargo(&project, &target, &["build"]);
    let home = serve_once(&binary, &project, "/");
    assert!(
        home.contains("Welcome to Acme Cloud"),
        "the rebranded home page:\n{home}"
    );
}

/// The marked blocks of `document`, in order.
fn recipe_steps(document: &str) -> Result<Vec<Step>, String> {
    let lines: Vec<&str> = document.lines().collect();
    let mut steps = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let marker = lines[index].trim();
        index += 1;
        let Some(spec) = marker
            .strip_prefix("<!-- recipe: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let mut words = spec.split_whitespace();
        let recipe = words.next().unwrap_or_default().to_owned();
        let kind = match words.next() {
            None => Kind::Diff,
            Some("run") => Kind::Run,
            Some(word) => match word.strip_prefix("file=") {
                Some(path) => Kind::File(path.to_owned()),
                None => {
                    return Err(format!(
                        "CUSTOMIZE.md:{index}: unknown recipe marker {word}"
                    ));
                }
            },
        };
        let fence_line = lines
            .get(index)
            .ok_or_else(|| format!("CUSTOMIZE.md:{index}: no block after the marker"))?;
        let indent = fence_line.len() - fence_line.trim_start().len();
        let language = fence_line.trim_start().strip_prefix("```").ok_or_else(|| {
            format!(
                "CUSTOMIZE.md:{}: a recipe marker must stand right above a ``` block",
                index + 1
            )
        })?;
        if kind == Kind::Diff && language != "diff" || kind == Kind::Run && language != "sh" {
            return Err(format!(
                "CUSTOMIZE.md:{}: this marker needs a {} block",
                index + 1,
                if kind == Kind::Run { "sh" } else { "diff" }
            ));
        }
        let start = index + 1;
        let mut body = String::new();
        index = start;
        loop {
            let line = lines
                .get(index)
                .ok_or_else(|| format!("CUSTOMIZE.md:{start}: the block never ends"))?;
            index += 1;
            if line.trim() == "```" {
                break;
            }
            body.push_str(line.get(indent..).unwrap_or(line.trim_start()));
            body.push('\n');
        }
        steps.push(Step {
            recipe,
            kind,
            body,
            line: start,
        });
    }
    Ok(steps)
}

fn apply(project: &Path, step: &Step) {
    let output = match &step.kind {
        Kind::File(path) => {
            let path = project.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &step.body).unwrap();
            return;
        }
        Kind::Diff => piped(
            Command::new("git")
                .args(["apply", "--verbose", "-"])
                .current_dir(project),
            &step.body,
        ),
        Kind::Run => piped(
            Command::new("bash")
                .args(["-euo", "pipefail", "-s"])
                .current_dir(project),
            &step.body,
        ),
    };
    assert!(
        output.status.success(),
        "CUSTOMIZE.md:{} ({}) does not apply to a fresh project:\n{}{}",
        step.line,
        step.recipe,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `command` with `input` on its stdin.
fn piped(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the step");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn cargo(project: &Path, target: &Path, args: &[&str]) {
    progress(&format!("recipes: cargo {}", args.join(" ")));
    let output = cargo_in(project, target)
        .args(args)
        .output()
        .expect("cannot run cargo");
    assert!(
        output.status.success(),
        "cargo {} failed on the project the recipes changed:\n{}{}",
        args.join(" "),
        tail(&output.stdout),
        tail(&output.stderr)
    );
}

/// The last lines of a command's output.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(120)..].join("\n") + "\n"
}

/// Runs `migrate` on the SQLite file `database`; how many migrations it applied.
fn migrate(binary: &Path, project: &Path, database: &Path) -> usize {
    let output = Command::new(binary)
        .arg("migrate")
        .current_dir(project)
        .env("DATABASE_URL", database)
        .env("RUST_LOG", "info")
        .output()
        .expect("cannot run migrate");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "migrate failed:\n{log}");
    log.lines()
        .filter(|line| line.contains("applied migration"))
        .count()
}

/// Starts the app in `project` (so it reads the `.env` there), fetches `path` and stops it.
fn serve_once(binary: &Path, project: &Path, path: &str) -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free port");
    let mut app = Command::new(binary)
        .arg("serve")
        .current_dir(project)
        .env("APP_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start the app");
    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
            stream.write_all(request.as_bytes()).unwrap();
            let mut page = String::new();
            stream.read_to_string(&mut page).unwrap();
            break page;
        }
        assert!(Instant::now() < deadline, "the app did not start listening");
        thread::sleep(Duration::from_millis(200));
    };
    let _ = app.kill();
    let _ = app.wait();
    page
}
