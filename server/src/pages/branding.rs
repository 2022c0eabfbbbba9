//! An app's branding in the pop-up (`[apps.branding]`): its display name, logo, accent colour
//! and support link, checked when the configuration is loaded ([`Branding::check`]). A leaf
//! module, so that the configuration can compose it without importing the pages.

use crate::origin::{Origin, TrustedDomain};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The largest logo file accepted (`logo_file`), in bytes.
pub const MAX_LOGO_BYTES: u64 = 256 * 1024;

/// The longest display name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// `[apps.branding]` as written: see the README's "Branding".
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandingEntry {
    name: Option<String>,
    logo_url: Option<String>,
    logo_file: Option<PathBuf>,
    accent_color: Option<String>,
    support_url: Option<String>,
}

/// An app's branding, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Branding {
    /// The name the pop-up calls the app by (`name`; without one, its `client_id`).
    pub name: Option<String>,
    /// Its logo (`logo_url` or `logo_file`).
    pub logo: Option<Logo>,
    /// Its accent colour (`accent_color`), for the buttons and links.
    pub accent: Option<Accent>,
    /// Where its users get help (`support_url`): an http(s) URL, linked from the pop-up's pages.
    pub support_url: Option<String>,
}

/// Where an app's logo comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Logo {
    /// An https URL (http on loopback) on one of the app's Trusted Domains: the app's pages
    /// allow images from that origin only (`img-src`), and the app already serves its pages
    /// from it, so the pop-up reveals nothing new by loading it.
    Url {
        /// The URL.
        url: String,
        /// Its origin, for `img-src`.
        origin: String,
    },
    /// A file the operator gave (`logo_file`), read at start-up and served by this server at
    /// [`crate::pages::logo_path`].
    File {
        /// Its bytes.
        bytes: Arc<[u8]>,
        /// Its media type, from its extension.
        content_type: &'static str,
    },
}

/// A validated accent colour: `#rrggbb`, and the text colour readable on it.
#[derive(Clone, Debug, PartialEq)]
pub struct Accent {
    /// The colour, `#rrggbb` in lower case.
    pub color: String,
    /// Black or white, whichever contrasts more with [`Accent::color`].
    pub text: &'static str,
}

impl Branding {
    /// Checks `entry` for an app trusting `trusted_domains`; the error names the key.
    pub fn check(entry: BrandingEntry, trusted_domains: &[TrustedDomain]) -> Result<Branding, String> {
        let name = entry.name.map(|name| display_name(&name)).transpose()?;
        let logo = match (entry.logo_url, entry.logo_file) {
            (Some(_), Some(_)) => return Err("branding: give logo_url or logo_file, not both".to_owned()),
            (Some(url), None) => Some(logo_url(&url, trusted_domains)?),
            (None, Some(path)) => Some(logo_file(&path)?),
            (None, None) => None,
        };
        let accent = entry.accent_color.map(|color| Accent::parse(&color)).transpose()?;
        let support_url = entry.support_url.map(|url| support_url(&url)).transpose()?;
        Ok(Branding { name, logo, accent, support_url })
    }
}

/// Reads `name`: 1 to [`MAX_NAME_CHARS`] characters, no control characters, trimmed.
fn display_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(format!(
            "branding.name must be 1 to {MAX_NAME_CHARS} characters without control characters"
        ));
    }
    Ok(name.to_owned())
}

/// Reads `logo_url`: https (http on loopback only), on one of the app's Trusted Domains.
fn logo_url(text: &str, trusted_domains: &[TrustedDomain]) -> Result<Logo, String> {
    let refuse = |why: &str| Err(format!("branding.logo_url: {text:?} {why}"));
    let Ok(url) = url::Url::parse(text) else { return refuse("is not an absolute URL") };
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return refuse("is not an https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("has credentials");
    }
    let origin = url.origin().ascii_serialization();
    if !Origin::parse(&origin).is_some_and(|origin| origin.is_trusted_by(trusted_domains)) {
        return refuse("is not on a Trusted Domain of the app (or use logo_file)");
    }
    Ok(Logo::Url { url: url.to_string(), origin })
}

/// Reads `logo_file`: a PNG, JPEG, WebP, GIF or SVG file of at most [`MAX_LOGO_BYTES`].
fn logo_file(path: &std::path::Path) -> Result<Logo, String> {
    let refuse = |why: String| Err(format!("branding.logo_file: {}: {why}", path.display()));
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let content_type = match extension.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        _ => return refuse("is not a .png, .jpg, .webp, .gif or .svg file".to_owned()),
    };
    let size = std::fs::metadata(path).map_err(|e| format!("branding.logo_file: {}: {e}", path.display()))?;
    if size.len() > MAX_LOGO_BYTES {
        return refuse(format!("is larger than {MAX_LOGO_BYTES} bytes"));
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Logo::File { bytes: bytes.into(), content_type }),
        Err(e) => refuse(e.to_string()),
    }
}

