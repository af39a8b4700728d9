//! Renders all twelve combinations and checks the rendered trees: no Liquid left, copied
//! files untouched, nothing of an unchosen option, the chosen backends in Cargo.toml.
//! Fast (no compiling): it runs before the matrix, whose builds take many minutes.
//!
//! Every test collects all of its problems and reports them together, each with the
//! combination, file and line, so one run shows everything that is wrong.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread;

use common::{Answers, Combination, DATABASES, MAILS, read_tree, render, template_root};
use regex::{Regex, RegexBuilder};

type Tree = BTreeMap<String, Vec<u8>>;

struct Rendered {
    combination: Combination,
    root: PathBuf,
    files: Tree,
}

/// Folders cargo-generate copies byte for byte (`exclude` in cargo-generate.toml):
/// Tera syntax would otherwise be eaten by Liquid.
const VERBATIM_DIRS: [&str; 2] = ["templates/", "static/"];

fn render_root() -> PathBuf {
    env::temp_dir().join("actix-saas-starter-render")
}

/// All twelve combinations rendered once (with `--define`), shared by every test below.
fn rendered() -> &'static [Rendered] {
    static RENDERED: OnceLock<Result<Vec<Rendered>, String>> = OnceLock::new();
    let result = RENDERED.get_or_init(|| {
        let mut done = vec![];
        let mut errors = vec![];
        for result in render_each(Answers::Define, "define") {
            match result {
                Ok(r) => done.push(r),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(done)
        } else {
            Err(errors.join("\n"))
        }
    });
    match result {
        Ok(rendered) => rendered,
        Err(errors) => panic!("rendering failed:\n{errors}"),
    }
}

/// Renders every combination, in parallel (each render is a second or two of CPU),
/// into `<render root>/<combination>/<subdir>`.
fn render_each(answers: fn(Combination) -> Answers, subdir: &str) -> Vec<Result<Rendered, String>> {
    thread::scope(|scope| {
        let renders: Vec<_> = Combination::all()
            .into_iter()
            .map(|c| {
                let parent = render_root().join(c.name()).join(subdir);
                let handle = scope.spawn(move || -> Result<Rendered, String> {
                    let root = render(&answers(c), &parent)?;
                    let files = read_tree(&root)?;
                    Ok(Rendered {
                        combination: c,
                        root,
                        files,
                    })
                });
                (c, handle)
            })
            .collect();
        renders
            .into_iter()
            .map(|(c, handle)| match handle.join() {
                Ok(result) => result.map_err(|e| format!("{c}: {e}")),
                Err(_) => Err(format!("{c}: rendering panicked")),
            })
            .collect()
    })
}

fn assert_no_problems(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s)\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn is_verbatim(rel: &str) -> bool {
    VERBATIM_DIRS.iter().any(|dir| rel.starts_with(dir))
}

/// The lines of a text file, numbered from 1; binary files have none.
fn numbered_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &str)> {
    std::str::from_utf8(bytes)
        .ok()
        .into_iter()
        .flat_map(|text| text.lines().enumerate().map(|(i, line)| (i + 1, line)))
}

fn excerpt(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

/// Text that only code, config or docs for `option` would contain. "Resend" is also
/// what the app does with a verification code (`/verify/resend`, `code_resend_cooldown`,
/// `VERIFICATION_RESEND_SECONDS`), so the provider is recognised by its API host, its
/// settings, its module and the phrase "Resend API" only.
fn marker(option: &str) -> Regex {
    let pattern = match option {
        "sqlite" => r"sqlite",
        "postgres" => r"postgres|libpq|\bpq-sys|\bpg_",
        "mysql" => r"mysql|mariadb",
        "smtp" => r"smtp",
        "postmark" => r"postmark",
        "sendgrid" => r"sendgrid",
        "resend" => {
            r"api\.resend\.com|\bresend_api|transport::resend\b|\bmod resend\b|\bresend\.rs|\bresend (http )?api\b|mail_transport=resend"
        }
        other => panic!("no marker for option {other:?}"),
    };
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .expect("markers are valid regexes")
}

fn unchosen(c: &Combination) -> Vec<&'static str> {
    DATABASES
        .iter()
        .chain(MAILS.iter())
        .copied()
        .filter(|&option| option != c.database && option != c.mail)
        .collect()
}

