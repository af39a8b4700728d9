//! The files under `static/`, as browsers get them. A release build carries them inside
//! the binary, so it runs from any folder; a debug build reads them from the project
//! folder.
//!
//! Outside development every file is also known by a name that carries a hash of its
//! content (`css/app.3f2a9c1b7d0e4a55.css`). Pages link that name (the templates'
//! `asset` function), browsers keep it for a year without asking again, and a deploy
//! that changes the file changes its name, so nobody sees a stale copy. Stylesheets are
//! rewritten to link fonts and images by such names too. Text is also sent compressed
//! (brotli or gzip, as the browser accepts), compressed once, at its first request, on
//! the blocking pool.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use actix_web::web::Bytes;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "static/"]
struct StaticFiles;

/// How a file's bytes travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Brotli,
    Gzip,
}

/// One file of `static/`.
pub struct Asset {
    body: Bytes,
    content_type: String,
    hash: String,
    compress: bool,
    brotli: OnceLock<Option<Bytes>>,
    gzip: OnceLock<Option<Bytes>>,
}

impl Asset {
    fn new(body: Bytes, content_type: String, compress: bool) -> Self {
        let hash = hex::encode(&Sha256::digest(&body)[..8]);
        Self {
            compress: compress && is_text(&content_type),
            body,
            content_type,
            hash,
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    }

    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// 16 hex digits that change whenever the content does.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Whether the body may be sent compressed (then it depends on `Accept-Encoding`).
    pub fn compressible(&self) -> bool {
        self.compress
    }

    /// Whether [`Asset::body`] answers `wanted` without compressing first.
    pub fn is_ready(&self, wanted: Encoding) -> bool {
        match wanted {
            _ if !self.compress => true,
            Encoding::Identity => true,
            Encoding::Brotli => self.brotli.get().is_some(),
            Encoding::Gzip => self.gzip.get().is_some(),
        }
    }

    /// The body in `wanted` when that is smaller, else as it is; with the encoding used.
    /// The first call for an encoding compresses the file, which takes a while.
    pub fn body(&self, wanted: Encoding) -> (Encoding, Bytes) {
        let compressed = match wanted {
            _ if !self.compress => None,
            Encoding::Identity => None,
            Encoding::Brotli => self
                .brotli
                .get_or_init(|| smaller(&self.body, brotli))
                .as_ref(),
            Encoding::Gzip => self.gzip.get_or_init(|| smaller(&self.body, gzip)).as_ref(),
        };
        match compressed {
            Some(body) => (wanted, body.clone()),
            None => (Encoding::Identity, self.body.clone()),
        }
    }
}

/// Text compresses well; fonts and images are compressed already.
fn is_text(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || [
            "application/javascript",
            "application/json",
            "image/svg+xml",
        ]
        .iter()
        .any(|kind| content_type.starts_with(kind))
}

fn smaller(body: &[u8], compress: fn(&[u8]) -> std::io::Result<Vec<u8>>) -> Option<Bytes> {
    let compressed = compress(body).ok()?;
    (compressed.len() < body.len()).then(|| Bytes::from(compressed))
}

fn brotli(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &body[..], &mut compressed, &params)?;
    Ok(compressed)
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body)?;
    encoder.finish()
}

/// A file found for a request, and whether it may be kept without asking again.
pub struct Found {
    pub asset: Arc<Asset>,
    pub immutable: bool,
}

/// The files of `static/` and the names they are linked by.
#[derive(Clone)]
pub struct Assets {
    prefix: Arc<str>,
    fingerprinted: Option<Arc<Fingerprinted>>,
}

/// Every file, read once, by its path and by its fingerprinted name.
struct Fingerprinted {
    by_path: HashMap<String, (String, Arc<Asset>)>,
    by_name: HashMap<String, Arc<Asset>>,
}

impl Assets {
    /// Every file, fingerprinted, linked under `prefix` (`/static`).
    pub fn fingerprinted(prefix: &str) -> Self {
        let files = StaticFiles::iter().filter_map(|path| {
            let file = StaticFiles::get(&path)?;
            let body = Bytes::from(file.data.into_owned());
            Some((path.into_owned(), body, file.metadata.mimetype().to_owned()))
        });
        Self {
            prefix: prefix.into(),
            fingerprinted: Some(Arc::new(Fingerprinted::new(prefix, files))),
        }
    }

    /// The files as they are on disk at each request, under their own names: for
    /// development, where a rebuilt stylesheet should show at the next request.
    pub fn live(prefix: &str) -> Self {
        Self {
            prefix: prefix.into(),
            fingerprinted: None,
        }
    }

