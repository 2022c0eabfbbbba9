//! The message files (`server/locales/<language>/popup.ftl`, Fluent syntax), embedded in the
//! binary and parsed once into one bundle per language.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::sync::LazyLock;
use unic_langid::LanguageIdentifier;

/// Each language's tag and message file; English first, the fallback of every other.
pub const SOURCES: [(&str, &str); 5] = [
    ("en", include_str!("../../locales/en/popup.ftl")),
    ("de", include_str!("../../locales/de/popup.ftl")),
    ("fr", include_str!("../../locales/fr/popup.ftl")),
    ("es", include_str!("../../locales/es/popup.ftl")),
    ("ja", include_str!("../../locales/ja/popup.ftl")),
];

/// One bundle per language of [`SOURCES`], in its order.
static BUNDLES: LazyLock<Vec<FluentBundle<FluentResource>>> =
    LazyLock::new(|| SOURCES.iter().map(|(tag, source)| bundle(tag, source)).collect());

/// The bundle of `source`, in the language `tag`: the messages that parse (a broken one is
/// left out, and so falls back to English). Placeables are not wrapped in Unicode isolation
/// marks: none of the languages is written right to left, and the pages' tests read the text.
fn bundle(tag: &str, source: &str) -> FluentBundle<FluentResource> {
    let language: LanguageIdentifier = tag.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![language]);
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(partial, _)| partial);
    // A message given twice keeps its first text.
    bundle.add_resource_overriding(resource);
    bundle
}

/// The message `key` in the language at `index` of [`SOURCES`] with `args`, else in English,
/// else the key itself (a test makes sure every language has every key of English).
pub fn format(index: usize, key: &str, args: Option<&FluentArgs>) -> String {
    find(index, key, args).unwrap_or_else(|| key.to_owned())
}

/// The message `key` in the language at `index` of [`SOURCES`] with `args`, else in English,
/// if English has it.
pub fn find(index: usize, key: &str, args: Option<&FluentArgs>) -> Option<String> {
    find_in(&BUNDLES, index, key, args)
}

/// [`find`] over `bundles`.
fn find_in(
    bundles: &[FluentBundle<FluentResource>],
    index: usize,
    key: &str,
    args: Option<&FluentArgs>,
) -> Option<String> {
    [index, 0].into_iter().find_map(|index| in_bundle(bundles.get(index)?, key, args))
}

/// The message `key` of `bundle`, if it has it.
fn in_bundle(bundle: &FluentBundle<FluentResource>, key: &str, args: Option<&FluentArgs>) -> Option<String> {
    let pattern = bundle.get_message(key)?.value()?;
    let mut errors = Vec::new();
    Some(bundle.format_pattern(pattern, args, &mut errors).into_owned())
}

/// The keys of the messages of `source`.
#[cfg(test)]
pub(super) fn keys(source: &str) -> std::collections::BTreeSet<String> {
    use fluent_syntax::ast::Entry;
    let resource = FluentResource::try_new(source.to_owned())
        .unwrap_or_else(|(partial, errors)| panic!("{errors:?} in {:?}", partial.source().lines().next()));
    resource
        .entries()
        .filter_map(|entry| match entry {
            Entry::Message(message) => Some(message.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_missing_in_a_language_is_shown_in_english() {
        let bundles = [bundle("en", "hello = Hello\nbye = Bye\n"), bundle("de", "hello = Hallo\n")];
        assert_eq!(find_in(&bundles, 1, "hello", None).as_deref(), Some("Hallo"));
        assert_eq!(find_in(&bundles, 1, "bye", None).as_deref(), Some("Bye"));
        assert_eq!(find_in(&bundles, 1, "gone", None), None, "missing in English too");
        assert_eq!(format(0, "gone", None), "gone", "shown as its key");
    }
}