/// Files below `dir` of the template, keyed by their path relative to template/.
fn template_files_under(dir: &str) -> Result<Tree, String> {
    let root = template_root();
    let files = read_tree(&root.join(dir))?;
    Ok(files
        .into_iter()
        .map(|(rel, bytes)| (format!("{dir}/{rel}"), bytes))
        .collect())
}

/// Problems that make `actual` differ from `expected`, named after `label`.
fn compare_trees(label: &str, expected: &Tree, actual: &Tree) -> Vec<String> {
    let mut problems = vec![];
    for rel in expected.keys().filter(|rel| !actual.contains_key(*rel)) {
        problems.push(format!("{label}: {rel}: missing"));
    }
    for rel in actual.keys().filter(|rel| !expected.contains_key(*rel)) {
        problems.push(format!("{label}: {rel}: unexpected file"));
    }
    for (rel, want) in expected {
        if let Some(got) = actual.get(rel)
            && got != want
        {
            problems.push(format!("{label}: {rel}: {}", first_difference(want, got)));
        }
    }
    problems
}

fn first_difference(want: &[u8], got: &[u8]) -> String {
    let want_lines: Vec<_> = numbered_lines(want).collect();
    let got_lines: Vec<_> = numbered_lines(got).collect();
    if want_lines.is_empty() || got_lines.is_empty() {
        return format!("bytes differ ({} vs {} bytes)", want.len(), got.len());
    }
    for (w, g) in want_lines.iter().zip(&got_lines) {
        if w.1 != g.1 {
            return format!(
                "line {} differs: expected {:?}, got {:?}",
                w.0,
                excerpt(w.1),
                excerpt(g.1)
            );
        }
    }
    format!(
        "differs after line {} (line endings or length)",
        want_lines.len().min(got_lines.len())
    )
}

#[test]
fn examples_hold_one_values_file_per_combination_and_no_other() {
    let mut problems = vec![];
    let dir = common::repo_root().join("examples");
    let mut expected: BTreeSet<String> = Combination::all()
        .iter()
        .map(|c| format!("{}.toml", c.name()))
        .collect();
    for entry in std::fs::read_dir(&dir).expect("examples/ exists") {
        let name = entry
            .expect("readable examples/")
            .file_name()
            .to_string_lossy()
            .into_owned();
        // A values file for no combination would fail whoever copies it.
        if name.ends_with(".toml") && !expected.remove(&name) {
            problems.push(format!("examples/{name}: names no combination"));
        }
    }
    problems.extend(
        expected
            .iter()
            .map(|name| format!("examples/{name}: missing")),
    );

    for c in Combination::all() {
        let path = c.examples_file();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let values = match text.parse::<toml::Table>() {
            Ok(table) => table.get("values").and_then(|v| v.as_table()).cloned(),
            Err(e) => {
                problems.push(format!("examples/{c}.toml: not TOML: {e}"));
                continue;
            }
        };
        let Some(values) = values else {
            problems.push(format!("examples/{c}.toml: no [values] table"));
            continue;
        };
        for (key, want) in [("database", c.database), ("mail", c.mail)] {
            let got = values.get(key).and_then(|v| v.as_str());
            if got != Some(want) {
                problems.push(format!(
                    "examples/{c}.toml: {key} = {got:?}, expected {want:?}"
                ));
            }
        }
        for key in values.keys().filter(|k| *k != "database" && *k != "mail") {
            problems.push(format!("examples/{c}.toml: unknown placeholder {key:?}"));
        }
    }
    assert_no_problems("examples/", &problems);
}

#[test]
fn every_combination_renders_the_same_from_its_examples_file() {
    let mut problems = vec![];
    let from_files = render_each(Answers::ValuesFile, "values-file");
    for (by_define, by_file) in rendered().iter().zip(from_files) {
        match by_file {
            Ok(r) => problems.extend(compare_trees(
                &format!("{} (examples file vs --define)", r.combination),
                &by_define.files,
                &r.files,
            )),
            Err(e) => problems.push(format!("with its examples file: {e}")),
        }
    }
    assert_no_problems("examples files", &problems);
}

