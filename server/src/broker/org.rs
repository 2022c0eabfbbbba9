//! The pop-up's check of an organisation-wide service ([`crate::providers::org`]): the
//! domain and the admin's address typed, checked to agree, then proven by minting the admin's
//! token. A refusal is the form again with the provider's error code (400), nothing stored; a
//! success stores the tenant's admin account and ends the flow as any connect does.
//!
//! A consent-flow provider (Microsoft 365, [`crate::providers::org::microsoft`]) asks only the
//! tenant, then sends the admin to the provider's admin-consent page with a single-use state
//! kept as for any upstream sign-in ([`super::keep_pending`]); its answer comes back to the
//! provider's callback ([`consented`]), which proves the consent by minting the tenant's token
//! and reading the tenant (its id and verified domains) before storing the account.
//!
//! Box ([`crate::providers::org::box_enterprise`]) asks only the enterprise id, proven by
//! minting the enterprise's token.

use super::{Pending, answered_error, keep_pending, save_account};
use crate::AppState;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::pages;
use crate::pages::forms::{Field, FormError};
use crate::pages::org_form::OrgTyped;
use crate::popup::flow::{NOT_STARTED, deliver};
use crate::popup::request::AuthRequest;
use crate::providers::client::{Identity, UpstreamError};
use crate::providers::org::box_enterprise;
use crate::providers::org::microsoft::{self, Organization};
use crate::providers::org::{OrgGrant, OrgProvider, domain_of, is_domain};
use crate::providers::services::Allowed;
use axum::response::Response;
use kloudless_protocol::OAuthResult;

/// `GET /v1/oauth` for an organisation-wide service: the form, empty.
pub fn form(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    org: &OrgProvider,
) -> Result<Response, AppError> {
    let app_config = app.config.app(&request.client_id).ok_or(AppError::Server(NOT_STARTED.into()))?;
    Ok(pages::org_form(app_config, &request.params, &OrgTyped::default(), &chosen.service, org, None))
}

/// `POST /v1/oauth` with `action=connect` for an organisation-wide service: see the module's
/// documentation.
pub async fn check(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    org: &OrgProvider,
    params: &[(String, String)],
) -> Result<Response, AppError> {
    let app_config = app.config.app(&request.client_id).ok_or(AppError::Server(NOT_STARTED.into()))?;
    let typed = |key: &str| {
        let value = params.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_ascii_lowercase());
        value.filter(|value| !value.is_empty() && value.len() <= 320)
    };
    let filled = OrgTyped { domain: typed("domain"), admin: typed("admin_email") };
    let refused = |field: Field, message: &str| {
        let error = Some(FormError { field, message });
        Ok(pages::org_form(app_config, &request.params, &filled, &chosen.service, org, error))
    };
    let domain = filled.domain.clone().unwrap_or_default();
    if org.credential.consents() {
        let tenant = typed("tenant").unwrap_or_default();
        if !microsoft::is_tenant(&tenant) {
            let filled = OrgTyped { domain: Some(tenant), admin: None };
            let message = Locale::for_params(&request.params).text("org-error-tenant");
            let error = Some(FormError { field: Field::Domain, message: &message });
            return Ok(pages::org_form(app_config, &request.params, &filled, &chosen.service, org, error));
        }
        return to_consent(app, request, chosen, org, &tenant).await;
    }
    if org.credential.enterprise() {
        return enterprise(app, request, chosen, org, typed("enterprise_id").unwrap_or_default()).await;
    }
    if !is_domain(&domain) {
        return refused(Field::Domain, "Give your organisation's domain name, such as example.com.");
    }
    let admin = filled.admin.clone().unwrap_or_default();
    if domain_of(&admin) != Some(domain.as_str()) {
        return refused(Field::Admin, &format!("Give your own administrator address at {domain}."));
    }
    if let Err(error) = org.mint(&app.http, &admin).await {
        let message =
            format!("{} refused the check ({}): {}", chosen.service.name, error.code, error.description);
        return refused(Field::Form, &message);
    }
    let grant = OrgGrant { domain: domain.clone(), admin, verified_domains: Vec::new() };
    store(app, request, chosen, &grant, domain).await
}

/// Stores the checked tenant's admin account (`grant` sealed; subject and login: the tenant
/// as `login` names it) and ends the flow as any connect does.
async fn store(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    grant: &OrgGrant,
    login: String,
) -> Result<Response, AppError> {
    let plain = serde_json::to_vec(grant).map_err(|_| AppError::Server(NOT_STARTED.into()))?;
    let identity = Identity { subject: grant.domain.clone(), login, name: None };
    // The account is the tenant's: an admin account, whatever the scope asked.
    let admin_choice = Allowed { service: chosen.service.clone(), admin: true, upstream_scopes: None };
    let saved = save_account(app, request, &admin_choice, None, &identity, &plain, false).await;
    let connected = saved.map_err(|error| AppError::Server(error.description.into()))?;
    Ok(deliver(app, request, &connected).await)
}

