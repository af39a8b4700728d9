//! The compiled stylesheet the template ships, `template/static/css/app.css`, must be
//! exactly what Tailwind CSS builds from `template/assets/css/app.css` and the classes
//! used in the pages and scripts. Otherwise a class added to a page would be missing
//! from the stylesheet, and the page would look broken with no error anywhere.
//!
//! Needs the maintainers' npm tools (`npm ci` at the repository root); without them
//! the test fails and says so, it never skips.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// How to bring the compiled file up to date, as the failure message says it.
const REBUILD: &str = "npm ci && npm run css";

fn root() -> PathBuf {
    common::repo_root()
}

fn tailwindcss() -> PathBuf {
    root().join("node_modules/.bin/tailwindcss")
}

#[test]
fn the_compiled_css_is_up_to_date_with_the_templates() {
    let tailwindcss = tailwindcss();
    assert!(
        tailwindcss.exists(),
        "{} is missing: run `npm ci` at the repository root (it installs the pinned \
         Tailwind CSS of package-lock.json), then run this test again",
        tailwindcss.display()
    );
    let input = root().join("template/assets/css/app.css");
    let shipped_path = root().join("template/static/css/app.css");
    let output =
        std::env::temp_dir().join(format!("actix-saas-starter-app-{}.css", std::process::id()));

    let run = Command::new(&tailwindcss)
        .arg("-i")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--minify")
        .current_dir(root())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", tailwindcss.display()));
    assert!(
        run.status.success(),
        "tailwindcss failed ({}):\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let built = std::fs::read(&output).expect("tailwindcss wrote its output");
    let _ = std::fs::remove_file(&output);
    let shipped = std::fs::read(&shipped_path).expect("template/static/css/app.css exists");

    assert!(
        built == shipped,
        "template/static/css/app.css is stale: it is not what Tailwind CSS builds from \
         template/assets/css/app.css and the classes in template/templates and \
         template/static/js ({} bytes built, {} shipped). Rebuild it at the repository \
         root with `{REBUILD}` and commit the result.",
        built.len(),
        shipped.len()
    );
}

#[test]
fn every_font_the_stylesheet_names_is_shipped_with_its_licence() {
    let source = std::fs::read_to_string(root().join("template/assets/css/app.css")).unwrap();
    let fonts = regex::Regex::new(r#"url\("/static/fonts/([^"]+)"\)"#).unwrap();
    let mut named = 0;
    for font in fonts.captures_iter(&source) {
        let file = root().join("template/static/fonts").join(&font[1]);
        assert!(file.exists(), "{} is named but missing", file.display());
        named += 1;
    }
    assert!(
        named > 0,
        "no self-hosted fonts found in the stylesheet source"
    );
    for licence in ["OFL-Inter.txt", "OFL-Outfit.txt", "OFL-JetBrainsMono.txt"] {
        let text = std::fs::read_to_string(root().join("template/static/fonts").join(licence))
            .unwrap_or_else(|error| panic!("static/fonts/{licence}: {error}"));
        assert!(text.contains("SIL Open Font License"), "{licence}");
    }
}