#[test]
fn rendering_without_answers_gives_sqlite_with_smtp() {
    let default = Combination {
        database: "sqlite",
        mail: "smtp",
    };
    let expected = rendered()
        .iter()
        .find(|r| r.combination == default)
        .expect("sqlite-smtp is a combination");
    let parent = render_root().join("defaults");
    let files = render(&Answers::Defaults, &parent)
        .and_then(|root| read_tree(&root))
        .unwrap_or_else(|e| panic!("rendering with defaults: {e}"));
    assert_no_problems(
        "defaults",
        &compare_trees("defaults vs sqlite-smtp", &expected.files, &files),
    );
}

#[test]
fn no_liquid_syntax_survives_rendering() {
    let mut problems = vec![];
    for r in rendered() {
        for (rel, bytes) in r.files.iter().filter(|(rel, _)| !is_verbatim(rel)) {
            for (n, line) in numbered_lines(bytes) {
                for token in ["{{", "}}", "{%", "%}"] {
                    if line.contains(token) {
                        problems.push(format!(
                            "{}: {rel}:{n}: {token:?} left: {}",
                            r.combination,
                            excerpt(line)
                        ));
                    }
                }
            }
        }
    }
    assert_no_problems("Liquid left in rendered files", &problems);
}

/// A file Liquid chokes on can come out empty without an error, so every rendered
/// file must come from a template file and be empty only if that one is.
#[test]
fn every_rendered_file_comes_from_the_template_and_keeps_its_content() {
    let template = template_root();
    let mut problems = vec![];
    for r in rendered() {
        let c = r.combination;
        for (rel, bytes) in &r.files {
            let Some(source) = source_in_template(&template, c, rel) else {
                problems.push(format!("{c}: {rel}: no such file in template/"));
                continue;
            };
            let source_len = std::fs::metadata(&source).map(|m| m.len()).unwrap_or(0);
            if bytes.is_empty() && source_len > 0 {
                problems.push(format!(
                    "{c}: {rel}: empty, but {} has {source_len} bytes",
                    source.display()
                ));
            }
        }
    }
    assert_no_problems("rendered files vs template/", &problems);
}

/// Where a rendered file came from, undoing the post hook's renames and
/// cargo-generate's `.liquid` suffix removal.
fn source_in_template(template: &Path, c: Combination, rel: &str) -> Option<PathBuf> {
    let mapped = if let Some(rest) = rel.strip_prefix("migrations/") {
        format!("migrations/{}/{rest}", c.database)
    } else if rel == ".github/workflows/ci.yml" {
        format!(".github/workflows/ci-{}.yml", c.database)
    } else if rel == "tests/api/provider.rs" {
        format!("tests/api/provider/{}.rs", c.mail)
    } else if rel == "src/db/backend.rs" {
        format!("src/db/backend/{}.rs", c.database)
    } else if rel == "tests/api/backend.rs" {
        format!("tests/api/backend/{}.rs", c.database)
    } else if rel == "Cargo.lock" {
        c.lock_file()
    } else {
        rel.to_string()
    };
    [mapped.clone(), format!("{mapped}.liquid")]
        .into_iter()
        .map(|candidate| template.join(candidate))
        .find(|path| path.is_file())
}

#[test]
fn tera_templates_and_static_assets_are_copied_byte_for_byte() {
    let mut problems = vec![];
    let mut verbatim = Tree::new();
    for dir in ["templates", "static"] {
        match template_files_under(dir) {
            Ok(files) if !files.is_empty() => verbatim.extend(files),
            Ok(_) => problems.push(format!("template/{dir}/ is empty")),
            Err(e) => problems.push(format!("template/{dir}/: {e}")),
        }
    }
    for r in rendered() {
        let c = r.combination;
        let expected = verbatim.clone();
        let actual: Tree = r
            .files
            .iter()
            .filter(|(rel, _)| is_verbatim(rel))
            .map(|(rel, bytes)| (rel.clone(), bytes.clone()))
            .collect();
        problems.extend(compare_trees(&c.name(), &expected, &actual));
    }
    assert_no_problems("verbatim copies", &problems);
}

