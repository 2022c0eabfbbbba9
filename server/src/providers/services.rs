//! The services a user can connect — the built-in demo provider's simulated ones, or the
//! upstream providers the operator enabled ([`crate::providers`]) — and the `scope` filter over
//! them.

use crate::providers::catalogue::{self, Entry};
use crate::providers::scope::{Item, is_any};
use crate::providers::upstream::Upstream;
use std::sync::Arc;

/// A service a user can connect.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// Its id, as in `scope` and the account's `service`: Kloudless's service identifier
    /// where Kloudless had the service.
    pub id: String,
    /// Other ids it answers to in `scope` and in stored accounts (the catalogue's
    /// `id_aliases`, e.g. `onedrive` for `skydrive`).
    pub aliases: Vec<String>,
    /// The id the operator enabled it by (`[[providers]] id`, perhaps an alias): the id of its
    /// OAuth callback path and the one its new accounts are stored under, so that enabling it
    /// by an old id changes neither the redirect URI registered with the provider nor the key
    /// of an account connected again.
    pub config_id: String,
    /// Its display name.
    pub name: String,
    /// Its category: `storage`, `crm`, `calendar`, ….
    pub category: String,
    /// Its logo: a bundled icon's slug ([`crate::providers::icons`]); `None`: a monogram.
    pub icon: Option<String>,
    /// How an account of it is connected.
    pub connect: Connect,
}

/// How an account of a service is connected.
#[derive(Clone, Debug, PartialEq)]
pub enum Connect {
    /// The built-in demo provider: the user types any account name; nothing leaves the server.
    Demo,
    /// A real upstream, through its authorization server (OAuth 2.0 code + PKCE).
    Upstream(Arc<Upstream>),
    /// A real upstream, with an API key or a user name and password typed in the pop-up and
    /// checked against the entry's `check_url`.
    Credentials(Arc<Entry>),
    /// An organisation-wide provider: the tenant's admin authorizes our credential once, and
    /// the server mints each user's token ([`crate::providers::org`]).
    Org(Arc<crate::providers::org::OrgProvider>),
}

impl Connect {
    /// Whether the user types the account's credential in the pop-up: an API key or a user name
    /// and password, checked ([`Connect::Credentials`]) or traded for tokens (a password
    /// entry's [`Connect::Upstream`]).
    pub fn is_typed(&self) -> bool {
        match self {
            Connect::Credentials(_) => true,
            Connect::Upstream(upstream) => upstream.entry.kind == catalogue::Kind::Password,
            Connect::Demo | Connect::Org(_) => false,
        }
    }
}

/// The demo provider's simulated services (id, name, category): what a configuration without
/// `[[providers]]` offers, as before the broker existed.
pub const DEMO: [(&str, &str, &str); 7] = [
    ("box", "Box (demo)", "storage"),
    ("dropbox", "Dropbox (demo)", "storage"),
    ("gdrive", "Google Drive (demo)", "storage"),
    ("salesforce", "Salesforce (demo)", "crm"),
    ("hubspot", "HubSpot (demo)", "crm"),
    ("google_calendar", "Google Calendar (demo)", "calendar"),
    ("outlook_calendar", "Outlook Calendar (demo)", "calendar"),
];

/// The demo services, all of them.
pub fn demo() -> Vec<Service> {
    DEMO.iter().map(|&(id, name, category)| demo_service(id, name, category)).collect()
}

/// One demo service, with the logo of the catalogue's entry of the same id.
pub fn demo_service(id: &str, name: &str, category: &str) -> Service {
    Service {
        id: id.to_owned(),
        aliases: Vec::new(),
        config_id: id.to_owned(),
        name: name.to_owned(),
        category: category.to_owned(),
        icon: catalogue::icon_of(id),
        connect: Connect::Demo,
    }
}

impl Service {
    /// Whether `id` is its id or one of its aliases.
    pub fn answers_to(&self, id: &str) -> bool {
        self.id == id || self.aliases.iter().any(|alias| alias == id)
    }
}

/// The service with this id (or alias) among `services`.
pub fn find<'s>(services: &'s [Service], id: &str) -> Option<&'s Service> {
    services.iter().find(|service| service.answers_to(id))
}

/// A service the scope allows, whether it asks for admin access, and the upstream scopes the
/// scope nested for it.
#[derive(Debug, PartialEq)]
pub struct Allowed {
    /// The service.
    pub service: Service,
    /// Whether a scope item that allowed it carried `:admin`.
    pub admin: bool,
    /// The upstream scopes quoted for it (`gdrive."…":raw`), which replace the provider's
    /// defaults for this flow; `None`: the defaults.
    pub upstream_scopes: Option<Vec<String>>,
}

