//! The events' API, with the app's API key: `GET /v1/events?after=ID` (the app's events after
//! that one, oldest first, kept [`super::KEPT_MS`]), `POST /v1/events/{id}/redeliver` (sends it
//! again) and `GET /v1/webhook/deliveries` (the last attempts). Another app's events are 404 as
//! if they did not exist.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Caller, StrictQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kloudless_protocol::codes;
use serde_json::{Value, json};
use std::sync::Arc;

/// The events or deliveries per page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: i64 = 100;
/// The largest `page_size`.
pub const MAX_PAGE_SIZE: i64 = 1000;

const APP_ONLY: AppError =
    AppError::fixed(StatusCode::FORBIDDEN, "forbidden", "Events are read with the app's API key.");
const NO_EVENT: AppError = AppError::fixed(StatusCode::NOT_FOUND, codes::NOT_FOUND, "No such event.");
const BAD_QUERY: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "Give at most after (an event id) and page_size (a number from 1 to 1000).",
);

/// The app calling, by its API key.
fn app_of(caller: Caller) -> Result<String, AppError> {
    match caller {
        Caller::App { client_id } => Ok(client_id),
        Caller::Account(_) => Err(APP_ONLY),
    }
}

/// `after` (default 0) and `page_size` (1 to [`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`])
/// from the query string, nothing else, none twice; `after` only where `cursor` allows it.
fn paging(query: Result<StrictQuery, AppError>, cursor: bool) -> Result<(i64, i64), AppError> {
    let params = query.and_then(StrictQuery::once_each).map_err(|_| BAD_QUERY)?;
    let (mut after, mut size) = (0, DEFAULT_PAGE_SIZE);
    for (name, value) in &params {
        let value = value.parse::<i64>().map_err(|_| BAD_QUERY)?;
        match name.as_str() {
            "after" if cursor => after = value,
            "page_size" => size = value,
            _ => return Err(BAD_QUERY),
        }
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(BAD_QUERY);
    }
    Ok((after, size))
}

/// `GET /v1/events?after=ID&page_size=N`: the app's events after `after`, oldest first, and the
/// `cursor` to ask for the next ones with (the last id given, or `after` when none).
pub async fn list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    query: Result<StrictQuery, AppError>,
) -> Result<Json<Value>, AppError> {
    let client_id = app_of(caller)?;
    let (after, size) = paging(query, true)?;
    let events = app.store.app_events(&client_id, after, size).await?;
    let cursor = events.last().map_or(after, |event| event.id);
    let objects = events
        .iter()
        .map(|event| super::event_json(&app.config.services, event))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| AppError::Server(format!("an unreadable event: {error}").into()))?;
    Ok(Json(json!({ "objects": objects, "count": objects.len(), "cursor": cursor })))
}

/// `POST /v1/events/{id}/redeliver`: sends the app's event `id` again, from its first attempt
/// (202), whatever became of it.
pub async fn redeliver(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let client_id = app_of(caller)?;
    let id = id.parse::<i64>().map_err(|_| NO_EVENT)?;
    if !app.store.redeliver(&client_id, id).await? {
        return Err(NO_EVENT);
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id, "state": "pending" }))))
}

/// `GET /v1/webhook/deliveries?page_size=N`: the app's last attempts, the latest first.
pub async fn deliveries(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    query: Result<StrictQuery, AppError>,
) -> Result<Json<Value>, AppError> {
    let client_id = app_of(caller)?;
    let (_, size) = paging(query, false)?;
    let objects: Vec<Value> = app
        .store
        .deliveries(&client_id, size)
        .await?
        .into_iter()
        .map(|delivery| {
            json!({
                "id": delivery.id,
                "event_id": delivery.event_id,
                "type": delivery.kind,
                "attempted": crate::clock::rfc3339(delivery.attempted),
                "status": delivery.status,
                "error": delivery.error,
            })
        })
        .collect();
    Ok(Json(json!({ "objects": objects })))
}
