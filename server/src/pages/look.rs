//! How the pop-up's pages present an app ([`Look`]): its name, logo, support link and the style
//! sheet with its accent colour, and what the page's policy must allow for its logo.

use crate::config::App;
use crate::pages::Inline;
use crate::pages::branding::Logo;
use std::sync::LazyLock;

/// The pages' style sheet (`templates/style.css`), light and dark.
const STYLE_TEXT: &str = include_str!("../../templates/style.css");

/// The style sheet of an app without an accent colour, made once.
pub static STYLE: LazyLock<Inline> = LazyLock::new(|| Inline::new(STYLE_TEXT.to_owned()));

/// The path this server serves an app's `logo_file` at; the app's `client_id` in the query.
pub const LOGO_PATH: &str = "/v1/oauth/logo";

/// An app as its pop-up pages show it.
pub struct Look<'a> {
    /// The app's display name, else its `client_id`.
    pub name: &'a str,
    /// The logo's `src`, if the app has one.
    pub logo: Option<String>,
    /// The app's support link.
    pub support_url: Option<&'a str>,
    /// The style sheet with the app's accent colour, if it has one.
    accented: Option<Inline>,
    /// The `img-src` source the logo needs: `'self'` for a served file, the app's origin for a
    /// URL.
    pub img_src: Option<String>,
}

impl<'a> Look<'a> {
    /// The look of `app`.
    pub fn of(app: &'a App) -> Look<'a> {
        let branding = &app.branding;
        let (logo, img_src) = match &branding.logo {
            Some(Logo::Url { url, origin }) => (Some(url.clone()), Some(origin.clone())),
            Some(Logo::File { .. }) => (Some(logo_src(&app.client_id)), Some("'self'".to_owned())),
            None => (None, None),
        };
        let accented = branding.accent.as_ref().map(|accent| {
            Inline::new(format!("{STYLE_TEXT}:root{{--accent:{};--on-accent:{}}}", accent.color, accent.text))
        });
        Look {
            name: branding.name.as_deref().unwrap_or(&app.client_id),
            logo,
            support_url: branding.support_url.as_deref(),
            accented,
            img_src,
        }
    }

    /// The pages' style sheet, with the app's accent colour if it has one.
    pub fn style(&self) -> &Inline {
        self.accented.as_ref().unwrap_or(&STYLE)
    }
}

/// The `src` of an app's served logo file.
fn logo_src(client_id: &str) -> String {
    let query =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("client_id", client_id).finish();
    format!("{LOGO_PATH}?{query}")
}
