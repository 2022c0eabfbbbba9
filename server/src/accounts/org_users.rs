//! `GET /v1/accounts/{id}/users`: the users of an organisation-wide account's tenant
//! ([`crate::providers::org`]), so that an app can find whom to act as
//! (`X-Kloudless-As-User`). Authorized as the account API is ([`api::find_account`]).
//!
//! Paged as Kloudless's cursor lists are: `page_size` (1 to [`MAX_PAGE_SIZE`], default
//! [`DEFAULT_PAGE_SIZE`]) users per page, and `next_page` — to pass back as `page` — while
//! there are more. The cursor is opaque: the provider's own page token (Google's
//! `nextPageToken`, Graph's `$skiptoken`), base64url-encoded. The server builds every page's URL
//! itself on the entry's API base, the token only a query value, so no cursor can send it to
//! another host or path. Read with the admin's (Google) or the tenant's (Microsoft) token,
//! minted again once if the provider refuses it.

use super::api::find_account;
use super::as_user;
use crate::AppState;
use crate::error::AppError;
use crate::extract::{Caller, StrictQuery};
use crate::providers::client::INVALID_TOKEN;
use crate::providers::org::MAX_PAGE_TOKEN;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kloudless_protocol::codes;
use serde_json::{Value, json};
use std::sync::Arc;

/// The number of users per page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The largest `page_size` (Google Directory's largest `maxResults`).
pub const MAX_PAGE_SIZE: u32 = 500;

const BAD_QUERY: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "Give at most page (a next_page this listing gave) and page_size (a number from 1 to 500), once each.",
);
const NOT_ORG: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "Only an organisation-wide account lists the users of its organisation.",
);
const NO_API: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "The service has no API configured to list users with.",
);

/// `GET /v1/accounts/{id}/users`: see the module's documentation.
pub async fn list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<StrictQuery, AppError>,
) -> Result<Json<Value>, AppError> {
    let (cursor, size) = params(query)?;
    let account = find_account(&app, &caller, &id).await?;
    let org = as_user::provider(&app, &account).ok_or(NOT_ORG)?;
    let (grant, _) = as_user::grant(&app, &account).await?;
    let after = cursor.as_deref().map(decode).transpose()?;
    let url = org.users_url(&grant, size, after.as_deref()).ok_or(NO_API)?;
    let tokens = as_user::tokens(&app, &account, Some(org), None, None).await?;
    let what = "users list";
    let reply = match app.http.get_json(&url, &tokens.access_token, what).await {
        Err(error) if error.code == INVALID_TOKEN => {
            let stale = Some(tokens.access_token.as_str());
            let tokens = as_user::tokens(&app, &account, Some(org), None, stale).await?;
            app.http.get_json(&url, &tokens.access_token, what).await?
        }
        reply => reply?,
    };
    let page = org.users_page(&reply)?;
    Ok(Json(json!({
        "count": page.users.len(),
        "page": cursor,
        "page_size": size,
        "next_page": page.next.as_deref().map(encode),
        "objects": page.users,
        "type": "object_list",
        "api": "meta",
    })))
}

/// `page` (a cursor, if any) and `page_size` from the query string; nothing else, none twice.
fn params(query: Result<StrictQuery, AppError>) -> Result<(Option<String>, u32), AppError> {
    let params = query.and_then(StrictQuery::once_each).map_err(|_| BAD_QUERY)?;
    let (mut cursor, mut size) = (None, DEFAULT_PAGE_SIZE);
    for (name, value) in params {
        match name.as_str() {
            "page" => cursor = Some(value),
            "page_size" => {
                size = value.parse().ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or(BAD_QUERY)?
            }
            _ => return Err(BAD_QUERY),
        }
    }
    Ok((cursor, size))
}

/// The cursor of the provider's page token `token`.
fn encode(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(token.as_bytes())
}

/// The provider's page token in `cursor`; refused when it is not one [`encode`] can give.
fn decode(cursor: &str) -> Result<String, AppError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).map_err(|_| BAD_QUERY)?;
    let token = String::from_utf8(bytes).map_err(|_| BAD_QUERY)?;
    if token.is_empty() || token.len() > MAX_PAGE_TOKEN || token.chars().any(char::is_control) {
        return Err(BAD_QUERY);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        let token = "https://evil.test/?a=b&c";
        assert_eq!(decode(&encode(token)).unwrap(), token, "a token is a value, whatever it holds");
        for bad in ["", "not base64!", "AA", &URL_SAFE_NO_PAD.encode("a\nb"), &"QUFB".repeat(1000)] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