/// Box's check: the typed enterprise id proven by minting the enterprise's token (its Service
/// Account's), then the enterprise's admin account stored (subject and login: the id).
async fn enterprise(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    org: &OrgProvider,
    id: String,
) -> Result<Response, AppError> {
    let app_config = app.config.app(&request.client_id).ok_or(AppError::Server(NOT_STARTED.into()))?;
    let filled = OrgTyped { domain: Some(id.clone()), admin: None };
    let refused = |field: Field, message: &str| {
        let error = Some(FormError { field, message });
        Ok(pages::org_form(app_config, &request.params, &filled, &chosen.service, org, error))
    };
    if !box_enterprise::is_id(&id) {
        let message = Locale::for_params(&request.params).text("org-error-enterprise");
        return refused(Field::Domain, &message);
    }
    let grant = OrgGrant { domain: id.clone(), admin: String::new(), verified_domains: Vec::new() };
    if let Err(error) = org.mint(&app.http, &org.minted_for(&grant, None)).await {
        let message =
            format!("{} refused the check ({}): {}", chosen.service.name, error.code, error.description);
        return refused(Field::Form, &message);
    }
    store(app, request, chosen, &grant, id).await
}

/// Sends the admin to `org`'s admin-consent page for `tenant` (checked), by the hand-off page:
/// our client id, the entry's scopes (`/.default`), the provider's redirect URI and a new state
/// (the typed tenant kept with it).
async fn to_consent(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    org: &OrgProvider,
    tenant: &str,
) -> Result<Response, AppError> {
    let consent = org.entry.authorization_url.as_deref().ok_or(AppError::Server(NOT_STARTED.into()))?;
    let mut url = url::Url::parse(&microsoft::for_tenant(consent, tenant))
        .map_err(|_| AppError::Server(NOT_STARTED.into()))?;
    let (state, pending) = keep_pending(app, request, chosen, None, Some(tenant)).await?;
    url.query_pairs_mut()
        .append_pair("client_id", org.credential.client_id())
        .append_pair("scope", &org.entry.scopes.join(" "))
        .append_pair("redirect_uri", pending.redirect_uri.as_deref().unwrap_or_default())
        .append_pair("state", &state);
    Ok(pages::handoff(&chosen.service.name, url.as_str()))
}

/// The admin-consent page's answer (`value`) to the flow `pending` kept: its error, or
/// `admin_consent=True` with the `tenant` id, proven by minting the tenant's token and reading
/// the tenant, which must be the one the admin typed; then the tenant's admin account stored
/// (subject: the tenant id; login: its default domain).
pub(super) async fn consented<'p>(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    org: &OrgProvider,
    pending: &Pending,
    value: impl Fn(&str) -> Option<&'p str>,
) -> Result<OAuthResult, UpstreamError> {
    if let Some(error) = answered_error(&value) {
        return Err(error);
    }
    if !value("admin_consent").is_some_and(|consent| consent.eq_ignore_ascii_case("true")) {
        return Err(UpstreamError::new("access_denied", "The administrator did not grant consent."));
    }
    let tenant = value("tenant").map(str::to_ascii_lowercase).filter(|tenant| microsoft::is_guid(tenant));
    let tenant =
        tenant.ok_or_else(|| UpstreamError::new("invalid_request", "The answer names no tenant id."))?;
    let tokens = org.mint(&app.http, &tenant).await?;
    let api_base = org.entry.api_base.as_deref().unwrap_or_default();
    let url = format!("{api_base}/v1.0/organization");
    let organization =
        Organization::read(&app.http.get_json(&url, &tokens.access_token, "organization").await?)?;
    let typed = pending.hostname.as_deref().unwrap_or_default();
    if organization.id != tenant || !organization.is(typed) {
        return Err(UpstreamError::new(
            "invalid_request",
            format!("The consent was given for another organisation than {typed}."),
        ));
    }
    let login = organization.verified_domains.first().cloned().unwrap_or_else(|| tenant.clone());
    let grant = OrgGrant {
        domain: tenant.clone(),
        admin: String::new(),
        verified_domains: organization.verified_domains,
    };
    let plain = serde_json::to_vec(&grant).unwrap_or_default();
    let identity = Identity { subject: tenant, login, name: organization.name };
    let admin_choice = Allowed { service: chosen.service.clone(), admin: true, upstream_scopes: None };
    save_account(app, request, &admin_choice, None, &identity, &plain, false).await
}
