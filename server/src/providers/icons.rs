//! The providers' logos: the simple-icons icons (CC0-1.0) that `scripts/icons.mjs` bundles in
//! `server/assets/icons.json`, embedded at build time so that no logo is fetched at run time. A
//! catalogue entry or a `[[providers]]` entry names one by its slug (`icon = "dropbox"`).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// One icon: a single SVG path on a 24 × 24 view box, and its brand colour.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Icon {
    /// The brand's name, as simple-icons spells it.
    pub title: String,
    /// The brand colour, six hex digits without `#`.
    pub hex: String,
    /// The SVG path data.
    pub path: String,
}

/// The bundle as `scripts/icons.mjs` writes it (its `source` names the simple-icons release).
#[derive(Deserialize)]
struct Bundle {
    /// The icons by slug.
    icons: BTreeMap<String, Icon>,
}

/// The bundled icons, read once (none if the file could not be read: a monogram shows instead).
static ICONS: LazyLock<BTreeMap<String, Icon>> = LazyLock::new(|| {
    serde_json::from_str::<Bundle>(include_str!("../../assets/icons.json"))
        .map(|bundle| bundle.icons)
        .unwrap_or_default()
});

/// The bundled icon with this slug.
pub fn find(slug: &str) -> Option<&'static Icon> {
    ICONS.get(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_icon_the_catalogue_names_is_bundled() {
        assert!(ICONS.len() > 20, "the bundle was read");
        let catalogue = crate::providers::catalogue::catalogue().unwrap();
        let named: Vec<&str> = catalogue.iter().filter_map(|entry| entry.icon.as_deref()).collect();
        assert!(named.contains(&"dropbox"), "{named:?}");
        for slug in named {
            let icon = find(slug).unwrap_or_else(|| panic!("{slug} is not bundled: run scripts/icons.mjs"));
            assert!(icon.hex.len() == 6 && icon.hex.bytes().all(|b| b.is_ascii_hexdigit()), "{slug}");
            // SVG path data opens with a moveto, absolute (M) or relative (m: GitLab's).
            assert!(icon.path.starts_with(['M', 'm']), "{slug}");
        }
    }

    #[test]
    fn a_provider_names_a_bundled_icon_or_keeps_its_entrys() {
        let providers = |toml: &str| {
            #[derive(serde::Deserialize)]
            struct File {
                providers: Vec<crate::providers::ProviderConfig>,
            }
            crate::providers::resolve(&toml::from_str::<File>(toml).unwrap().providers)
        };
        let demo = "[[providers]]\nid = \"dropbox\"\nkind = \"demo\"\n";
        assert_eq!(providers(demo).unwrap()[0].icon.as_deref(), Some("dropbox"), "the catalogue's");
        let custom = "[[providers]]\nid = \"wiki\"\nkind = \"demo\"\nname = \"Wiki\"\ncategory = \"docs\"\n";
        assert_eq!(providers(custom).unwrap()[0].icon, None, "a monogram");
        let named = format!("{custom}icon = \"notion\"\n");
        assert_eq!(providers(&named).unwrap()[0].icon.as_deref(), Some("notion"));
        let unknown = format!("{custom}icon = \"nope\"\n");
        let error = providers(&unknown).unwrap_err();
        assert!(error.contains("providers[0] (wiki): icon \"nope\" is not a bundled icon"), "{error}");
    }
}
