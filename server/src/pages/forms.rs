//! The pop-up's forms: the demo provider's connect page, a per-server provider's hostname form
//! and an API-key or basic service's credentials form. After an error the form comes back
//! with what was typed (never a secret) and the error tied to its field. Each in the flow's
//! language ([`Locale::for_params`]).

use crate::config::App;
use crate::i18n::{self, Around, Locale};
use crate::pages::form_page;
use crate::pages::look::Look;
use crate::popup::prefill::Prefill;
use crate::providers::catalogue::{Entry, FormLabels, Kind, MAX_SERVER_PATH};
use crate::providers::services::Service;
use askama::Template;
use axum::response::Response;
use kloudless_protocol::POPUP_PATH;

/// The field a form's error is about.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field {
    /// The server's hostname.
    Hostname,
    /// The region (S3's).
    Region,
    /// The API key or the password.
    Secret,
    /// An organisation's domain.
    Domain,
    /// An organisation's admin address.
    Admin,
    /// The form as a whole.
    Form,
}

impl Field {
    /// The name the templates use for it.
    fn as_str(self) -> &'static str {
        match self {
            Field::Hostname => "hostname",
            Field::Region => "region",
            Field::Secret => "secret",
            Field::Domain => "domain",
            Field::Admin => "admin",
            Field::Form => "form",
        }
    }
}

/// Why a form was refused: a sentence, and the field it is about.
#[derive(Clone, Copy, Debug)]
pub struct FormError<'a> {
    /// The field.
    pub field: Field,
    /// What is wrong, for the user.
    pub message: &'a str,
}

/// The sentence of `error` when it is about `field` (by its template name).
pub(super) fn error_at<'a>(error: Option<FormError<'a>>, field: &str) -> Option<&'a str> {
    error.filter(|error| error.field.as_str() == field).map(|error| error.message)
}

/// The hostname field's hint for the service `name`, with its `example`.
fn hostname_hint(t: Locale, name: &str, example: &str) -> String {
    t.format("hostname-hint", &i18n::args([("service", name.into()), ("example", example.into())]))
}

/// `key`, a form's opening sentence about the service `name`, around the app's name.
pub(super) fn asks(t: Locale, key: &str, name: &str) -> Around {
    t.around_with(key, "app", "service", name)
}

/// The longest host name typed (DNS's limit).
const MAX_HOSTNAME: usize = 253;

/// An example hostname for `pattern` (`*.service-now.com` gives `example.service-now.com`), for
/// the placeholder: a `*` port becomes 443, any other `*` the label `example`.
pub fn example_hostname(pattern: &str) -> String {
    let first = pattern.split_whitespace().next().unwrap_or_default();
    first.replace(":*", ":443").replace('*', "example")
}

/// The connect page for one demo service: the account's name, connect and cancel.
pub fn connect(app: &App, params: &[(String, String)], service: &Service, admin: bool) -> Response {
    let look = Look::of(app);
    let t = Locale::for_params(params);
    let body = Connect {
        t,
        look: &look,
        name: &service.name,
        admin,
        params,
        id: &service.id,
        popup_path: POPUP_PATH,
    };
    form_page(body.render(), &service.name, params, false, &look)
}

/// [`connect`]'s body (`templates/connect.html`).
#[derive(Template)]
#[template(path = "connect.html")]
struct Connect<'a> {
    t: Locale,
    look: &'a Look<'a>,
    name: &'a str,
    admin: bool,
    params: &'a [(String, String)],
    id: &'a str,
    popup_path: &'a str,
}

impl Connect<'_> {
    /// The opening sentence, around the app's name.
    fn asks(&self) -> Around {
        asks(self.t, if self.admin { "connect-asks-admin" } else { "connect-asks" }, self.name)
    }
}

/// The form asking for a per-server provider's server (`pattern`, e.g. `*.service-now.com`),
/// filled in with `filled` (the app's default, or what was typed), with `error` (status 400)
/// when the one typed was refused.
pub fn hostname_form(
    app: &App,
    params: &[(String, String)],
    filled: &Prefill,
    service: &Service,
    pattern: &str,
    error: Option<FormError<'_>>,
) -> Response {
    let look = Look::of(app);
    let form = HostnameForm {
        t: Locale::for_params(params),
        look: &look,
        name: &service.name,
        params,
        id: &service.id,
        example: example_hostname(pattern),
        hostname_max: MAX_HOSTNAME,
        hostname: filled.hostname.as_deref(),
        error,
        error_name: "hostname",
        popup_path: POPUP_PATH,
    };
    form_page(form.render(), &service.name, params, error.is_some(), &look)
}

