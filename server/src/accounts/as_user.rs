//! Acting as a user of an organisation-wide account's tenant ([`crate::providers::org`]): the
//! raw API's `X-Kloudless-As-User` names the user (an address of the tenant; without it, the
//! admin who connected the account). The user's access token is minted by the server and
//! cached sealed per (account, user), never returned by the raw API; only
//! `GET …/credentials/?as_user=` returns one, to an app with `allow_credentials`.
//!
//! Single flight, as for refreshes ([`super::refresh`]): callers for one user queue on an
//! in-process lock; across instances, the one minting holds a lease taken by compare-and-swap
//! on the row's version ([`crate::store::Store::claim_org_mint`]) and the others poll until the
//! token is saved. A token due within [`super::refresh::MARGIN`], or just refused by the API
//! (401), is minted again. A token endpoint refusing our client (`unauthorized_client`: the
//! tenant removed the delegation) makes the account inactive with that reason; a user the
//! provider does not know (`invalid_grant`) is a 403 for that call only.
//!
//! Box's are the user's (a Box user id; whether it is the enterprise's, Box checks when
//! minting: `invalid_grant` is a 403) or the enterprise's, keyed apart
//! ([`crate::providers::org::box_enterprise::Subject::key`]).
//!
//! Microsoft 365's tokens are the tenant's: one is cached per account (keyed by the tenant id)
//! and every user shares it; acting as a user (one of the tenant's verified domains) rewrites
//! the raw path under `/{version}/me` to that user's ([`path`]).

use crate::AppState;
use crate::accounts::refresh::{LEASE, POLL, due, fresh_tokens};
use crate::clock::now_millis;
use crate::error::AppError;
use crate::providers::client::{Tokens, UpstreamError};
use crate::providers::org::{OrgCredential, OrgGrant, OrgProvider, microsoft};
use crate::providers::services::{self, Connect};
use crate::store::Account;
use axum::http::{HeaderMap, StatusCode};
use kloudless_protocol::codes;
use std::borrow::Cow;

/// The header naming the user to act as.
pub const AS_USER: &str = "x-kloudless-as-user";

const NOT_ORG: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "X-Kloudless-As-User is only for organisation-wide accounts.",
);
const BAD_USER: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "X-Kloudless-As-User must be one address.",
);
const OUTSIDE: AppError = AppError::fixed(
    StatusCode::FORBIDDEN,
    "forbidden",
    "The user is not a user of this account's organisation.",
);
const UNREADABLE: AppError = AppError::Server(Cow::Borrowed("The account's grant could not be read."));
const BUSY: AppError =
    AppError::Server(Cow::Borrowed("The user's token is being minted elsewhere for too long."));

/// The organisation-wide provider of `account`, if it is of one.
pub fn provider<'a>(app: &'a AppState, account: &Account) -> Option<&'a OrgProvider> {
    match &services::find(&app.config.services, &account.service)?.connect {
        Connect::Org(org) => Some(org.as_ref()),
        _ => None,
    }
}

/// The user named by `X-Kloudless-As-User`, if any ([`user`]); the header twice is refused.
pub fn named(headers: &HeaderMap, org: bool) -> Result<Option<String>, AppError> {
    let mut values = headers.get_all(AS_USER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(BAD_USER);
    }
    user(value.to_str().map_err(|_| BAD_USER)?, org).map(Some)
}

/// The user `text` names (trimmed, lower case): refused when the account is not
/// organisation-wide (`org` is `false`) or it is empty or too long for an address.
pub fn user(text: &str, org: bool) -> Result<String, AppError> {
    if !org {
        return Err(NOT_ORG);
    }
    let user = text.trim().to_ascii_lowercase();
    if user.is_empty() || user.len() > 320 {
        return Err(BAD_USER);
    }
    Ok(user)
}

const NOT_UNDER_ME: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "With X-Kloudless-As-User, a Microsoft 365 raw path is under /{version}/me/ (such as \
     /v1.0/me/drive/root), which is the user's.",
);

/// The raw `path` to call as `user` under `org`'s account: Microsoft 365's `/{version}/me…`
/// rewritten to that user's ([`microsoft::as_user_path`]; another path is refused then),
/// anything else as given (a Google user's token is the user's own).
pub fn path<'a>(
    org: Option<&OrgProvider>,
    path: &'a str,
    user: Option<&str>,
) -> Result<Cow<'a, str>, AppError> {
    match (org.map(|org| &org.credential), user) {
        (Some(OrgCredential::Microsoft(_)), Some(user)) => {
            microsoft::as_user_path(path, user).map(Cow::Owned).ok_or(NOT_UNDER_ME)
        }
        _ => Ok(Cow::Borrowed(path)),
    }
}

