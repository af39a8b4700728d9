//! The files under `templates/` and `static/`. A release build carries them inside the
//! binary, so it runs from any folder; a debug build reads them from the project folder
//! at each use, so an edit shows without a rebuild.

use std::sync::Arc;

use rust_embed::RustEmbed;
use tera::{Context, Tera};

/// Pages and mail: `templates/`.
#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

/// What `/static/` serves: `static/`.
#[derive(RustEmbed)]
#[folder = "static/"]
pub struct StaticFiles;

/// The templates whose names pass `keep`, under their paths below `templates/`
/// (`auth/login.html`), so `extends` and `include` find one another.
pub fn load(keep: impl Fn(&str) -> bool) -> tera::Result<Tera> {
    let mut files = Vec::new();
    for name in TemplateFiles::iter().filter(|name| keep(name)) {
        let Some(file) = TemplateFiles::get(&name) else {
            continue;
        };
        let text = String::from_utf8(file.data.into_owned())
            .map_err(|_| tera::Error::msg(format!("templates/{name} is not UTF-8")))?;
        files.push((name.into_owned(), text));
    }
    let mut tera = Tera::default();
    tera.add_raw_templates(files)?;
    Ok(tera)
}

/// A set of Tera templates, with the values every one of them gets (the app's name,
/// say). With `reload` they are built again for each render: for development, where
/// an edited template then shows at the next request.
#[derive(Clone)]
pub struct Templates {
    tera: Arc<Tera>,
    build: fn() -> tera::Result<Tera>,
    reload: bool,
    globals: Arc<Context>,
}

impl Templates {
    /// Builds the templates with `build` (again at each render if `reload`); every
    /// render gets `globals`.
    pub fn new(
        build: fn() -> tera::Result<Tera>,
        reload: bool,
        globals: Context,
    ) -> tera::Result<Self> {
        Ok(Self {
            tera: Arc::new(build()?),
            build,
            reload,
            globals: Arc::new(globals),
        })
    }

    /// Renders template `name` with the globals and `context`, which wins.
    pub fn render(&self, name: &str, context: &Context) -> tera::Result<String> {
        let mut values = (*self.globals).clone();
        values.extend(context.clone());
        if self.reload {
            (self.build)()?.render(name, &values)
        } else {
            self.tera.render(name, &values)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Each build renders its own number, so a render shows which build it used.
    static BUILDS: AtomicUsize = AtomicUsize::new(0);

    fn numbered() -> tera::Result<Tera> {
        let number = BUILDS.fetch_add(1, Ordering::SeqCst);
        let mut tera = Tera::default();
        // Tera's variable syntax, spelled so that cargo-generate's Liquid leaves it alone.
        let name = ["{", "{ name }", "}"].concat();
        tera.add_raw_template("page.html", &format!("build {number}: {name}"))?;
        Ok(tera)
    }

    #[test]
    fn reloading_templates_are_built_again_for_each_render_and_others_once() {
        let mut globals = Context::new();
        globals.insert("name", "Acme");
        let once = Templates::new(numbered, false, globals.clone()).unwrap();
        let reloading = Templates::new(numbered, true, globals).unwrap();
        let mut context = Context::new();

        let first = once.render("page.html", &context).unwrap();
        let second = once.render("page.html", &context).unwrap();
        let fresh = reloading.render("page.html", &context).unwrap();
        let fresher = reloading.render("page.html", &context).unwrap();
        context.insert("name", "Own");
        let own = once.render("page.html", &context).unwrap();

        assert_eq!(first, second);
        assert_ne!(fresh, fresher);
        assert!(first.ends_with(": Acme"), "{first}");
        assert!(own.ends_with(": Own"), "{own}");
    }

    #[test]
    fn every_page_and_mail_template_loads() {
        let all = load(|_| true).expect("the templates do not load");

        let names: Vec<&str> = all.get_template_names().collect();
        assert!(names.contains(&"base.html"), "{names:?}");
        assert!(names.contains(&"emails/layout.txt"), "{names:?}");
    }
}