/// [`hostname_form`]'s body (`templates/hostname_form.html`).
#[derive(Template)]
#[template(path = "hostname_form.html")]
struct HostnameForm<'a> {
    t: Locale,
    look: &'a Look<'a>,
    name: &'a str,
    params: &'a [(String, String)],
    id: &'a str,
    /// The placeholder ([`example_hostname`]).
    example: String,
    /// The server field's `maxlength`.
    hostname_max: usize,
    hostname: Option<&'a str>,
    error: Option<FormError<'a>>,
    /// The error's `data-error`, for the tests.
    error_name: &'a str,
    popup_path: &'a str,
}

impl HostnameForm<'_> {
    /// The error about `field`, if any.
    fn error_at(&self, field: &str) -> Option<&str> {
        error_at(self.error, field)
    }

    /// The opening sentence, around the app's name.
    fn asks(&self) -> Around {
        asks(self.t, "hostname-asks", self.name)
    }

    /// The hostname field's hint.
    fn hostname_hint(&self) -> String {
        hostname_hint(self.t, self.name, &self.example)
    }
}

/// The form for an API-key or basic service: the key, or a user name and password (and the
/// server's hostname for a per-server entry), posted to this server only; with `error` (status
/// 400) when the last one was refused. `filled` holds the app's defaults or what was typed
/// (the server, the user name, never a secret); the entry's help and documentation link say
/// where to find the credential.
pub fn credentials_form(
    app: &App,
    params: &[(String, String)],
    filled: &Prefill,
    service: &Service,
    entry: &Entry,
    error: Option<FormError<'_>>,
) -> Response {
    let look = Look::of(app);
    let form = CredentialsForm {
        t: Locale::for_params(params),
        look: &look,
        name: &service.name,
        params,
        id: &service.id,
        pattern: entry.hostname_pattern.as_deref(),
        example: entry.hostname_pattern.as_deref().map(example_hostname).unwrap_or_default(),
        hostname_max: if entry.server_path { MAX_SERVER_PATH } else { MAX_HOSTNAME },
        basic: matches!(entry.kind, Kind::Basic | Kind::Password),
        traded: entry.kind == Kind::Password,
        labels: entry.labels.as_ref(),
        region: entry.needs_region().then(|| filled.region.as_deref().unwrap_or("")),
        help: entry.help.as_deref(),
        docs: Some(entry.docs.as_str()).filter(|docs| !docs.is_empty()),
        hostname: filled.hostname.as_deref(),
        username: filled.username.as_deref(),
        error,
        error_name: "credentials",
        popup_path: POPUP_PATH,
    };
    form_page(form.render(), &service.name, params, error.is_some(), &look)
}

/// [`credentials_form`]'s body (`templates/credentials_form.html`).
#[derive(Template)]
#[template(path = "credentials_form.html")]
struct CredentialsForm<'a> {
    t: Locale,
    look: &'a Look<'a>,
    name: &'a str,
    params: &'a [(String, String)],
    id: &'a str,
    pattern: Option<&'a str>,
    /// The hostname placeholder ([`example_hostname`]).
    example: String,
    /// The server field's `maxlength`: a server with its path is longer than a host name.
    hostname_max: usize,
    basic: bool,
    /// A password entry's: the password is traded for a token, not kept.
    traded: bool,
    /// What the entry calls the user name and password, if not that.
    labels: Option<&'a FormLabels>,
    /// A regional entry's region field: what was typed or filled in (empty: nothing).
    region: Option<&'a str>,
    /// The entry's help text.
    help: Option<&'a str>,
    /// Where the provider documents the credential.
    docs: Option<&'a str>,
    hostname: Option<&'a str>,
    username: Option<&'a str>,
    error: Option<FormError<'a>>,
    /// The errors' `data-error`, for the tests.
    error_name: &'a str,
    popup_path: &'a str,
}

impl CredentialsForm<'_> {
    /// The error about `field`, if any.
    fn error_at(&self, field: &str) -> Option<&str> {
        error_at(self.error, field)
    }

    /// The opening sentence, around the app's name.
    fn asks(&self) -> Around {
        let key = if self.traded { "credentials-asks-traded" } else { "credentials-asks" };
        asks(self.t, key, self.name)
    }

    /// The hostname field's hint.
    fn hostname_hint(&self) -> String {
        hostname_hint(self.t, self.name, &self.example)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn example_hostnames_fill_the_pattern() {
        assert_eq!(super::example_hostname("*.service-now.com"), "example.service-now.com");
        assert_eq!(super::example_hostname("127.0.0.1:*"), "127.0.0.1:443");
        assert_eq!(super::example_hostname("*.my.a.test *.b.test"), "example.my.a.test", "the first one");
    }
}
