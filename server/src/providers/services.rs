//! The services a user can connect — the built-in demo provider's simulated ones, or the
//! upstream providers the operator enabled ([`crate::providers`]) — and the `scope` filter over
//! them.

use crate::providers::catalogue::{self, Entry};
use crate::providers::upstream::Upstream;
use std::sync::Arc;

/// A service a user can connect.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// Its id, as in `scope` and the account's `service`.
    pub id: String,
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
        name: name.to_owned(),
        category: category.to_owned(),
        icon: catalogue::icon_of(id),
        connect: Connect::Demo,
    }
}

/// The service with this id among `services`.
pub fn find<'s>(services: &'s [Service], id: &str) -> Option<&'s Service> {
    services.iter().find(|service| service.id == id)
}

/// A service the scope allows, and whether it asks for admin access.
#[derive(Debug, PartialEq)]
pub struct Allowed {
    /// The service.
    pub service: Service,
    /// Whether the scope item that allowed it carried `:admin`.
    pub admin: bool,
}

impl Allowed {
    /// The scope granted to a token for it: `service:normal|admin.category`.
    pub fn granted_scope(&self) -> String {
        let level = if self.admin { "admin" } else { "normal" };
        format!("{}:{level}.{}", self.service.id, self.service.category)
    }
}

/// The services `scope` allows, in catalogue order. Items are space-separated: a service id,
/// a category, `any`/`all`, or `service.category`, each optionally `:level` (admin when the
/// level starts with `admin`). Unknown items are
/// ignored; an empty scope allows everything.
pub fn allowed(services: &[Service], scope: &str) -> Vec<Allowed> {
    let items: Vec<(&str, bool)> = scope
        .split_whitespace()
        .map(|item| match item.split_once(':') {
            Some((name, level)) => (name, level.starts_with("admin")),
            None => (item, false),
        })
        .collect();
    services
        .iter()
        .filter_map(|service| {
            let any = |name: &str| name == "any" || name == "all";
            // Kloudless scopes: `service.category`, either part `any`/`all` (`any.all`,
            // `any.storage`, `box.all`), or a service, a category, or `any`/`all` alone.
            let matches = |name: &str| match name.split_once('.') {
                Some((id, category)) => {
                    (any(id) || id == service.id) && (any(category) || category == service.category)
                }
                None => any(name) || name == service.id || name == service.category,
            };
            if items.is_empty() {
                return Some(Allowed { service: service.clone(), admin: false });
            }
            let mut hits = items.iter().filter(|(name, _)| matches(name)).peekable();
            hits.peek()?;
            Some(Allowed { service: service.clone(), admin: hits.any(|&(_, admin)| admin) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(scope: &str) -> Vec<Allowed> {
        super::allowed(&demo(), scope)
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
}