impl Allowed {
    /// The scope granted to a token for it: `service:normal|admin.category`.
    pub fn granted_scope(&self) -> String {
        let level = if self.admin { "admin" } else { "normal" };
        format!("{}:{level}.{}", self.service.id, self.service.category)
    }
}

/// Whether `item` names `service`: by id or alias, category, or `any`/`all`, and with a
/// second part (`service.category`), both must agree. An item with upstream scopes names a
/// service by id (or alias) only.
fn names(item: &Item, service: &Service) -> bool {
    let category_agrees = item.category.as_deref().is_none_or(|c| is_any(c) || c == service.category);
    let by_id = service.answers_to(&item.name);
    if item.upstream.is_some() {
        return by_id && category_agrees;
    }
    match &item.category {
        Some(_) => (is_any(&item.name) || by_id) && category_agrees,
        None => is_any(&item.name) || by_id || item.name == service.category,
    }
}

/// The services the parsed scope `items` ([`crate::providers::scope`]) allow, in catalogue
/// order; items naming nothing are ignored, and no items at all allow everything.
pub fn allowed(services: &[Service], items: &[Item]) -> Vec<Allowed> {
    services
        .iter()
        .filter_map(|service| {
            if items.is_empty() {
                return Some(Allowed { service: service.clone(), admin: false, upstream_scopes: None });
            }
            let hits: Vec<&Item> = items.iter().filter(|item| names(item, service)).collect();
            if hits.is_empty() {
                return None;
            }
            let mut nested: Vec<String> = Vec::new();
            for scope in hits.iter().filter_map(|item| item.upstream.as_ref()).flatten() {
                if !nested.contains(scope) {
                    nested.push(scope.clone());
                }
            }
            Some(Allowed {
                service: service.clone(),
                admin: hits.iter().any(|item| item.admin),
                upstream_scopes: (!nested.is_empty()).then_some(nested),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(scope: &str) -> Vec<Allowed> {
        super::allowed(&demo(), &crate::providers::scope::parse(scope).unwrap())
    }

    fn ids(scope: &str) -> Vec<String> {
        allowed(scope).iter().map(|a| a.service.id.clone()).collect()
    }

    #[test]
    fn filters_by_id_category_and_any() {
        assert_eq!(ids("").len(), DEMO.len());
        assert_eq!(ids("any").len(), DEMO.len());
        assert_eq!(ids("all:admin").len(), DEMO.len());
        assert_eq!(ids("any.all").len(), DEMO.len(), "the original README's example");
        assert_eq!(ids("any.storage"), ["box", "dropbox", "gdrive"]);
        assert_eq!(ids("any.calendar any.crm").len(), 4);
        assert_eq!(ids("box.all"), ["box"]);
        assert_eq!(ids("box.crm"), Vec::<String>::new());
        assert_eq!(ids("box"), ["box"]);
        assert_eq!(ids("crm"), ["salesforce", "hubspot"]);
        assert_eq!(ids("gdrive box dropbox salesforce.crm"), ["box", "dropbox", "gdrive", "salesforce"]);
        assert_eq!(ids("box:normal.storage"), ["box"]);
        assert!(ids("box.crm").is_empty(), "service.category must agree");
        assert!(ids("nothing here").is_empty());
        assert_eq!(ids("box:admin unknown dropbox"), ["box", "dropbox"]);
        assert_eq!(find(&demo(), "hubspot").map(|s| s.category.as_str()), Some("crm"));
        assert_eq!(find(&demo(), "crm"), None);
    }

    #[test]
    fn admin_comes_from_the_item() {
        let scope = allowed("box:admin dropbox");
        assert_eq!(scope[0].granted_scope(), "box:admin.storage");
        assert_eq!(scope[1].granted_scope(), "dropbox:normal.storage");
        assert!(!allowed("box:normal.storage")[0].admin);
    }

    #[test]
    fn nested_scopes_go_to_the_service_named_by_id_or_alias() {
        let mut services = demo();
        services[1].aliases = vec!["dbx".into()];
        let scope =
            crate::providers::scope::parse(r#"box dbx.storage."a b":raw dropbox."b c":raw storage."x":raw"#);
        let allowed = super::allowed(&services, &scope.unwrap());
        assert_eq!(allowed.len(), 2, "a category takes no nested scopes");
        assert_eq!(allowed[0].upstream_scopes, None);
        assert_eq!(allowed[1].service.id, "dropbox");
        assert_eq!(allowed[1].upstream_scopes.as_deref(), Some(&["a".into(), "b".into(), "c".into()][..]));
        assert_eq!(find(&services, "dbx").map(|s| s.id.as_str()), Some("dropbox"));
    }
}
