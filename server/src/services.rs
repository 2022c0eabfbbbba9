//! The built-in demo provider: a few simulated services, and the `scope` filter over them.

/// A simulated service a user can connect.
#[derive(Debug, PartialEq)]
pub struct Service {
    /// Its id, as in `scope` and the account's `service`.
    pub id: &'static str,
    /// Its display name.
    pub name: &'static str,
    /// Its category: `storage`, `crm` or `calendar`.
    pub category: &'static str,
}

/// Every service the demo provider offers.
pub const SERVICES: [Service; 7] = [
    Service { id: "box", name: "Box (demo)", category: "storage" },
    Service { id: "dropbox", name: "Dropbox (demo)", category: "storage" },
    Service { id: "gdrive", name: "Google Drive (demo)", category: "storage" },
    Service { id: "salesforce", name: "Salesforce (demo)", category: "crm" },
    Service { id: "hubspot", name: "HubSpot (demo)", category: "crm" },
    Service { id: "google_calendar", name: "Google Calendar (demo)", category: "calendar" },
    Service { id: "outlook_calendar", name: "Outlook Calendar (demo)", category: "calendar" },
];

/// The service with this id.
pub fn find(id: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|service| service.id == id)
}

/// A service the scope allows, and whether it asks for admin access.
#[derive(Debug, PartialEq)]
pub struct Allowed {
    /// The service.
    pub service: &'static Service,
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
pub fn allowed(scope: &str) -> Vec<Allowed> {
    let items: Vec<(&str, bool)> = scope
        .split_whitespace()
        .map(|item| match item.split_once(':') {
            Some((name, level)) => (name, level.starts_with("admin")),
            None => (item, false),
        })
        .collect();
    SERVICES
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
                return Some(Allowed { service, admin: false });
            }
            let mut hits = items.iter().filter(|(name, _)| matches(name)).peekable();
            hits.peek()?;
            Some(Allowed { service, admin: hits.any(|&(_, admin)| admin) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(scope: &str) -> Vec<&str> {
        allowed(scope).iter().map(|a| a.service.id).collect()
    }

    #[test]
    fn filters_by_id_category_and_any() {
        assert_eq!(ids("").len(), SERVICES.len());
        assert_eq!(ids("any").len(), SERVICES.len());
        assert_eq!(ids("all:admin").len(), SERVICES.len());
        assert_eq!(ids("any.all").len(), SERVICES.len(), "the original README's example");
        assert_eq!(ids("any.storage"), ["box", "dropbox", "gdrive"]);
        assert_eq!(ids("any.calendar any.crm").len(), 4);
        assert_eq!(ids("box.all"), ["box"]);
        assert_eq!(ids("box.crm"), Vec::<&str>::new());
        assert_eq!(ids("box"), ["box"]);
        assert_eq!(ids("crm"), ["salesforce", "hubspot"]);
        assert_eq!(ids("gdrive box dropbox salesforce.crm"), ["box", "dropbox", "gdrive", "salesforce"]);
        assert_eq!(ids("box:normal.storage"), ["box"]);
        assert!(ids("box.crm").is_empty(), "service.category must agree");
        assert!(ids("nothing here").is_empty());
        assert_eq!(ids("box:admin unknown dropbox"), ["box", "dropbox"]);
        assert_eq!(find("hubspot").map(|s| s.category), Some("crm"));
        assert_eq!(find("crm"), None);
    }

    #[test]
    fn admin_comes_from_the_item() {
        let scope = allowed("box:admin dropbox");
        assert_eq!(scope[0].granted_scope(), "box:admin.storage");
        assert_eq!(scope[1].granted_scope(), "dropbox:normal.storage");
        assert!(!allowed("box:normal.storage")[0].admin);
    }
}