    /// The address pages link `path` (below `static/`) by; `None` if there is no such file.
    pub fn url(&self, path: &str) -> Option<String> {
        let name = match &self.fingerprinted {
            Some(files) => files.by_path.get(path)?.0.clone(),
            None => {
                StaticFiles::get(path)?;
                path.to_owned()
            }
        };
        Some(format!("{}/{name}", self.prefix))
    }

    /// The file a request for `name` (below the prefix) gets. A fingerprinted name
    /// of an older version gets today's file, to be asked for again next time: pages
    /// still open from before a deploy keep their looks.
    pub fn find(&self, name: &str) -> Option<Found> {
        let Some(files) = &self.fingerprinted else {
            let file = StaticFiles::get(name)?;
            let body = Bytes::from(file.data.into_owned());
            let asset = Asset::new(body, file.metadata.mimetype().to_owned(), false);
            return Some(Found {
                asset: Arc::new(asset),
                immutable: false,
            });
        };
        if let Some(asset) = files.by_name.get(name) {
            return Some(Found {
                asset: Arc::clone(asset),
                immutable: true,
            });
        }
        let plain = files.by_path.get(name).or_else(|| {
            let path = unfingerprinted(name)?;
            files.by_path.get(&path)
        });
        plain.map(|(_, asset)| Found {
            asset: Arc::clone(asset),
            immutable: false,
        })
    }
}

impl Fingerprinted {
    fn new(prefix: &str, files: impl Iterator<Item = (String, Bytes, String)>) -> Self {
        let (stylesheets, others): (Vec<_>, Vec<_>) =
            files.partition(|(_, _, content_type)| content_type.starts_with("text/css"));
        let mut fingerprinted = Self {
            by_path: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (path, body, content_type) in others {
            fingerprinted.add(path, Asset::new(body, content_type, true));
        }
        // Longest first, so `a.woff2` never replaces the start of `a.woff2.map`.
        let mut links: Vec<(String, String)> = fingerprinted
            .by_path
            .iter()
            .map(|(path, (name, _))| (format!("{prefix}/{path}"), format!("{prefix}/{name}")))
            .collect();
        links.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        for (path, body, content_type) in stylesheets {
            let body = match String::from_utf8(body.to_vec()) {
                Ok(text) => Bytes::from(relinked(&text, &links)),
                Err(_) => body,
            };
            fingerprinted.add(path, Asset::new(body, content_type, true));
        }
        fingerprinted
    }

    fn add(&mut self, path: String, asset: Asset) {
        let name = fingerprinted_name(&path, asset.hash());
        let asset = Arc::new(asset);
        self.by_name.insert(name.clone(), Arc::clone(&asset));
        self.by_path.insert(path, (name, asset));
    }
}

/// `css/app.css` with hash `h` is `css/app.h.css`; `LICENSE` is `LICENSE.h`.
fn fingerprinted_name(path: &str, hash: &str) -> String {
    let file_start = path.rfind('/').map_or(0, |slash| slash + 1);
    match path[file_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let dot = file_start + dot;
            format!("{}.{hash}{}", &path[..dot], &path[dot..])
        }
        _ => format!("{path}.{hash}"),
    }
}

/// The path a fingerprinted name was made from, whatever its hash.
fn unfingerprinted(name: &str) -> Option<String> {
    let file_start = name.rfind('/').map_or(0, |slash| slash + 1);
    let file = &name[file_start..];
    file.match_indices('.').find_map(|(dot, _)| {
        let hash = file.get(dot + 1..dot + 17)?;
        let rest = &file[dot + 17..];
        (hash.bytes().all(|b| b.is_ascii_hexdigit()) && (rest.is_empty() || rest.starts_with('.')))
            .then(|| format!("{}{}{rest}", &name[..file_start], &file[..dot]))
    })
}

/// `text` with every link to a file (`/static/fonts/a.woff2`) turned into a link to
/// its fingerprinted name.
fn relinked(text: &str, links: &[(String, String)]) -> String {
    let mut text = text.to_owned();
    for (from, to) in links {
        for end in [")", "\"", "'"] {
            text = text.replace(&format!("{from}{end}"), &format!("{to}{end}"));
        }
    }
    text
}

impl tera::Function for Assets {
    /// `asset(path="css/app.css")`: the address to link that file by.
    fn call(&self, args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
        let path = args
            .get("path")
            .and_then(tera::Value::as_str)
            .ok_or_else(|| tera::Error::msg("asset() needs path=\"…\""))?;
        self.url(path)
            .map(tera::Value::String)
            .ok_or_else(|| tera::Error::msg(format!("asset(): there is no static/{path}")))
    }

