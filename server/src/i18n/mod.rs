//! The pop-up's languages: English, German, French, Spanish and Japanese, their messages in
//! Fluent files ([`messages`]), and the [`Locale`] a request gets ([`choice`]): the pop-up's
//! [`LOCALE`] parameter, else the browser's `Accept-Language`, else English. A message missing
//! in a language is shown in English.
//!
//! The request's choice is kept for the rendering of its pages ([`Locale::scope`], set by the
//! pop-up's page layer, [`crate::error::as_pages`]); a page whose parameters carry the flow's
//! `locale` (a form's post) reads it from them ([`Locale::for_params`]).

pub mod choice;
pub mod messages;

use fluent_bundle::{FluentArgs, FluentValue};
pub use kloudless_protocol::LOCALE;
use std::future::Future;

tokio::task_local! {
    /// The locale of the request being answered.
    static CURRENT: Locale;
}

/// One of the languages of [`messages::SOURCES`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Locale(usize);

/// A message split around one of its arguments, for a template that marks the argument up
/// (`<b>{{ look.name }}</b>`) while the words around it stay translated and escaped.
pub struct Around {
    /// The text before the argument.
    pub before: String,
    /// The text after it.
    pub after: String,
}

/// The stand-in for the marked-up argument of [`Locale::around`]: a private-use character no
/// message holds.
const MARK: &str = "\u{E000}";

impl Locale {
    /// English, the fallback.
    pub const ENGLISH: Locale = Locale(0);

    /// The locale of the language `tag` names (`de-DE` is German), if it is a well-formed tag
    /// of one of the languages.
    pub fn of_tag(tag: &str) -> Option<Locale> {
        let language = choice::language_of(tag)?;
        messages::SOURCES.iter().position(|(code, _)| *code == language).map(Locale)
    }

    /// The locale for a `locale` parameter (ignored unless [`Locale::of_tag`] knows it) and an
    /// `Accept-Language` header: the parameter, else the header's most wanted language that
    /// is one of ours, else English.
    pub fn choose(param: Option<&str>, accept_language: Option<&str>) -> Locale {
        let accepted = accept_language.map(choice::accepted).unwrap_or_default();
        param.into_iter().chain(accepted).find_map(Locale::of_tag).unwrap_or(Locale::ENGLISH)
    }

    /// The locale of the request being answered ([`Locale::scope`]), English outside one.
    pub fn current() -> Locale {
        CURRENT.try_with(|locale| *locale).unwrap_or(Locale::ENGLISH)
    }

    /// The locale of a page with the flow's `params`: their `locale` when it is one of ours,
    /// else [`Locale::current`].
    pub fn for_params(params: &[(String, String)]) -> Locale {
        let param = params.iter().find(|(key, _)| key == LOCALE).map(|(_, value)| value.as_str());
        param.and_then(Locale::of_tag).unwrap_or_else(Locale::current)
    }

    /// Runs `future` with `self` as [`Locale::current`].
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// The language's tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        messages::SOURCES[self.0].0
    }

    /// The message `key`.
    pub fn text(self, key: &str) -> String {
        messages::format(self.0, key, None)
    }

    /// The message `key`, if English at least has it.
    pub fn find(self, key: &str) -> Option<String> {
        messages::find(self.0, key, None)
    }

    /// The message `key` with `args`.
    pub fn format(self, key: &str, args: &FluentArgs) -> String {
        messages::format(self.0, key, Some(args))
    }

    /// The message `key` with the argument `name` set to `value`.
    pub fn with(self, key: &str, name: &'static str, value: &str) -> String {
        self.format(key, &args([(name, value.into())]))
    }

    /// The message `key` with the argument `name` set to the number `count`.
    pub fn count(self, key: &str, name: &'static str, count: usize) -> String {
        self.format(key, &args([(name, count.into())]))
    }

    /// The message `key` with `args`, split around the argument `marked` ([`Around`]).
    pub fn around(self, key: &str, marked: &'static str, mut args: FluentArgs) -> Around {
        args.set(marked, MARK);
        let text = self.format(key, &args);
        let (before, after) = text.split_once(MARK).unwrap_or((&text, ""));
        Around { before: before.to_owned(), after: after.to_owned() }
    }

    /// [`Locale::around`] with one more argument, `name` set to `value`.
    pub fn around_with(self, key: &str, marked: &'static str, name: &'static str, value: &str) -> Around {
        self.around(key, marked, args([(name, value.into())]))
    }
}

/// Fluent arguments from `(name, value)` pairs.
pub fn args<'a, const N: usize>(pairs: [(&'static str, FluentValue<'a>); N]) -> FluentArgs<'a> {
    let mut args = FluentArgs::new();
    for (name, value) in pairs {
        args.set(name, value);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_wins_then_accept_language_then_english() {
        let choose = |param, header| Locale::choose(param, header).tag();
        assert_eq!(choose(None, None), "en");
        assert_eq!(choose(None, Some("de-DE,de;q=0.9,en;q=0.8")), "de");
        assert_eq!(choose(None, Some("ko, ja;q=0.2, fr;q=0.5")), "fr", "q-values, unknown skipped");
        assert_eq!(choose(Some("es-MX"), Some("ja-JP")), "es");
        assert_eq!(choose(Some("not a tag"), Some("ja-JP")), "ja", "a malformed parameter is ignored");
        assert_eq!(choose(Some("ko"), Some("it, *")), "en");
    }

    #[test]
    fn the_flows_parameter_wins_over_the_request() {
        let params = |locale: &str| {
            vec![("scope".to_owned(), "box".to_owned()), (LOCALE.to_owned(), locale.to_owned())]
        };
        assert_eq!(Locale::for_params(&params("ja")).tag(), "ja");
        assert_eq!(Locale::for_params(&params("x")), Locale::current());
        assert_eq!(Locale::for_params(&[]), Locale::ENGLISH);
    }

    #[tokio::test]
    async fn the_request_locale_is_kept_for_its_pages() {
        let german = Locale::of_tag("de").unwrap();
        assert_eq!(german.scope(async { Locale::current() }).await, german);
        assert_eq!(Locale::current(), Locale::ENGLISH);
    }

    #[test]
    fn every_language_has_exactly_the_keys_of_english() {
        let english = messages::keys(messages::SOURCES[0].1);
        assert!(english.len() > 50, "{english:?}");
        for (tag, source) in &messages::SOURCES[1..] {
            let keys = messages::keys(source);
            let missing: Vec<_> = english.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&english).collect();
            assert!(missing.is_empty(), "{tag} lacks {missing:?}");
            assert!(extra.is_empty(), "{tag} has keys English lacks: {extra:?}");
        }
    }

    #[test]
    fn messages_are_read_in_the_locales_language() {
        let japanese = Locale::of_tag("ja-JP").unwrap();
        assert_eq!(japanese.text("chooser-cancel"), "キャンセル");
        assert_eq!(messages::format(japanese.0, "no-such-key", None), "no-such-key");
    }

    #[test]
    fn numbers_choose_their_plural_form() {
        let english = Locale::ENGLISH;
        assert_eq!(english.count("chooser-count", "shown", 1), "1 service");
        assert_eq!(english.count("chooser-count", "shown", 7), "7 services");
        let marked = english.around_with("chooser-heading", "app", "unused", "");
        assert_eq!(marked.before, "");
        assert_eq!(marked.after, " wants to connect one of your accounts");
    }
}
