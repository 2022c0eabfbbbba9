//! The account API for an app's backend over real HTTP: the app's API key sees (in pages) and
//! disconnects that app's accounts only, a bearer token its own account only, another app's key
//! or a wrong one nothing; a disconnected account leaves no row behind (read in the database).

mod common;

use authenticator_server::store::{Store, UpstreamAccount};
use common::{Reply, TestServer};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const KEY_A: &str = "key-of-app-a-0123456789abcdef";
const KEY_B: &str = "key-of-app-b-0123456789abcdef";

/// The server and its database, opened a second time.
struct Running {
    server: TestServer,
    store: Store,
}

async fn start() -> Running {
    let toml = format!(
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY_A}\"\n\
         [[apps]]\nclient_id = \"b\"\ntrusted_domains = [\"localhost:3001\"]\napi_key = \"{KEY_B}\"\n\
         [[apps]]\nclient_id = \"c\"\ntrusted_domains = [\"localhost:3002\"]\n"
    );
    let server = TestServer::start(&toml).await;
    let store = Store::open(server.database()).await.unwrap();
    Running { server, store }
}

async fn call(running: &Running, method: &str, path: &str, auth: &str) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let reply = Reply::of(running.server.request(method, path).header("Authorization", auth)).await;
    (reply.status, reply.json_or_null())
}

