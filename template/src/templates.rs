//! The files under `templates/`. A release build carries them inside the binary, so it
//! runs from any folder; a debug build reads them from the project folder at each use,
//! so an edit shows without a rebuild.

use std::sync::Arc;

use rust_embed::RustEmbed;
use tera::{Context, Tera};

/// Pages and mail: `templates/`.
#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

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
    functions: Vec<(&'static str, Function)>,
}

/// A function templates may call, such as `asset(path=…)`.
type Function = Arc<dyn tera::Function>;

/// A [`Function`] registered on several builds of the templates.
struct Shared(Function);

impl tera::Function for Shared {
    fn call(
        &self,
        args: &std::collections::HashMap<String, tera::Value>,
    ) -> tera::Result<tera::Value> {
        self.0.call(args)
    }

    fn is_safe(&self) -> bool {
        self.0.is_safe()
    }
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
            functions: Vec::new(),
        })
    }

    /// These templates, which may also call `function` by `name`.
    pub fn with_function(
        mut self,
        name: &'static str,
        function: impl tera::Function + 'static,
    ) -> Self {
        let function: Function = Arc::new(function);
        Arc::make_mut(&mut self.tera).register_function(name, Shared(Arc::clone(&function)));
        self.functions.push((name, function));
        self
    }

    /// Renders template `name` with the globals and `context`, which wins.
    pub fn render(&self, name: &str, context: &Context) -> tera::Result<String> {
        let mut values = (*self.globals).clone();
        values.extend(context.clone());
        if self.reload {
            let mut tera = (self.build)()?;
            for (name, function) in &self.functions {
                tera.register_function(name, Shared(Arc::clone(function)));
            }
            tera.render(name, &values)
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

    fn calling() -> tera::Result<Tera> {
        let mut tera = Tera::default();
        let call = ["{", "{ greet(who=\"Ada\") }", "}"].concat();
        tera.add_raw_template("page.html", &call)?;
        Ok(tera)
    }

    #[test]
    fn functions_are_there_in_every_build() {
        let greet = |args: &std::collections::HashMap<String, tera::Value>| {
            let who = args["who"].as_str().unwrap_or_default();
            Ok(tera::Value::String(format!("<b>{who}</b>")))
        };
        for reload in [false, true] {
            let templates = Templates::new(calling, reload, Context::new())
                .unwrap()
                .with_function("greet", greet);

            let page = templates.render("page.html", &Context::new()).unwrap();

            assert_eq!(page, "&lt;b&gt;Ada&lt;&#x2F;b&gt;", "reload: {reload}");
        }
    }

    #[test]
    fn every_page_and_mail_template_loads() {
        let all = load(|_| true).expect("the templates do not load");

        let names: Vec<&str> = all.get_template_names().collect();
        assert!(names.contains(&"base.html"), "{names:?}");
        assert!(names.contains(&"emails/layout.txt"), "{names:?}");
    }
}
