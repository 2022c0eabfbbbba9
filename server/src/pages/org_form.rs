//! The pop-up's form for an organisation-wide service ([`crate::providers::org`]): what the
//! tenant's admin authorizes in the provider's console (our client id and the exact scopes),
//! then the domain and the admin's address, checked by minting the admin's token; for a
//! consent-flow provider (Microsoft 365), our client id and the tenant, the admin being sent to
//! the provider's consent page; for Box, our client id and the enterprise id. After an error the form comes back with what was typed and the
//! error tied to its field.

use super::forms::{FormError, asks, error_at};
use crate::config::App;
use crate::i18n::{Around, Locale};
use crate::pages::form_page;
use crate::pages::look::Look;
use crate::providers::org::OrgProvider;
use crate::providers::services::Service;
use askama::Template;
use axum::response::Response;
use kloudless_protocol::POPUP_PATH;

/// What was typed in the form (kept when it comes back with an error).
#[derive(Clone, Debug, Default)]
pub struct OrgTyped {
    /// The domain.
    pub domain: Option<String>,
    /// The admin's address.
    pub admin: Option<String>,
}

/// The form for `org`, with `error` (status 400) when the last check was refused.
pub fn org_form(
    app: &App,
    params: &[(String, String)],
    typed: &OrgTyped,
    service: &Service,
    org: &OrgProvider,
    error: Option<FormError<'_>>,
) -> Response {
    let look = Look::of(app);
    let form = OrgForm {
        t: Locale::for_params(params),
        look: &look,
        name: &service.name,
        params,
        id: &service.id,
        console: org.credential.console_steps(),
        client_id: org.credential.client_id(),
        consent: org.credential.consents(),
        enterprise: org.credential.enterprise(),
        scopes: org.entry.scopes.join(","),
        docs: &org.entry.docs,
        domain: typed.domain.as_deref(),
        admin: typed.admin.as_deref(),
        error,
        popup_path: POPUP_PATH,
    };
    form_page(form.render(), &service.name, params, error.is_some(), &look)
}

/// [`org_form`]'s body (`templates/org_form.html`).
#[derive(Template)]
#[template(path = "org_form.html")]
struct OrgForm<'a> {
    t: Locale,
    look: &'a Look<'a>,
    name: &'a str,
    params: &'a [(String, String)],
    id: &'a str,
    /// Where to authorize us in the provider's admin console (none: its consent page).
    console: Option<&'a str>,
    client_id: &'a str,
    /// Whether the admin grants access on the provider's consent page (the form asks the
    /// tenant only, and sends them there).
    consent: bool,
    /// Whether the form asks a Box enterprise id (no scopes: they are set on the app).
    enterprise: bool,
    /// The scopes as the console takes them (comma-separated).
    scopes: String,
    docs: &'a str,
    domain: Option<&'a str>,
    admin: Option<&'a str>,
    error: Option<FormError<'a>>,
    popup_path: &'a str,
}

impl OrgForm<'_> {
    /// The opening sentence, around the app's name.
    fn asks(&self) -> Around {
        asks(self.t, "org-asks", self.name)
    }

    /// The step naming the scopes to authorize, around them.
    fn scopes_step(&self) -> Around {
        self.t.around("org-scopes", "scopes", crate::i18n::args([]))
    }

    /// The error about `field`, if any.
    fn error_at(&self, field: &str) -> Option<&str> {
        error_at(self.error, field)
    }
}