    // Addresses made here, not from anything a visitor typed.
    fn is_safe(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(css: &str, font: &[u8]) -> Assets {
        let files = [
            ("css/app.css", css.as_bytes(), "text/css"),
            ("fonts/a.woff2", font, "font/woff2"),
        ]
        .map(|(path, body, content_type)| {
            let body = Bytes::copy_from_slice(body);
            (path.to_owned(), body, content_type.to_owned())
        });
        Assets {
            prefix: "/static".into(),
            fingerprinted: Some(Arc::new(Fingerprinted::new("/static", files.into_iter()))),
        }
    }

    const CSS: &str =
        r#"@font-face{src:url("/static/fonts/a.woff2")}b{src:url(/static/fonts/a.woff2)}"#;

    #[test]
    fn a_changed_file_gets_a_new_name_and_so_does_the_stylesheet_linking_it() {
        let before = files(CSS, b"font one");
        let after = files(CSS, b"font two");

        assert_ne!(before.url("fonts/a.woff2"), after.url("fonts/a.woff2"));
        assert_ne!(before.url("css/app.css"), after.url("css/app.css"));
        let font = before.url("fonts/a.woff2").unwrap();
        assert!(
            font.starts_with("/static/fonts/a.") && font.ends_with(".woff2"),
            "{font}"
        );
    }

    #[test]
    fn stylesheets_link_fonts_by_their_fingerprinted_names() {
        let assets = files(CSS, b"font");
        let font = assets.url("fonts/a.woff2").unwrap();
        let css = assets.url("css/app.css").unwrap();

        let found = assets.find(css.strip_prefix("/static/").unwrap()).unwrap();
        let (_, body) = found.asset.body(Encoding::Identity);
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(text, CSS.replace("/static/fonts/a.woff2", &font));
        assert!(found.immutable);
    }

    #[test]
    fn own_and_outdated_names_get_todays_file_to_be_asked_for_again() {
        let assets = files(CSS, b"font");

        for name in ["fonts/a.woff2", "fonts/a.0123456789abcdef.woff2"] {
            let found = assets.find(name).unwrap();
            assert!(!found.immutable, "{name}");
            assert_eq!(found.asset.body(Encoding::Identity).1, "font", "{name}");
        }
        assert!(assets.find("fonts/b.0123456789abcdef.woff2").is_none());
        assert!(assets.find("fonts/a.0123456789abcdeg.woff2").is_none());
    }

    #[test]
    fn text_is_compressed_and_fonts_are_not() {
        let css = CSS.repeat(20);
        let assets = files(&css, &b"font".repeat(100));
        let stylesheet = assets.find("css/app.css").unwrap().asset;
        let font = assets.find("fonts/a.woff2").unwrap().asset;

        let (encoding, brotli) = stylesheet.body(Encoding::Brotli);
        assert_eq!(encoding, Encoding::Brotli);
        let mut text = Vec::new();
        brotli::BrotliDecompress(&mut &brotli[..], &mut text).unwrap();
        assert_eq!(text, stylesheet.body(Encoding::Identity).1);
        assert_eq!(stylesheet.body(Encoding::Gzip).0, Encoding::Gzip);
        assert_eq!(font.body(Encoding::Brotli).0, Encoding::Identity);
    }

    #[test]
    fn an_encoding_is_ready_once_it_was_asked_for() {
        let assets = files("body { color: red; }".repeat(100).as_str(), &[0; 64]);
        let css = assets.find("css/app.css").unwrap().asset;
        let font = assets.find("fonts/a.woff2").unwrap().asset;

        assert!(!css.is_ready(Encoding::Brotli) && !css.is_ready(Encoding::Gzip));
        assert!(css.is_ready(Encoding::Identity) && font.is_ready(Encoding::Brotli));
        css.body(Encoding::Brotli);
        assert!(css.is_ready(Encoding::Brotli) && !css.is_ready(Encoding::Gzip));
    }

    #[test]
    fn names_without_an_extension_are_fingerprinted_too() {
        assert_eq!(fingerprinted_name("LICENSE", "ab"), "LICENSE.ab");
        assert_eq!(
            fingerprinted_name(".well/x.y.txt", "ab"),
            ".well/x.y.ab.txt"
        );
        assert_eq!(
            unfingerprinted("LICENSE.0123456789abcdef").as_deref(),
            Some("LICENSE")
        );
    }
}