#[test]
fn every_combination_contains_only_its_own_options() {
    let mut problems = vec![];
    for r in rendered() {
        let c = r.combination;
        let others: Vec<(&str, Regex)> = unchosen(&c).into_iter().map(|o| (o, marker(o))).collect();
        for (rel, bytes) in &r.files {
            let named: Vec<&str> = others
                .iter()
                .filter(|(_, re)| re.is_match(rel))
                .map(|(o, _)| *o)
                .collect();
            if !named.is_empty() {
                // Its lines would repeat the same news once per mention.
                problems.push(format!(
                    "{c}: {rel}: path names unchosen option(s) {named:?}"
                ));
                continue;
            }
            if rel.starts_with(".github/workflows/ci-") {
                problems.push(format!("{c}: {rel}: per-database workflow left behind"));
            }
            if DATABASES
                .iter()
                .any(|db| rel.starts_with(&format!("migrations/{db}/")))
            {
                problems.push(format!(
                    "{c}: {rel}: migrations not moved up to migrations/"
                ));
            }
            if rel == "Cargo.lock" {
                continue;
            }
            for (n, line) in numbered_lines(bytes) {
                for (option, re) in &others {
                    if let Some(m) = re.find(line) {
                        problems.push(format!(
                            "{c}: {rel}:{n}: mentions unchosen option {option} ({:?}): {}",
                            m.as_str(),
                            excerpt(line)
                        ));
                    }
                }
            }
        }
        problems.extend(chosen_options_are_present(r));
    }
    assert_no_problems("options in rendered trees", &problems);
}

/// Proof that the answers reached the output, not just that the others were removed.
fn chosen_options_are_present(r: &Rendered) -> Vec<String> {
    let c = r.combination;
    let mut problems = vec![];
    for needed in [
        format!("src/mail/transport/{}.rs", c.mail),
        "tests/api/provider.rs".to_owned(),
        "src/db/backend.rs".to_owned(),
        "tests/api/backend.rs".to_owned(),
    ] {
        if !r.files.contains_key(&needed) {
            problems.push(format!("{c}: {needed}: missing"));
        }
    }
    if !r.files.contains_key(".github/workflows/ci.yml") {
        problems.push(format!("{c}: .github/workflows/ci.yml: missing"));
    }
    // diesel expects migrations/<timestamp>_<name>/up.sql.
    let migrations = r
        .files
        .keys()
        .filter(|rel| {
            let parts: Vec<_> = rel.split('/').collect();
            parts.len() == 3 && parts[0] == "migrations" && parts[2] == "up.sql"
        })
        .count();
    if migrations == 0 {
        problems.push(format!(
            "{c}: migrations/: no <migration>/up.sql directly below it"
        ));
    }
    for option in [c.database, c.mail] {
        let re = marker(option);
        let mentioned = r.files.iter().any(|(rel, bytes)| {
            re.is_match(rel) || numbered_lines(bytes).any(|(_, line)| re.is_match(line))
        });
        if !mentioned {
            problems.push(format!("{c}: no file mentions the chosen option {option}"));
        }
    }
    problems
}

