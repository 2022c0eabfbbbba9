//! Strict extractors, whose rejections are [`AppError`]s: the query string ([`StrictQuery`]) and
//! the form body ([`StrictForm`]) read by [`crate::params`] (too long, or not UTF-8 once
//! decoded, is refused with a clear error rather than guessed at), the bearer token
//! ([`Bearer`]) and the caller of the account API ([`Caller`]: an app by its API key, or an
//! account by its token).
//!
//! A handler that must answer a rejection in its own way (with CORS, or another error) takes
//! `Result<Extractor, AppError>`.

use crate::AppState;
use crate::error::{AppError, Input, Unreadable};
use crate::params;
use crate::store::Grant;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use kloudless_protocol::codes;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The query string's parameters, in order (a name may be given more than once: see
/// [`StrictQuery::once_each`]).
#[derive(Clone, Debug, PartialEq)]
pub struct StrictQuery(pub Vec<(String, String)>);

const QUERY_REPEATED: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "A query parameter is given more than once.",
);

impl StrictQuery {
    /// The parameters, refused when a name is given more than once.
    pub fn once_each(self) -> Result<Vec<(String, String)>, AppError> {
        match params::repeated(&self.0) {
            Some(_) => Err(QUERY_REPEATED),
            None => Ok(self.0),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for StrictQuery {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<StrictQuery, AppError> {
        let query = parts.uri.query().unwrap_or("");
        params::parse(query.as_bytes())
            .map(StrictQuery)
            .map_err(|bad| AppError::Unreadable { input: Input::Query, why: Unreadable::Params(bad) })
    }
}

/// The form body's (`application/x-www-form-urlencoded`) parameters, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct StrictForm(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for StrictForm {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<StrictForm, AppError> {
        let unreadable = |why| AppError::Unreadable { input: Input::Form, why };
        let body =
            Bytes::from_request(request, state).await.map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => unreadable(Unreadable::Params(params::BadParams::TooLong)),
                _ => unreadable(Unreadable::Body),
            })?;
        params::parse(&body).map(StrictForm).map_err(|bad| unreadable(Unreadable::Params(bad)))
    }
}

/// The refusal of a request without a valid bearer token.
pub const INVALID_TOKEN: AppError =
    AppError::fixed(StatusCode::UNAUTHORIZED, codes::INVALID_TOKEN, "A valid bearer token is required.");
const TWO_AUTHORIZATIONS: AppError =
    AppError::fixed(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "Give one Authorization header only.");
const INVALID_CREDENTIALS: AppError = AppError::fixed(
    StatusCode::UNAUTHORIZED,
    codes::INVALID_TOKEN,
    "Authorization: APIKey <the app's API key> or Bearer <an account's token> is required.",
);

/// The token in the request's one `Authorization: Bearer <token>` header.
#[derive(Clone, Debug, PartialEq)]
pub struct Bearer(pub String);

impl Bearer {
    /// The bearer token of `headers`: refused when there are two `Authorization` headers, or
    /// none with a bearer token.
    pub fn from_headers(headers: &HeaderMap) -> Result<Bearer, AppError> {
        one_authorization(headers)?;
        bearer_token(headers).map(|token| Bearer(token.to_owned())).ok_or(INVALID_TOKEN)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Bearer, AppError> {
        Bearer::from_headers(&parts.headers)
    }
}

/// The token in `Authorization: Bearer <token>` (the scheme is case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Refuses a request with more than one `Authorization` header (which one would count is
/// ambiguous).
fn one_authorization(headers: &HeaderMap) -> Result<(), AppError> {
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(TWO_AUTHORIZATIONS);
    }
    Ok(())
}

/// Who is calling the account API.
#[derive(Clone, Debug, PartialEq)]
pub enum Caller {
    /// An app's backend, by its API key: all of that app's accounts.
    App {
        /// The app.
        client_id: String,
    },
    /// A bearer token of ours: its own account only.
    Account(Grant),
}

