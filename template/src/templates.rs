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