/// What the image, the local stack and the production guide must say for `c`: lines
/// each file must hold. (That they name no unchosen option is checked above.)
fn deployment_lines(c: &Combination) -> Vec<(&'static str, &'static str)> {
    let mut lines = vec![
        ("Dockerfile", "USER 65532:65532"),
        (
            "Dockerfile",
            "CMD [\"/usr/local/bin/demo-app\", \"healthcheck\"]",
        ),
        (
            "Dockerfile",
            "RUN cargo build --release --locked --bin demo-app",
        ),
        (".dockerignore", ".env"),
        ("DEPLOY.md", "LOG_FORMAT=json"),
        ("deny.toml", "[licenses]"),
    ];
    lines.extend(match c.database {
        "sqlite" => [
            (
                "Dockerfile",
                "ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian13:nonroot",
            ),
            ("Dockerfile", "VOLUME /app/data"),
            ("compose.yaml", "      - app-data:/app/data"),
            ("DEPLOY.md", "VACUUM INTO"),
        ],
        "postgres" => [
            ("Dockerfile", "libpq5"),
            ("compose.yaml", "    image: docker.io/library/postgres:17"),
            (
                "compose.yaml",
                "      DATABASE_URL: postgres://app:app@db:5432/app",
            ),
            ("DEPLOY.md", "pg_dump"),
        ],
        _ => [
            ("Dockerfile", "libmariadb3"),
            ("compose.yaml", "    image: docker.io/library/mariadb:11.4"),
            (
                "compose.yaml",
                "      DATABASE_URL: mysql://app:app@db:3306/app",
            ),
            ("DEPLOY.md", "mariadb-dump"),
        ],
    });
    lines.extend(match c.mail {
        "smtp" => [
            ("compose.yaml", "      SMTP_HOST: mailpit"),
            ("DEPLOY.md", "| `SMTP_HOST` |"),
        ],
        "postmark" => [
            ("compose.yaml", "      MAIL_TRANSPORT: log"),
            ("DEPLOY.md", "| `POSTMARK_SERVER_TOKEN` |"),
        ],
        "sendgrid" => [
            ("compose.yaml", "      MAIL_TRANSPORT: log"),
            ("DEPLOY.md", "| `SENDGRID_API_KEY` |"),
        ],
        _ => [
            ("compose.yaml", "      MAIL_TRANSPORT: log"),
            ("DEPLOY.md", "| `RESEND_API_KEY` |"),
        ],
    });
    lines
}

#[test]
fn every_combination_ships_its_image_local_stack_and_production_guide() {
    let mut problems = vec![];
    for r in rendered() {
        let c = r.combination;
        for (file, line) in deployment_lines(&c) {
            match r.files.get(file) {
                None => problems.push(format!("{c}: no {file}")),
                Some(bytes) if !String::from_utf8_lossy(bytes).contains(line) => {
                    problems.push(format!("{c}: {file} lacks {line:?}"))
                }
                Some(_) => {}
            }
        }
        // Compose's own schema and references (a service named in depends_on exists,
        // say), checked offline by Debian's docker-compose.
        match std::process::Command::new("docker-compose")
            .args(["--file", "compose.yaml", "config", "--quiet"])
            .current_dir(&r.root)
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => problems.push(format!(
                "{c}: compose.yaml is not valid: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => problems.push(format!(
                "{c}: cannot run docker-compose ({e}): apt-get install docker-compose"
            )),
        }
    }
    assert_no_problems("deployment files", &problems);
}

#[test]
fn dependencies_follow_the_chosen_database_and_mail_provider() {
    let mut problems = vec![];
    for r in rendered() {
        let c = r.combination;
        let path = r.root.join("Cargo.toml");
        let manifest = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| text.parse::<toml::Table>().map_err(|e| e.to_string()))
        {
            Ok(manifest) => manifest,
            Err(e) => {
                problems.push(format!("{c}: Cargo.toml: {e}"));
                continue;
            }
        };
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str());
        if name != Some(common::PROJECT_NAME) {
            problems.push(format!(
                "{c}: Cargo.toml: package.name = {name:?}, expected {:?}",
                common::PROJECT_NAME
            ));
        }
        let empty = toml::Table::new();
        let deps = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .unwrap_or(&empty);

        // The shipped lock: the project as its root, and every dependency pinned (the
        // matrix's --locked build is the full check).
        let lock = std::fs::read_to_string(r.root.join("Cargo.lock")).unwrap_or_default();
        let root = format!("name = \"{}\"\nversion = \"0.1.0\"\n", common::PROJECT_NAME);
        if !lock.contains(&root) {
            problems.push(format!("{c}: Cargo.lock does not lock the project itself"));
        }
        for krate in deps.keys() {
            if !lock.contains(&format!("name = \"{krate}\"\n")) {
                problems.push(format!(
                    "{c}: Cargo.lock lacks {krate}: refresh template/locks/ with \
                     MATRIX_UPDATE_LOCKS=1 cargo test --test matrix"
                ));
            }
        }

        let mut expect = |present: bool, krate: &str, why: &str| {
            if deps.contains_key(krate) != present {
                let verb = if present { "lacks" } else { "has" };
                problems.push(format!(
                    "{c}: Cargo.toml: [dependencies] {verb} {krate} ({why})"
                ));
            }
        };
        if c.mail == "smtp" {
            expect(true, "lettre", "SMTP sends with lettre");
            expect(false, "reqwest", "SMTP needs no HTTP client");
        } else {
            expect(true, "reqwest", "mail APIs are called over HTTP");
        }
        let dev_deps = manifest
            .get("dev-dependencies")
            .and_then(|d| d.as_table())
            .unwrap_or(&empty);
        if dev_deps.contains_key("wiremock") == (c.mail == "smtp") {
            problems.push(format!(
                "{c}: Cargo.toml: wiremock must be a dev-dependency exactly when the mail provider is an HTTP API"
            ));
        }

        let diesel_features: BTreeSet<&str> = deps
            .get("diesel")
            .and_then(|d| d.get("features"))
            .and_then(|f| f.as_array())
            .map(|features| features.iter().filter_map(|f| f.as_str()).collect())
            .unwrap_or_default();
        let backends: Vec<&str> = DATABASES
            .iter()
            .copied()
            .filter(|db| diesel_features.contains(db))
            .collect();
        if backends != [c.database] {
            problems.push(format!(
                "{c}: Cargo.toml: diesel backend features {backends:?}, expected [{:?}]",
                c.database
            ));
        }
    }
    assert_no_problems("Cargo.toml dependencies", &problems);
}

