//! The service chooser: the allowed services grouped by category, each with its logo, filtered
//! by the `search` box on the server (so that it works without JavaScript; the pages' script
//! filters as the user types), the services the `scope` names first.

use crate::config::App;
use crate::i18n::{self, Around, Locale};
use crate::pages::form_page;
use crate::pages::look::Look;
use crate::providers::icons;
use crate::providers::scope::{self, is_any};
use crate::providers::services::{Allowed, Service};
use askama::Template;
use axum::response::Response;
use kloudless_protocol::POPUP_PATH;

/// The longest search text used; the rest is ignored.
const MAX_SEARCH: usize = 100;

/// A service's logo: a bundled icon, or the first letter of its name.
pub enum ServiceIcon {
    /// A simple-icons icon ([`icons::Icon`]).
    Svg {
        /// Its brand colour, six hex digits.
        hex: &'static str,
        /// Its SVG path.
        path: &'static str,
    },
    /// A monogram.
    Monogram(String),
}

impl ServiceIcon {
    /// The logo of `service`.
    pub fn of(service: &Service) -> ServiceIcon {
        match service.icon.as_deref().and_then(icons::find) {
            Some(icon) => ServiceIcon::Svg { hex: &icon.hex, path: &icon.path },
            None => {
                ServiceIcon::Monogram(service.name.chars().take(1).flat_map(char::to_uppercase).collect())
            }
        }
    }
}

/// One button of the chooser.
struct Choice<'a> {
    id: &'a str,
    name: &'a str,
    icon: ServiceIcon,
    /// What the search matches, in lower case: the name, the id and the category.
    search_text: String,
}

/// One group of buttons: a category, or (`""`) the services the scope names.
struct Group<'a> {
    category: &'a str,
    choices: Vec<Choice<'a>>,
}

/// The chooser page for `app`: the `allowed` services that match `search`, in the flow's
/// language ([`Locale::for_params`]).
pub fn chooser(app: &App, params: &[(String, String)], allowed: &[Allowed], search: &str) -> Response {
    let search: String = search.chars().take(MAX_SEARCH).collect();
    let named = named_in_scope(params);
    let words: Vec<String> = search.split_whitespace().map(str::to_lowercase).collect();
    let mut groups: Vec<Group<'_>> = Vec::new();
    // The services the scope names by id come first, when the scope allows others too.
    let suggest = allowed.iter().any(|a| !named.contains(&a.service.id));
    let t = Locale::for_params(params);
    for allowed in allowed {
        let service = &allowed.service;
        // The category by its id and by its name in the page's language.
        let category = format!("{} {}", service.category, category_name(t, &service.category));
        let choice = Choice {
            id: &service.id,
            name: &service.name,
            icon: ServiceIcon::of(service),
            search_text: format!("{} {} {category}", service.name, service.id).to_lowercase(),
        };
        if !words.iter().all(|word| choice.search_text.contains(word.as_str())) {
            continue;
        }
        let category = if suggest && named.contains(&service.id) { "" } else { &service.category };
        match groups.iter_mut().find(|group| group.category == category) {
            Some(group) => group.choices.push(choice),
            None => groups.push(Group { category, choices: vec![choice] }),
        }
    }
    groups.sort_by_key(|group| !group.category.is_empty());
    let look = Look::of(app);
    let body = Chooser {
        t,
        look: &look,
        params,
        shown: groups.iter().map(|group| group.choices.len()).sum(),
        total: allowed.len(),
        groups,
        search: &search,
        popup_path: POPUP_PATH,
    };
    form_page(body.render(), &t.text("chooser-title"), params, false, &look)
}

/// The name of `category` (`""`: the services the scope names) in `t`'s language (its message
/// `category-<id>`), or the category as the catalogue gives it when it has no message.
fn category_name(t: Locale, category: &str) -> String {
    let key = if category.is_empty() { "suggested" } else { category };
    t.find(&format!("category-{key}")).unwrap_or_else(|| category.to_owned())
}

/// The names `scope`'s items start with (`box` in `box:admin`, `box.storage`), without `any` and
/// `all`: service ids, or categories (which name no service); none when the scope is malformed.
fn named_in_scope(params: &[(String, String)]) -> Vec<String> {
    let scope = params.iter().find(|(key, _)| key == "scope").map_or("", |(_, value)| value.as_str());
    let items = scope::parse(scope).unwrap_or_default();
    items.into_iter().map(|item| item.name).filter(|name| !is_any(name)).collect()
}

/// [`chooser`]'s body (`templates/chooser.html`).
#[derive(Template)]
#[template(path = "chooser.html")]
struct Chooser<'a> {
    t: Locale,
    look: &'a Look<'a>,
    params: &'a [(String, String)],
    groups: Vec<Group<'a>>,
    shown: usize,
    total: usize,
    search: &'a str,
    popup_path: &'a str,
}

