//! The pop-up's check of an organisation-wide service ([`crate::providers::org`]): the
//! domain and the admin's address typed, checked to agree, then proven by minting the admin's
//! token. A refusal is the form again with the provider's error code (400), nothing stored; a
//! success stores the tenant's admin account and ends the flow as any connect does.

use super::save_account;
use crate::AppState;
use crate::error::AppError;
use crate::pages;
use crate::pages::forms::{Field, FormError};
use crate::pages::org_form::OrgTyped;
use crate::popup::flow::{NOT_STARTED, deliver};
use crate::popup::request::AuthRequest;
use crate::providers::client::Identity;
use crate::providers::org::{OrgGrant, OrgProvider, domain_of, is_domain};
use crate::providers::services::Allowed;
use axum::response::Response;

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
    let grant = OrgGrant { domain: domain.clone(), admin };
    let plain = serde_json::to_vec(&grant).map_err(|_| AppError::Server(NOT_STARTED.into()))?;
    let identity = Identity { subject: domain.clone(), login: domain, name: None };
    // The account is the tenant's: an admin account, whatever the scope asked.
    let admin_choice = Allowed { service: chosen.service.clone(), admin: true, upstream_scopes: None };
    let saved = save_account(app, request, &admin_choice, None, &identity, &plain, false).await;
    let connected = saved.map_err(|error| AppError::Server(error.description.into()))?;
    Ok(deliver(app, request, &connected).await)
}
