//! The static files' settings ([`Settings`]): where the demo page and the library build are.
//! A leaf module, so that the configuration can compose it without importing the handlers.

use std::path::PathBuf;

/// Where the static files served by [`crate::pages::statics`] are.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The demo page's folder, served at `/` (`www_dir`; default the repository's `www/`).
    pub www_dir: PathBuf,
    /// The library build's folder, served at `/dist/` (`dist_dir`; default the repository's
    /// `dist/`).
    pub dist_dir: PathBuf,
}

impl Default for Settings {
    /// The folders of the repository the server was built from.
    fn default() -> Settings {
        let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        Settings { www_dir: bundled.join("www"), dist_dir: bundled.join("dist") }
    }
}