impl Chooser<'_> {
    /// The heading of the group of `category` ([`category_name`]).
    fn category_name(&self, category: &str) -> String {
        category_name(self.t, category)
    }

    /// The heading, around the app's name.
    fn heading(&self) -> Around {
        self.t.around("chooser-heading", "app", i18n::args([]))
    }

    /// How many services are shown (of how many, when searched).
    fn count(&self) -> String {
        if self.search.is_empty() {
            return self.t.count("chooser-count", "shown", self.shown);
        }
        let args = i18n::args([
            ("shown", self.shown.into()),
            ("total", self.total.into()),
            ("search", self.search.into()),
        ]);
        self.t.format("chooser-count-matching", &args)
    }

    /// The count for the page's script, with `{shown}` and `{total}` to fill in as the user types.
    fn count_template(&self) -> String {
        self.t.format(
            "chooser-count-typed",
            &i18n::args([("shown", "{shown}".into()), ("total", "{total}".into())]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::providers::services;

    /// The chooser's body for `scope` and `search`, over the demo services.
    async fn body(scope: &str, search: &str) -> String {
        body_in("en", scope, search).await
    }

    /// [`body`] with the flow's `locale`.
    async fn body_in(locale: &str, scope: &str, search: &str) -> String {
        let toml =
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n[apps.branding]\nname = \"Acme <CRM>\"\n";
        let config = Config::from_toml(toml, "127.0.0.1:0".parse().unwrap(), "db".into()).unwrap();
        let params = vec![("scope".to_owned(), scope.to_owned()), ("locale".to_owned(), locale.to_owned())];
        let allowed = services::allowed(&services::demo(), &scope::parse(scope).unwrap());
        let page = chooser(&config.apps[0], &params, &allowed, search);
        let bytes = axum::body::to_bytes(page.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Where `needle` is in `haystack`.
    fn at(haystack: &str, needle: &str) -> usize {
        haystack.find(needle).unwrap_or_else(|| panic!("{needle} in {haystack}"))
    }

    #[tokio::test]
    async fn the_services_the_scope_names_come_first_then_each_category() {
        let page = body("crm hubspot calendar", "").await;
        assert!(page.contains("<b>Acme &#60;CRM&#62;</b> wants to connect one of your accounts"), "{page}");
        let order = [
            "<h2>Suggested</h2>",
            "data-service=\"hubspot\"",
            "<h2>CRM</h2>",
            "data-service=\"salesforce\"",
            "<h2>Calendars</h2>",
        ];
        let places: Vec<usize> = order.iter().map(|needle| at(&page, needle)).collect();
        assert!(places.is_sorted(), "{order:?} at {places:?}");
        assert_eq!(page.matches("data-service=\"hubspot\"").count(), 1);
        // With every service named, nothing is singled out.
        assert!(!body("box dropbox", "").await.contains("Suggested"));
    }

    #[tokio::test]
    async fn the_search_keeps_the_services_that_match_every_word() {
        let page = body("", "GOOGLE cal").await;
        assert!(page.contains("data-service=\"google_calendar\""), "{page}");
        assert_eq!(page.matches("data-service=").count(), 1, "{page}");
        assert!(page.contains("1 of 7 services"), "{page}");
        let none = body("", "nothing").await;
        assert_eq!(none.matches("data-service=").count(), 0);
        assert!(none.contains("<p data-empty>No service matches"), "{none}");
    }

    #[tokio::test]
    async fn a_category_is_found_by_its_name_in_the_pages_language() {
        let page = body_in("de", "", "kalender").await;
        assert!(page.contains("<h2>Kalender</h2>"), "{page}");
        assert_eq!(page.matches("data-service=").count(), 2, "{page}");
        assert!(page.contains("2 von 7 Diensten passen zu „kalender“"), "{page}");
    }

    #[test]
    fn every_category_of_the_catalogue_and_the_demo_has_a_name() {
        let catalogue = crate::providers::catalogue::catalogue().unwrap();
        let demo = services::demo();
        let categories = catalogue.iter().map(|e| &e.category).chain(demo.iter().map(|s| &s.category));
        for category in categories {
            let name = category_name(Locale::ENGLISH, category);
            assert_ne!(&name, category, "server/locales/en/popup.ftl: category-{category}");
        }
    }

    #[test]
    fn the_scope_names_services_by_id() {
        let params = vec![("scope".to_owned(), "box:admin dropbox.storage crm any.calendar".to_owned())];
        assert_eq!(named_in_scope(&params), ["box", "dropbox", "crm"]);
    }
}