/// SECURITY.md in every generated app maps each numbered requirement to tests; a test
/// renamed or deleted must not leave the table pointing at nothing.
#[test]
fn the_security_table_covers_every_item_with_tests_that_exist() {
    let reference = Regex::new(r"`((?:api|timing|src)::[a-z0-9_:]+)`").unwrap();
    let mut problems = vec![];
    for r in rendered() {
        let c = r.combination;
        let Some(table) = r.files.get("SECURITY.md") else {
            problems.push(format!("{c}: SECURITY.md missing"));
            continue;
        };
        let table = String::from_utf8_lossy(table);
        let (mut items, mut covered) = (BTreeSet::new(), BTreeSet::new());
        for row in table.lines().filter(|line| line.starts_with("| ")) {
            let Some(item) = row[2..]
                .split(' ')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            items.insert(item);
            for found in reference.captures_iter(row) {
                let path: Vec<&str> = found[1].split("::").collect();
                let (name, module) = path.split_last().expect("a test path has parts");
                let file = match module {
                    ["api", module] => format!("tests/api/{module}.rs"),
                    ["timing"] => "tests/timing/main.rs".to_owned(),
                    ["src", rest @ ..] => format!("src/{}.rs", rest.join("/")),
                    _ => {
                        problems.push(format!("{c}: item {item}: cannot place {}", &found[1]));
                        continue;
                    }
                };
                let defines = r.files.get(&file).is_some_and(|source| {
                    String::from_utf8_lossy(source).contains(&format!("fn {name}("))
                });
                if defines {
                    covered.insert(item);
                } else {
                    problems.push(format!("{c}: item {item}: no fn {name} in {file}"));
                }
            }
        }
        // Numbered 1 to N, none dropped: the table only ever grows.
        let expected: BTreeSet<u32> = (1..=items.len().max(23) as u32).collect();
        let missing: Vec<u32> = expected.difference(&covered).copied().collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{c}: SECURITY.md items without a test: {missing:?}"
            ));
        }
    }
    assert_no_problems("SECURITY.md test table", &problems);
}

/// Liquid that branches on an option, or prints one: `{% if database == ... %}`,
/// `{% elsif mail ... %}`, `{{ mail }}`.
fn option_liquid() -> Regex {
    Regex::new(
        r"\{%-?\s*(if|elsif|unless|case|when)\b[^%]*\b(database|mail)\b|\{\{-?\s*(database|mail)\s*-?\}\}",
    )
    .unwrap()
}

/// The files CUSTOMIZE.md allows option Liquid in: the list between its
/// `options-liquid` markers.
fn documented_option_liquid_files() -> BTreeSet<String> {
    let customize = std::fs::read_to_string(common::repo_root().join("CUSTOMIZE.md"))
        .expect("cannot read CUSTOMIZE.md");
    let start = customize
        .find("<!-- options-liquid")
        .expect("CUSTOMIZE.md has no <!-- options-liquid --> list");
    let end = customize[start..]
        .find("<!-- /options-liquid -->")
        .expect("CUSTOMIZE.md's options-liquid list is not closed")
        + start;
    let entry = Regex::new(r"(?m)^- `([^`]+)`").unwrap();
    entry
        .captures_iter(&customize[start..end])
        .map(|captures| captures[1].to_owned())
        .collect()
}

