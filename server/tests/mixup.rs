//! IdP mix-up over real HTTP (issue 20, finding 2): each provider has its own redirect URI,
//! `{public_url}/v1/oauth/callback/{provider}`, sent to it and used again for the code exchange;
//! a state that comes back on another provider's path (or on the bare path shared before) is
//! refused and used up, with no token request anywhere; a state made before the upgrade comes
//! back on the bare path only. The upstreams here are a small local token endpoint that records
//! what it is sent; e2e/mixup.test.mjs plays the whole attack against npm oidc-provider.

mod common;

use authenticator_server::secrets::{KeySource, SecretKey};
use authenticator_server::store::{Database, Store};
use common::{Reply, TestServer};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const PUBLIC: &str = "https://auth.example.test";
/// The binding cookie of the browser every request comes from (the public URL is https).
const BROWSER: &str =
    "__Host-kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HEX: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

/// Every token request an upstream received, as its form's pairs.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A token endpoint at `/{name}/token` for each of two providers, recording each request
/// (`which`, form) and refusing every code with `invalid_grant`.
async fn recording_upstream() -> (SocketAddr, Seen) {
    use axum::routing::post;
    let seen = Seen::default();
    let record = seen.clone();
    let token = move |body: String| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(form_urlencoded::parse(body.as_bytes()).into_owned().collect());
            let refusal =
                serde_json::json!({ "error": "invalid_grant", "error_description": "never issued" });
            (axum::http::StatusCode::BAD_REQUEST, axum::Json(refusal))
        }
    };
    let router = axum::Router::new().route("/{name}/token", post(token));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, seen)
}

/// The server, and what its upstream was sent.
struct Running {
    server: TestServer,
    seen: Seen,
}

/// A server with app `app` and two OAuth 2.0 providers, `acme` and `other`, both at the
/// recording upstream.
async fn start() -> Running {
    let (upstream, seen) = recording_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("secret.key");
    std::fs::write(&key, HEX).unwrap();
    let provider = |id: &str| {
        format!(
            "[[providers]]\nid = \"{id}\"\nkind = \"oauth2\"\nname = \"{id}\"\ncategory = \"storage\"\n\
             client_id = \"our-app\"\nclient_secret = \"s3cr3t-value\"\n\
             authorization_url = \"http://{upstream}/{id}/auth\"\ntoken_url = \"http://{upstream}/{id}/token\"\n\
             identity_url = \"http://{upstream}/{id}/me\"\n"
        )
    };
    let toml = format!(
        "public_url = \"{PUBLIC}\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n{}{}",
        provider("acme"),
        provider("other")
    );
    let server = TestServer::with(&toml)
        .in_dir(dir)
        .browser(BROWSER)
        .tune(move |config| config.secret_key = KeySource::File(key))
        .start()
        .await;
    Running { server, seen }
}

/// The pop-up request's parameters for `scope`.
fn request(scope: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", "app"),
        ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
        ("response_type", "token"),
        ("state", "page-state"),
        ("request_id", "req1"),
        ("origin", "http://localhost:3000"),
        ("scope", scope),
    ]
}

/// A GET in one browser (its binding cookie): status, body and `Location`.
async fn get(server: &TestServer, path_and_query: &str) -> (u16, String, Option<String>) {
    let reply = Reply::of(server.get(path_and_query)).await;
    (reply.status, reply.body.clone(), reply.location())
}

/// Starts a flow for `scope`; gives the authorization URL's parameters.
async fn started(running: &Running, scope: &str) -> std::collections::HashMap<String, String> {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(request(scope)).finish();
    let (status, page, location) = get(&running.server, &format!("/v1/oauth?{query}")).await;
    assert_eq!(status, 302, "{page}");
    url::Url::parse(&location.unwrap()).unwrap().query_pairs().into_owned().collect()
}

fn token_requests(running: &Running) -> Vec<Vec<(String, String)>> {
    running.seen.lock().unwrap().clone()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn each_provider_has_its_own_redirect_uri_and_the_code_is_exchanged_with_it() {
    let running = start().await;
    for provider in ["acme", "other"] {
        let query = started(&running, provider).await;
        let own = format!("{PUBLIC}/v1/oauth/callback/{provider}");
        assert_eq!(query["redirect_uri"], own);
        let (status, page, _) =
            get(&running.server, &format!("/v1/oauth/callback/{provider}?state={}&code=c1", query["state"]))
                .await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("invalid_grant") && page.contains("page-state"),
            "the upstream's refusal: {page}"
        );
        let sent = token_requests(&running).pop().unwrap();
        assert_eq!(field(&sent, "redirect_uri"), Some(own.as_str()), "the exchange names the same URI");
        assert_eq!(field(&sent, "code"), Some("c1"));
    }
}

#[tokio::test]
async fn a_state_back_on_another_providers_path_or_the_bare_one_is_refused_and_used_up() {
    let running = start().await;
    for wrong in ["/v1/oauth/callback/other", "/v1/oauth/callback", "/v1/oauth/callback/nothing"] {
        let state = started(&running, "acme").await["state"].clone();
        let (status, page, _) = get(&running.server, &format!("{wrong}?state={state}&code=stolen")).await;
        assert_eq!(status, 400, "{wrong}: {page}");
        assert!(page.contains("came back from another service"), "{wrong}: {page}");
        assert!(!page.contains("kloudless-result"), "{wrong}: nothing is sent to the app");
        // Used up: not even its own provider's path takes it now.
        let (status, page, _) =
            get(&running.server, &format!("/v1/oauth/callback/acme?state={state}&code=c")).await;
        assert_eq!(status, 400, "{wrong}: {page}");
        assert!(page.contains("unknown, expired or already finished"), "{wrong}: {page}");
    }
    assert_eq!(token_requests(&running), Vec::<Vec<(String, String)>>::new(), "no code went anywhere");
    let left = common::row_counts(running.server.database()).await;
    assert!(left.contains(&("upstream_states".to_owned(), 0)), "{left:?}");
}

/// Stores, as a server before per-provider redirect URIs did, a pending `acme` request for
/// `state` (sealed with the server's key, without a redirect URI).
async fn legacy_state(database: &Database, state: &str) {
    let hash = hex::encode(Sha256::digest(state.as_bytes()));
    let pending =
        serde_json::json!({ "service": "acme", "params": request("acme"), "verifier": "v".repeat(43) });
    let sealed =
        SecretKey::from_hex(HEX).unwrap().seal(pending.to_string().as_bytes(), hash.as_bytes()).unwrap();
    let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(600);
    let expires = expires.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let store = Store::open(database).await.unwrap();
    let at = authenticator_server::store::PendingAt { service: "acme", browser: None };
    store.put_upstream_state(&hash, at, &sealed, expires).await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn a_state_made_before_the_upgrade_is_refused_on_every_path() {
    let running = start().await;
    for (path, state) in [("/v1/oauth/callback/acme", "legacy-one"), ("/v1/oauth/callback", "legacy-two")] {
        legacy_state(running.server.database(), state).await;
        let (status, page, _) = get(&running.server, &format!("{path}?state={state}&code=c")).await;
        assert_eq!(status, 400, "{path}: {page}");
        assert!(page.contains("started before this server was upgraded"), "{path}: {page}");
        assert!(!page.contains("kloudless-result"), "{path}: nothing is sent to the app");
    }
    assert!(token_requests(&running).is_empty(), "no code went anywhere");
}