impl Caller {
    /// The caller `headers` authenticate: an app by `Authorization: APIKey <key>`, else an
    /// account by its bearer token.
    pub async fn from_headers(app: &AppState, headers: &HeaderMap) -> Result<Caller, AppError> {
        one_authorization(headers)?;
        if is_api_key(headers) {
            let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
            let key = value.split_once(' ').map_or("", |(_, key)| key.trim());
            return match app_by_key(&app.config, key) {
                Some(client_id) if !key.is_empty() => Ok(Caller::App { client_id: client_id.to_owned() }),
                _ => Err(INVALID_CREDENTIALS),
            };
        }
        let token = bearer_token(headers).ok_or(INVALID_CREDENTIALS)?;
        let grant = app.store.grant(token).await?;
        grant.map(Caller::Account).ok_or(INVALID_CREDENTIALS)
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Caller, AppError> {
        Caller::from_headers(app, &parts.headers).await
    }
}

/// Whether the request's `Authorization` uses the `APIKey` scheme.
pub fn is_api_key(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("apikey"))
}

/// The app whose API key is `key`. Keys are compared by their SHA-256 hashes, so the time taken
/// says nothing about how much of a key was right.
fn app_by_key<'c>(config: &'c crate::config::Config, key: &str) -> Option<&'c str> {
    let wanted = Sha256::digest(key.as_bytes());
    config
        .apps
        .iter()
        .find(|app| app.api_key.as_ref().is_some_and(|k| Sha256::digest(k.expose().as_bytes()) == wanted))
        .map(|app| app.client_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::HeaderValue;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    fn auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_bearer_tokens_only() {
        assert_eq!(bearer_token(&auth("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&auth("bearer  abc ")), Some("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer ", "abc", "Bearerabc"] {
            assert_eq!(bearer_token(&auth(bad)), None, "{bad}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    /// A router echoing what each extractor read, with the body limit of the server.
    fn router() -> Router {
        Router::new()
            .route("/query", get(async |StrictQuery(query): StrictQuery| format!("{query:?}")))
            .route("/once", get(async |query: StrictQuery| query.once_each().map(|q| format!("{q:?}"))))
            .route("/form", post(async |StrictForm(form): StrictForm| format!("{form:?}")))
            .route("/bearer", get(async |Bearer(token): Bearer| token))
            .layer(axum::extract::DefaultBodyLimit::max(params::MAX_LEN))
    }

    /// The status and body of `request`, sent to [`router`] without a socket.
    async fn send(request: Request) -> (StatusCode, String) {
        let response = router().oneshot(request).await.unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn get_(uri: &str) -> Request {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    /// What an extractor's refusal answers: `status` and the JSON error body with `description`.
    fn refusal(status: StatusCode, description: &str) -> (StatusCode, String) {
        let code = if status == StatusCode::UNAUTHORIZED { "invalid_token" } else { "invalid_request" };
        // In the order the server writes the fields (serde_json's `json!` would sort them).
        let (code, description) = (serde_json::json!(code), serde_json::json!(description));
        let status_code = status.as_u16();
        let body = format!(
            r#"{{"error":{code},"error_description":{description},"error_code":{code},"message":{description},"status_code":{status_code}}}"#
        );
        (status, body)
    }

    #[tokio::test]
    async fn strict_query_refuses_what_it_cannot_read() {
        assert_eq!(
            send(get_("/query?a=1+2&b=%C3%A9")).await,
            (StatusCode::OK, r#"[("a", "1 2"), ("b", "é")]"#.into())
        );
        let long = format!("/query?a={}", "x".repeat(params::MAX_LEN));
        assert_eq!(
            send(get_(&long)).await,
            refusal(StatusCode::URI_TOO_LONG, "The query string is too long.")
        );
        assert_eq!(
            send(get_("/query?a=%FF")).await,
            refusal(StatusCode::BAD_REQUEST, "The query string is not valid UTF-8.")
        );
        assert_eq!(
            send(get_("/once?a=1&a=2")).await,
            refusal(StatusCode::BAD_REQUEST, "A query parameter is given more than once.")
        );
    }

    #[tokio::test]
    async fn strict_form_refuses_what_it_cannot_read() {
        let form = |body: Vec<u8>| Request::post("/form").body(Body::from(body)).unwrap();
        assert_eq!(
            send(form(b"a=1&b=".to_vec())).await,
            (StatusCode::OK, r#"[("a", "1"), ("b", "")]"#.into())
        );
        assert_eq!(
            send(form(vec![b'a'; params::MAX_LEN + 1])).await,
            refusal(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.")
        );
        assert_eq!(
            send(form(b"a=%C3%28".to_vec())).await,
            refusal(StatusCode::BAD_REQUEST, "The request body is not valid UTF-8.")
        );
    }

    #[tokio::test]
    async fn bearer_wants_one_bearer_authorization() {
        let with = |values: &[&str]| {
            let mut request = get_("/bearer");
            for value in values {
                request.headers_mut().append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            }
            request
        };
        assert_eq!(send(with(&["Bearer abc"])).await, (StatusCode::OK, "abc".into()));
        let refused = refusal(StatusCode::UNAUTHORIZED, "A valid bearer token is required.");
        assert_eq!(send(with(&[])).await, refused);
        assert_eq!(send(with(&["Basic abc"])).await, refused);
        assert_eq!(
            send(with(&["Bearer a", "Bearer b"])).await,
            refusal(StatusCode::BAD_REQUEST, "Give one Authorization header only.")
        );
    }

    /// The server's state for `toml`'s apps, on a fresh database (and the folder holding it).
    async fn state(toml: &str) -> (tempfile::TempDir, Arc<AppState>) {
        let (dir, store) = crate::store::testing::store().await;
        let listen = "127.0.0.1:0".parse().unwrap();
        let config = crate::config::Config::from_toml(toml, listen, "db".into()).unwrap();
        let state = AppState {
            progress: crate::popup::progress::Progress::new(config.popup.flows.clone(), store.clone()),
            http: crate::providers::client::Http::new(std::time::Duration::from_secs(1), false).unwrap(),
            secrets: crate::secrets::SecretKey::from_hex(&"0".repeat(64)).unwrap(),
            public_url: "http://127.0.0.1".to_owned(),
            refresh_locks: Default::default(),
            org_locks: Default::default(),
            config,
            store,
        };
        (dir, Arc::new(state))
    }

    #[tokio::test]
    async fn caller_is_an_app_by_its_key_or_an_account_by_its_token() {
        const KEY: &str = "k1-0123456789abcdefghijklmn";
        let apps = format!(
            "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n"
        );
        let (_dir, state) = state(&apps).await;
        let (id, token) = state
            .store
            .connect("box:normal.storage", "app", "box", "ann", false, Default::default())
            .await
            .unwrap();
        let router = Router::new()
            .route(
                "/",
                get(async |caller: Caller| match caller {
                    Caller::App { client_id } => format!("app {client_id}"),
                    Caller::Account(grant) => format!("account {}", grant.account_id),
                }),
            )
            .with_state(state);
        let send = async |values: &[&str]| {
            let mut request = get_("/");
            for value in values {
                request.headers_mut().append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            }
            let response = router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        };
        assert_eq!(send(&[&format!("APIKey {KEY}")]).await, (StatusCode::OK, "app app".into()));
        assert_eq!(send(&[&format!("Bearer {token}")]).await, (StatusCode::OK, format!("account {id}")));
        let refused = refusal(
            StatusCode::UNAUTHORIZED,
            "Authorization: APIKey <the app's API key> or Bearer <an account's token> is required.",
        );
        let basic = format!("Basic {KEY}");
        for bad in [&["APIKey k2"][..], &["APIKey "], &["Bearer nope"], &[&basic], &[]] {
            assert_eq!(send(bad).await, refused, "{bad:?}");
        }
        assert_eq!(
            send(&[&format!("APIKey {KEY}"), &format!("APIKey {KEY}")]).await,
            refusal(StatusCode::BAD_REQUEST, "Give one Authorization header only.")
        );
    }
}