/// The access token to call with: the account's own ([`fresh_tokens`]), or for an
/// organisation-wide account (`org`), that of the user acted as ([`user_tokens`]);
/// `stale` is one the API just refused.
pub async fn tokens(
    app: &AppState,
    account: &Account,
    org: Option<&OrgProvider>,
    user: Option<&str>,
    stale: Option<&str>,
) -> Result<Tokens, AppError> {
    match org {
        Some(org) => user_tokens(app, account, org, user, stale).await,
        None => Ok(fresh_tokens(app, account, stale).await?),
    }
}

/// The sealing owner of the account's secrets (its grant; with `\n` and a user, that user's token).
fn owner(account: &Account, subject: &str) -> String {
    crate::secrets::account_owner(&account.client_id, &account.service, subject)
}

/// The account's grant, opened; refused when the account is inactive.
pub async fn grant(app: &AppState, account: &Account) -> Result<(OrgGrant, String), AppError> {
    let subject = app.store.account_subject(account.id).await?.ok_or(UNREADABLE)?;
    let stored = app.store.stored_tokens(account.id).await?.ok_or(UNREADABLE)?;
    if let Some(reason) = stored.inactive_reason {
        return Err(AppError::Inactive(reason));
    }
    let plain =
        app.secrets.open(&stored.sealed, owner(account, &subject).as_bytes()).map_err(|_| UNREADABLE)?;
    let grant = serde_json::from_slice(&plain).map_err(|_| UNREADABLE)?;
    Ok((grant, subject))
}

/// The access token of `user` (default: the admin) under the organisation-wide `account` of
/// `provider`: the cached one unless it is due or is `stale` (just refused), else a new one
/// (see the module's documentation).
pub async fn user_tokens(
    app: &AppState,
    account: &Account,
    provider: &OrgProvider,
    user: Option<&str>,
    stale: Option<&str>,
) -> Result<Tokens, AppError> {
    let (grant, subject) = grant(app, account).await?;
    if user.is_some_and(|user| !provider.holds(&grant, user)) {
        return Err(OUTSIDE);
    }
    let user = provider.minted_for(&grant, user);
    let owner = format!("{}\n{user}", owner(account, &subject));
    let lock = app.org_locks.of((account.id, user.clone()));
    let _one_at_a_time = lock.lock().await;
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    let deadline = now_millis() + 2 * lease_ms;
    loop {
        let row = app.store.org_user_token(account.id, &user).await?;
        let version = row.as_ref().map_or(0, |row| row.version);
        let now = now_millis();
        if let Some(sealed) = row.and_then(|row| row.sealed) {
            let plain = app.secrets.open(&sealed, owner.as_bytes()).map_err(|_| UNREADABLE)?;
            let tokens: Tokens = serde_json::from_slice(&plain).map_err(|_| UNREADABLE)?;
            if !due(&tokens, now) && stale != Some(tokens.access_token.as_str()) {
                return Ok(tokens);
            }
        }
        if !app.store.claim_org_mint(account.id, &user, version, now, now + lease_ms).await? {
            if now > deadline {
                return Err(BUSY);
            }
            tokio::time::sleep(POLL).await;
            continue;
        }
        let tokens = match provider.mint(&app.http, &user).await {
            Ok(tokens) => tokens,
            Err(error) => {
                app.store.release_org_mint(account.id, &user).await?;
                return Err(refused(app, account, provider, &user, error).await);
            }
        };
        let plain = serde_json::to_vec(&tokens).map_err(|_| UNREADABLE)?;
        let sealed = app.secrets.seal(&plain, owner.as_bytes()).map_err(|_| UNREADABLE)?;
        if app.store.save_org_token(account.id, &user, version, &sealed).await? {
            return Ok(tokens);
        }
        // Our lease ran out and another instance saved first: use what it saved.
    }
}

/// The API error for a mint for `subject` the token endpoint refused with `error`; one meaning
/// the tenant took its authorization back ([`OrgProvider::revoked`]) makes the account
/// inactive first.
async fn refused(
    app: &AppState,
    account: &Account,
    provider: &OrgProvider,
    subject: &str,
    error: UpstreamError,
) -> AppError {
    if provider.revoked(&error, subject) {
        let reason = format!("{}: {}", error.code, error.description);
        return match app.store.deactivate(account.id, &reason).await {
            Ok(()) => AppError::Inactive(reason),
            Err(source) => AppError::Storage { source, page: "" },
        };
    }
    match error.code.as_str() {
        "invalid_grant" => AppError::Refused {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: format!("The service refused to act as this user: {}", error.description).into(),
        },
        _ => error.into(),
    }
}