#[test]
fn option_liquid_stays_in_the_files_customize_md_lists() {
    let documented = documented_option_liquid_files();
    let pattern = option_liquid();
    let mut found = BTreeSet::new();
    let mut problems = vec![];
    let files = read_tree(&template_root()).expect("cannot read template/");
    for (rel, bytes) in files
        .iter()
        .filter(|(rel, _)| !is_verbatim(rel) && !rel.starts_with("node_modules/"))
    {
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if pattern.is_match(line) {
                found.insert(rel.clone());
                if !documented.contains(rel) {
                    problems.push(format!(
                        "template/{rel}:{}: option Liquid outside the files CUSTOMIZE.md lists \
                         (move the difference into a per-choice file): {}",
                        n + 1,
                        excerpt(line)
                    ));
                }
            }
        }
    }
    for rel in documented.difference(&found) {
        problems.push(format!(
            "CUSTOMIZE.md lists template/{rel}, which has no option Liquid (any more): \
             take it off the list"
        ));
    }
    assert_no_problems("option Liquid", &problems);
}

/// The `crate::<module>` paths a source file uses, with the module each names.
fn crate_modules_used(text: &str) -> BTreeSet<String> {
    let path = Regex::new(r"\bcrate::(\w+)").unwrap();
    let group = Regex::new(r"\bcrate::\{([^}]*)\}").unwrap();
    let first_segment = Regex::new(r"(?:^|,)\s*(\w+)").unwrap();
    let mut used: BTreeSet<String> = path
        .captures_iter(text)
        .map(|captures| captures[1].to_owned())
        .collect();
    for captures in group.captures_iter(text) {
        used.extend(
            first_segment
                .captures_iter(&captures[1])
                .map(|segment| segment[1].to_owned()),
        );
    }
    used
}

/// The layers `src/lib.rs` declares: groups of `pub mod` lines separated by blank
/// lines or comments, top first. Each module's layer, by name.
fn layers_of(lib_rs: &str) -> BTreeMap<String, usize> {
    let module = Regex::new(r"^pub mod (\w+);$").unwrap();
    let mut layers = BTreeMap::new();
    let mut layer = 0;
    let mut in_group = false;
    for line in lib_rs.lines() {
        if let Some(captures) = module.captures(line.trim()) {
            layers.insert(captures[1].to_owned(), layer);
            in_group = true;
        } else if in_group {
            layer += 1;
            in_group = false;
        }
    }
    layers
}

#[test]
fn every_module_uses_only_the_layers_below_it_so_the_graph_has_no_cycle() {
    let mut problems = vec![];
    for r in rendered() {
        let c = r.combination;
        let Some(lib_rs) = r.files.get("src/lib.rs") else {
            problems.push(format!("{c}: src/lib.rs missing"));
            continue;
        };
        let layers = layers_of(&String::from_utf8_lossy(lib_rs));
        if layers.len() < 5 {
            problems.push(format!("{c}: src/lib.rs declares only {layers:?}"));
        }
        for (rel, bytes) in &r.files {
            let Some(module) = rel
                .strip_prefix("src/")
                .filter(|path| path.ends_with(".rs"))
                .map(|path| path.split(['/', '.']).next().unwrap_or_default())
            else {
                continue;
            };
            let text = String::from_utf8_lossy(bytes);
            if text.contains("clippy::too_many_arguments") {
                problems.push(format!(
                    "{c}: {rel}: allows too_many_arguments (take the shared state instead)"
                ));
            }
            let Some(&own) = layers.get(module) else {
                continue;
            };
            for used in crate_modules_used(&text) {
                match layers.get(&used) {
                    Some(&layer) if used != module && layer <= own => problems.push(format!(
                        "{c}: {rel}: `{module}` uses `{used}`, which src/lib.rs does not \
                         list below it"
                    )),
                    _ => {}
                }
            }
        }
    }
    assert_no_problems("module layers", &problems);
}