fn ids(list: &Value) -> Vec<i64> {
    list["objects"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn an_api_key_lists_its_own_apps_accounts_in_pages_and_a_token_only_its_account() {
    let running = start().await;
    let mut mine = Vec::new();
    for name in ["ann", "bob", "cy"] {
        mine.push(
            running
                .store
                .connect("box:normal.storage", "a", "box", name, false, Default::default())
                .await
                .unwrap(),
        );
    }
    let (theirs, _) = running
        .store
        .connect("box:normal.storage", "b", "box", "ann", false, Default::default())
        .await
        .unwrap();
    let key_a = format!("APIKey {KEY_A}");

    let (status, first) = call(&running, "GET", "/v1/accounts/?page_size=2", &key_a).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(ids(&first), [mine[0].0, mine[1].0]);
    assert_eq!(
        (first["total"].as_i64(), first["count"].as_i64(), first["next_page"].as_i64()),
        (Some(3), Some(2), Some(2))
    );
    assert_eq!(first["objects"][0]["account"], "ann");
    let (_, second) = call(&running, "GET", "/v1/accounts/?page_size=2&page=2", &key_a).await;
    assert_eq!(ids(&second), [mine[2].0]);
    assert_eq!(second["next_page"], Value::Null);

    let (_, b_list) = call(&running, "GET", "/v1/accounts", &format!("apikey {KEY_B}")).await;
    assert_eq!(ids(&b_list), [theirs], "another app's key sees that app's accounts only");

    let (_, by_token) = call(&running, "GET", "/v1/accounts/", &format!("Bearer {}", mine[1].1)).await;
    assert_eq!((ids(&by_token), by_token["total"].as_i64()), (vec![mine[1].0], Some(1)));

    for bad in ["APIKey wrong-key-0123456789abcdefgh", "APIKey ", "Bearer not-a-token", "", "Basic eDp5"] {
        let (status, body) = call(&running, "GET", "/v1/accounts/", bad).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")), "{bad:?}");
    }
    for bad in ["page=0", "page_size=1001", "page=x", "page=1&page=2", "colour=red"] {
        let (status, _) = call(&running, "GET", &format!("/v1/accounts/?{bad}"), &key_a).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn an_app_never_sees_another_apps_account_and_a_token_only_its_own() {
    let running = start().await;
    let (mine, my_token) = running
        .store
        .connect("box:normal.storage", "a", "box", "ann", true, Default::default())
        .await
        .unwrap();
    let (other, _) = running
        .store
        .connect("box:normal.storage", "a", "box", "bob", false, Default::default())
        .await
        .unwrap();
    let (theirs, _) = running
        .store
        .connect("box:normal.storage", "b", "box", "ann", false, Default::default())
        .await
        .unwrap();
    let key_a = format!("APIKey {KEY_A}");

    let (status, account) = call(&running, "GET", &format!("/v1/accounts/{mine}/"), &key_a).await;
    assert_eq!((status, account["id"].as_i64(), account["admin"].as_bool()), (200, Some(mine), Some(true)));
    let (status, _) = call(&running, "GET", &format!("/v1/accounts/{theirs}/"), &key_a).await;
    assert_eq!(status, 404, "another app's account is not found");
    let (status, _) = call(&running, "DELETE", &format!("/v1/accounts/{theirs}/"), &key_a).await;
    assert_eq!(status, 404);
    let (status, _) = call(&running, "GET", "/v1/accounts/me/", &key_a).await;
    assert_eq!(status, 404, "an app has no `me`");

    let bearer = format!("Bearer {my_token}");
    let (status, _) = call(&running, "GET", &format!("/v1/accounts/{other}/"), &bearer).await;
    assert_eq!(status, 403, "a token sees its own account only");
    let (status, _) = call(&running, "DELETE", &format!("/v1/accounts/{other}/"), &bearer).await;
    assert_eq!(status, 403);
    let (status, me) = call(&running, "GET", "/v1/accounts/me/", &bearer).await;
    assert_eq!((status, me["id"].as_i64()), (200, Some(mine)));
    assert_eq!(running.store.app_accounts("b", 10, 0).await.unwrap().0, 1, "nothing of b's deleted");
    assert_eq!(running.store.app_accounts("a", 10, 0).await.unwrap().0, 2);
}

#[tokio::test]
async fn deleting_an_account_removes_its_tokens_and_sealed_secrets() {
    let running = start().await;
    let sealed = b"SEALED-UPSTREAM-MARKER".as_slice();
    let upstream = |client_id, subject| UpstreamAccount {
        client_id,
        service: "acme",
        subject,
        login: "ann@x.test",
        admin: false,
        sealed,
        app: Default::default(),
        refreshable: true,
    };
    let (gone, token) =
        running.store.connect_upstream("acme:normal.storage", upstream("a", "u1")).await.unwrap();
    let (kept, kept_token) =
        running.store.connect_upstream("acme:normal.storage", upstream("b", "u1")).await.unwrap();
    let rows = |table: &str, tables: &[(String, Vec<String>)]| {
        tables.iter().find(|(name, _)| name == table).map_or(0, |(_, rows)| rows.len())
    };
    let before = common::tables(running.server.database()).await;
    assert_eq!(["accounts", "tokens", "upstream_credentials"].map(|t| rows(t, &before)), [2, 2, 2]);

    let (status, _) =
        call(&running, "DELETE", &format!("/v1/accounts/{gone}/"), &format!("APIKey {KEY_A}")).await;
    assert_eq!(status, 204);
    let after = common::tables(running.server.database()).await;
    assert_eq!(["accounts", "tokens", "upstream_credentials"].map(|t| rows(t, &after)), [1, 1, 1]);
    let text = format!("{after:?}");
    assert!(!text.contains(&token[..16]) && !text.contains(&authenticator_server_hash(&token)));
    assert!(running.store.account(gone).await.unwrap().is_none());
    assert!(running.store.upstream_credentials(gone).await.unwrap().is_none(), "its sealed secrets are gone");
    assert!(running.store.upstream_credentials(kept).await.unwrap().is_some(), "b's are kept");
    assert!(running.store.grant(&kept_token).await.unwrap().is_some());

    let (status, _) =
        call(&running, "DELETE", &format!("/v1/accounts/{gone}/"), &format!("APIKey {KEY_A}")).await;
    assert_eq!(status, 404, "deleted once");
    let (status, _) = call(&running, "GET", "/v1/accounts/me/", &format!("Bearer {token}")).await;
    assert_eq!(status, 401, "the account's tokens no longer work");

    let (status, _) =
        call(&running, "DELETE", &format!("/v1/accounts/{kept}/"), &format!("Bearer {kept_token}")).await;
    assert_eq!(status, 204, "a token may disconnect its own account");
    assert_eq!(running.store.app_accounts("b", 10, 0).await.unwrap().0, 0);
}

/// The SHA-256 of a token, hex: what the database keeps of it.
fn authenticator_server_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// What a revocation endpoint was sent: the `Authorization` header, if any, and the body.
type Revocations = std::sync::Arc<std::sync::Mutex<Vec<(Option<String>, String)>>>;

/// A provider's revocation endpoint that records what it is sent (`fail`: it answers 503).
async fn revocation_endpoint(fail: bool) -> (String, Revocations) {
    use axum::http::StatusCode;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let router = axum::Router::new().route(
        "/revoke",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| async move {
            let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned());
            recorded.lock().unwrap().push((auth, body));
            if fail { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/revoke", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

/// A server whose app `a` has the OAuth provider `acme` revoking at `revocation_url`, and an
/// `acme` account of app `a` with the given upstream tokens ([`common::acme`]).
async fn start_with_upstream_account(revocation_url: &str, refresh: Option<&str>) -> (Running, i64) {
    let endpoints = format!(
        "authorization_url = \"http://127.0.0.1:1/auth\"\ntoken_url = \"http://127.0.0.1:1/token\"\n\
         identity_url = \"http://127.0.0.1:1/me\"\nrevocation_url = \"{revocation_url}\""
    );
    let tokens = authenticator_server::providers::client::Tokens {
        access_token: "UPSTREAM-ACCESS-1".to_owned(),
        refresh_token: refresh.map(str::to_owned),
        expires_at: None,
        scope: None,
        hostname: None,
        instance_url: None,
        site: None,
    };
    let acme = common::acme::start("", &endpoints, &tokens).await;
    let running = Running { server: acme.server, store: acme.store };
    (running, acme.account)
}

#[tokio::test]
async fn disconnecting_revokes_the_upstream_grant_where_the_provider_can() {
    let (url, seen) = revocation_endpoint(false).await;
    let (running, id) = start_with_upstream_account(&url, Some("UPSTREAM-REFRESH-1")).await;
    let (status, _) =
        call(&running, "DELETE", &format!("/v1/accounts/{id}/"), &format!("APIKey {KEY_A}")).await;
    assert_eq!(status, 204);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(seen[0].1.as_bytes()).into_owned().collect();
    assert_eq!(form["token"], "UPSTREAM-REFRESH-1", "the refresh token: the whole grant");
    assert_eq!(form["token_type_hint"], "refresh_token");
    // Our client authenticated as at the token endpoint: HTTP Basic, the default.
    assert_eq!(seen[0].0.as_deref(), Some("Basic b3VyLWFwcDpzM2NyM3QtdmFsdWU="), "our-app:s3cr3t-value");
    assert!(!form.contains_key("client_secret"), "{form:?}");
    assert!(running.store.upstream_credentials(id).await.unwrap().is_none());
    let left: Vec<_> = common::tables(running.server.database())
        .await
        .into_iter()
        .filter(|(table, rows)| {
            ["accounts", "tokens", "upstream_credentials"].contains(&table.as_str()) && !rows.is_empty()
        })
        .collect();
    assert_eq!(left, [], "no row of the account left");
}

#[tokio::test]
async fn an_account_without_a_refresh_token_has_its_access_token_revoked_and_a_failing_provider_does_not_keep_it()
 {
    let (url, seen) = revocation_endpoint(true).await;
    let (running, id) = start_with_upstream_account(&url, None).await;
    let (status, _) =
        call(&running, "DELETE", &format!("/v1/accounts/{id}/"), &format!("APIKey {KEY_A}")).await;
    assert_eq!(status, 204, "disconnected even though the provider refused");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].1.contains("token=UPSTREAM-ACCESS-1") && seen[0].1.contains("token_type_hint=access_token")
    );
    assert!(running.store.account(id).await.unwrap().is_none());
    assert!(running.store.upstream_credentials(id).await.unwrap().is_none());
}

/// The replies the Kloudless SDKs read have Kloudless v1's shapes: a list page's keys, exactly;
/// an account's documented fields with their JSON types, the same by API key, in a list and by
/// bearer token as `me`; the token check's `{account_id, client_id, scope}`; and an error's
/// `{error, error_description}` with Kloudless's `error_code`, `message` and `status_code`.
#[tokio::test]
async fn replies_have_the_kloudless_v1_shapes() {
    let running = start().await;
    let (id, token) = running
        .store
        .connect("box:normal.storage", "a", "box", "ann", true, Default::default())
        .await
        .unwrap();
    let key_a = format!("APIKey {KEY_A}");
    let bearer = format!("Bearer {token}");
    let keys = |value: &Value| value.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect::<BTreeSet<_>>();

    let (status, page) = call(&running, "GET", "/v1/accounts/", &key_a).await;
    assert_eq!(status, 200, "{page}");
    let documented = ["api", "count", "next_page", "objects", "page", "page_size", "total", "type"];
    assert_eq!(keys(&page), names(&documented));
    assert_eq!((page["type"].as_str(), page["api"].as_str()), (Some("object_list"), Some("meta")));
    assert_eq!(
        (page["page"].as_i64(), page["count"].as_i64(), page["total"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(page["next_page"], Value::Null);

    let (_, by_key) = call(&running, "GET", &format!("/v1/accounts/{id}/"), &key_a).await;
    let (_, me) = call(&running, "GET", "/v1/accounts/me/?retrieve_full=False", &bearer).await;
    assert_eq!(page["objects"][0], by_key);
    assert_eq!(me, by_key);
    assert_eq!(by_key["id"].as_i64(), Some(id));
    assert_eq!((by_key["account"].as_str(), by_key["service"].as_str()), (Some("ann"), Some("box")));
    assert!(by_key["service_name"].as_str().is_some_and(|name| !name.is_empty()), "{by_key}");
    assert_eq!((by_key["admin"].as_bool(), by_key["active"].as_bool()), (Some(true), Some(true)));
    for time in ["created", "modified"] {
        let stamp = by_key[time].as_str().unwrap_or_default();
        assert!(stamp.len() >= 20 && stamp.ends_with('Z'), "{time}: an ISO 8601 time in UTC, {by_key}");
    }

    let (status, verified) = call(&running, "GET", "/v1/oauth/token/", &bearer).await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(keys(&verified), names(&["account_id", "client_id", "scope"]));
    assert_eq!((verified["account_id"].as_i64(), verified["client_id"].as_str()), (Some(id), Some("a")));

    for (path, auth, status, code) in [
        ("/v1/accounts/9999/", key_a.as_str(), 404, "not_found"),
        ("/v1/accounts/", "Bearer not-a-token", 401, "invalid_token"),
        ("/v1/accounts/?page=0", key_a.as_str(), 400, "invalid_request"),
    ] {
        let (got, error) = call(&running, "GET", path, auth).await;
        assert_eq!(got, status, "{path}: {error}");
        let description = error["error_description"].as_str().unwrap_or_default();
        assert!(!description.is_empty(), "{error}");
        let expected = json!({
            "error": code,
            "error_description": description,
            "error_code": code,
            "message": description,
            "status_code": status,
        });
        assert_eq!(error, expected, "{path}");
    }
}