/// Reads `support_url`: an absolute http(s) URL.
fn support_url(text: &str) -> Result<String, String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(url.to_string()),
        _ => Err(format!("branding.support_url: {text:?} is not an http(s) URL")),
    }
}

impl Accent {
    /// Reads `#rgb` or `#rrggbb`.
    pub fn parse(text: &str) -> Result<Accent, String> {
        let refuse = || format!("branding.accent_color: {text:?} is not a #rgb or #rrggbb colour");
        let digits = text.strip_prefix('#').filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let color = match digits.map(str::to_ascii_lowercase) {
            Some(d) if d.len() == 6 => d,
            Some(d) if d.len() == 3 => d.chars().flat_map(|c| [c, c]).collect(),
            _ => return Err(refuse()),
        };
        let channel = |i: usize| u8::from_str_radix(&color[i..i + 2], 16).map(f64::from).unwrap_or(0.0);
        let luminance = relative_luminance(channel(0), channel(2), channel(4));
        // WCAG 2 contrast ratios against white (luminance 1) and black (0).
        let on_white = 1.05 / (luminance + 0.05);
        let on_black = (luminance + 0.05) / 0.05;
        let text = if on_white >= on_black { "#ffffff" } else { "#000000" };
        Ok(Accent { color: format!("#{color}"), text })
    }
}

/// WCAG 2's relative luminance of an sRGB colour (channels 0–255).
fn relative_luminance(r: f64, g: f64, b: f64) -> f64 {
    let linear = |c: f64| {
        let c = c / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The configuration of one app trusting `https://crm.acme.test` with `branding` (TOML).
    fn load(branding: &str) -> Result<Branding, String> {
        let toml = format!(
            "[[apps]]\nclient_id = \"acme\"\ntrusted_domains = [\"https://crm.acme.test\"]\n[apps.branding]\n{branding}\n"
        );
        Config::from_toml(&toml, "127.0.0.1:0".parse().unwrap(), "db".into())
            .map(|config| config.apps[0].branding.clone())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn a_branding_is_read_and_its_accent_gets_a_readable_text_colour() {
        let branding = load(
            "name = \" Acme CRM \"\nlogo_url = \"https://crm.acme.test/logo.svg\"\naccent_color = \"#0A7\"\n\
             support_url = \"https://acme.test/help\"",
        )
        .unwrap();
        assert_eq!(branding.name.as_deref(), Some("Acme CRM"));
        let logo = Logo::Url {
            url: "https://crm.acme.test/logo.svg".into(),
            origin: "https://crm.acme.test".into(),
        };
        assert_eq!(branding.logo, Some(logo));
        assert_eq!(branding.accent, Some(Accent { color: "#00aa77".into(), text: "#000000" }));
        assert_eq!(Accent::parse("#1d2330").unwrap().text, "#ffffff");
        assert_eq!(branding.support_url.as_deref(), Some("https://acme.test/help"));
        assert_eq!(load("").unwrap(), Branding::default());
    }

    #[test]
    fn a_logo_file_is_read_and_served_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logo.png");
        std::fs::write(&path, b"\x89PNG").unwrap();
        let branding = load(&format!("logo_file = {:?}", path.display().to_string())).unwrap();
        assert_eq!(
            branding.logo,
            Some(Logo::File { bytes: b"\x89PNG".as_slice().into(), content_type: "image/png" })
        );
        std::fs::write(&path, vec![0; MAX_LOGO_BYTES as usize + 1]).unwrap();
        let error = load(&format!("logo_file = {:?}", path.display().to_string())).unwrap_err();
        assert!(error.contains("apps[0]") && error.contains("larger than"), "{error}");
    }

    #[test]
    fn a_bad_branding_is_refused_with_its_key() {
        let cases = [
            ("name = \"\"", "branding.name"),
            (&format!("name = {:?}", "x".repeat(81)), "branding.name"),
            ("name = \"a\\nb\"", "branding.name"),
            ("accent_color = \"red\"", "branding.accent_color"),
            ("accent_color = \"#12345\"", "branding.accent_color"),
            ("accent_color = \"#12;x{}\"", "branding.accent_color"),
            ("logo_url = \"https://evil.test/logo.png\"", "not on a Trusted Domain"),
            ("logo_url = \"http://crm.acme.test/logo.png\"", "not an https URL"),
            ("logo_url = \"logo.png\"", "not an absolute URL"),
            ("logo_url = \"https://crm.acme.test/a.png\"\nlogo_file = \"a.png\"", "not both"),
            ("logo_file = \"logo.exe\"", "is not a .png"),
            ("logo_file = \"/nonexistent/logo.png\"", "branding.logo_file"),
            ("support_url = \"javascript:alert(1)\"", "branding.support_url"),
            ("colour = \"#fff\"", "unknown field"),
        ];
        for (branding, expected) in cases {
            let error = load(branding).unwrap_err();
            assert!(error.contains(expected), "{branding}: {error}");
        }
    }
}
