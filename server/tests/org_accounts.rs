//! Organisation-wide accounts (issue 25), Google Workspace domain-wide delegation over real
//! HTTP: a local token endpoint verifies each RFC 7523 assertion with the service account's
//! public key (signature, `kid`, `iss`, `sub`, `aud`, `scope`, `iat`/`exp` at most one hour
//! apart) and refuses users it does not know; the tenant's admin connects through the pop-up's
//! form; raw calls act as users of the tenant, each with its own token, minted once however
//! many calls wait for it. Runs on SQLite, or on PostgreSQL when `KLOUDLESS_TEST_DATABASE`
//! names one. The key pair in `tests/fixtures/` is a throw-away made for these tests only.

mod common;

use authenticator_server::testing::rehost::rehost;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use common::{Reply, TestServer};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PUBLIC: &str = "https://auth.example.test";
const KEY: &str = "key-of-app-a-0123456789abcdef";
/// The binding cookie of the browser every pop-up request comes from.
const BROWSER: &str =
    "__Host-kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PRIVATE_KEY: &str = include_str!("fixtures/org_test_key.pem");
const PUBLIC_KEY: &str = include_str!("fixtures/org_test_key.pub.pem");
const CLIENT_EMAIL: &str = "sync@our-project.iam.gserviceaccount.test";
const CLIENT_ID: &str = "109876543210987654321";
const KEY_ID: &str = "0123abcd";
const SCOPES: &str = "https://www.googleapis.com/auth/drive https://www.googleapis.com/auth/calendar \
                      https://www.googleapis.com/auth/gmail.modify \
                      https://www.googleapis.com/auth/admin.directory.user.readonly";

/// The local token endpoint and API: who it knows, what it was asked.
#[derive(Default)]
struct Google {
    /// The token endpoint's URL: the audience the assertions must name.
    token_url: Mutex<String>,
    /// The users of the tenant it issues tokens for.
    users: BTreeSet<String>,
    /// Token requests per `sub`, verified or not.
    minted: Mutex<HashMap<String, usize>>,
    /// Whether the delegation has been removed (every assertion: `unauthorized_client`).
    revoked: Mutex<bool>,
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
    scope: String,
    iat: u64,
    exp: u64,
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(json!({ "error": code, "error_description": description }))).into_response()
}

/// `POST /token`: the JWT bearer grant, as Google's token endpoint answers it.
async fn token(State(google): State<Arc<Google>>, body: String) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Invalid grant_type");
    }
    let assertion = form.get("assertion").cloned().unwrap_or_default();
    let header = jsonwebtoken::decode_header(&assertion);
    if header.ok().and_then(|h| h.kid).as_deref() != Some(KEY_ID) {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid JWT: no kid of this key");
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[google.token_url.lock().unwrap().clone()]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    let claims = match jsonwebtoken::decode::<Claims>(&assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_grant", &format!("Invalid JWT: {e}")),
    };
    let count = {
        let mut minted = google.minted.lock().unwrap();
        let count = minted.entry(claims.sub.clone()).or_default();
        *count += 1;
        *count
    };
    if claims.scope != SCOPES {
        return error(StatusCode::BAD_REQUEST, "invalid_scope", "Unexpected scopes");
    }
    if claims.exp <= claims.iat || claims.exp - claims.iat > 3600 {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid JWT: exp more than 1 h after iat");
    }
    if *google.revoked.lock().unwrap() {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method.",
        );
    }
    if !google.users.contains(&claims.sub) {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid email or User ID");
    }
    // Slow enough for concurrent callers to pile up behind one mint.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Json(json!({ "access_token": format!("at-{}-{count}", claims.sub), "expires_in": 3599, "token_type": "Bearer" }))
        .into_response()
}

/// `GET /admin/directory/v1/users`: the Directory API's users of `domain`, `maxResults` per
/// page, paged by `pageToken`; the admin's token only (a user's is refused as Google does).
async fn directory(State(google): State<Arc<Google>>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !token.starts_with("Bearer at-root@acme.test-") {
        return error(StatusCode::FORBIDDEN, "forbidden", "Not Authorized to access this resource/api");
    }
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    if query.get("domain").map(String::as_str) != Some("acme.test") {
        return error(StatusCode::BAD_REQUEST, "invalid", "Bad domain");
    }
    let size: usize = query.get("maxResults").and_then(|n| n.parse().ok()).unwrap_or(100);
    let skip: usize =
        query.get("pageToken").map_or(0, |t| t.trim_start_matches("tok").parse().unwrap_or(usize::MAX));
    let all: Vec<&String> = google.users.iter().collect();
    let users: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(size)
        .map(|email| {
            json!({ "id": format!("id-{email}"), "primaryEmail": email,
            "name": { "fullName": email.split('@').next() }, "suspended": email.starts_with("bob") })
        })
        .collect();
    let mut page = json!({ "kind": "admin#directory#users", "users": users });
    if skip.saturating_add(size) < all.len() {
        page["nextPageToken"] = json!(format!("tok{}", skip + size));
    }
    Json(page).into_response()
}

/// Any other path: the API, answering with the token it was called with.
async fn api(headers: HeaderMap) -> Json<Value> {
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    Json(json!({ "called_with": token.trim_start_matches("Bearer ") }))
}

/// The token endpoint knowing `users`, at its base URL.
async fn google(users: &[&str]) -> (Arc<Google>, String) {
    let google =
        Arc::new(Google { users: users.iter().map(|u| u.to_string()).collect(), ..Google::default() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *google.token_url.lock().unwrap() = format!("{base}/token");
    let router = Router::new()
        .route("/token", post(token))
        .route("/admin/directory/v1/users", axum::routing::get(directory))
        .fallback(api)
        .with_state(google.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (google, base)
}

/// The service account's JSON key file, as Google's console gives it.
fn key_file(dir: &std::path::Path) -> std::path::PathBuf {
    let key = json!({
        "type": "service_account",
        "project_id": "our-project",
        "private_key_id": KEY_ID,
        "private_key": PRIVATE_KEY,
        "client_email": CLIENT_EMAIL,
        "client_id": CLIENT_ID,
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    let path = dir.join("service-account.json");
    std::fs::write(&path, serde_json::to_string_pretty(&key).unwrap()).unwrap();
    path
}

/// A server with app `a` and Google Workspace enabled with the key, re-hosted on `base`.
async fn server(base: &str) -> (TestServer, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let toml = format!(
        "public_url = \"{PUBLIC}\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n\
         allow_credentials = true\n[[providers]]\nid = \"google_workspace\"\nkey_file = \"{}\"\n",
        key_file(keys.path()).display()
    );
    let base = base.to_owned();
    let server = TestServer::with(&toml)
        .browser(BROWSER)
        .tune(move |config| rehost(config, "google_workspace", &base).unwrap())
        .start()
        .await;
    (server, keys)
}

/// The pop-up's form posted with `domain` and `admin`: the reply.
async fn check(server: &TestServer, domain: &str, admin: &str) -> Reply {
    let extra =
        [("service", "google_workspace"), ("action", "connect"), ("domain", domain), ("admin_email", admin)];
    let body = common::popup_query("a", "http://localhost:3000", "google_workspace", &extra);
    let request = server.post("/v1/oauth").header("content-type", "application/x-www-form-urlencoded");
    Reply::of(request.body(body)).await
}

/// The app's accounts.
async fn accounts(server: &TestServer) -> Value {
    Reply::of(server.get("/v1/accounts/").header("Authorization", format!("APIKey {KEY}"))).await.json()
}

/// A raw call of `account` as `user` (none: the admin).
async fn raw_as(server: &TestServer, account: i64, user: Option<&str>) -> Reply {
    let mut request = server
        .get(&format!("/v1/accounts/{account}/raw"))
        .header("Authorization", format!("APIKey {KEY}"))
        .header("X-Kloudless-Raw-URI", "/drive/v3/about");
    if let Some(user) = user {
        request = request.header("X-Kloudless-As-User", user);
    }
    Reply::of(request).await
}

fn minted(google: &Google, sub: &str) -> usize {
    google.minted.lock().unwrap().get(sub).copied().unwrap_or(0)
}

#[tokio::test]
async fn the_admin_connects_the_domain_through_the_popup_and_bad_input_stores_nothing() {
    let (google, base) = google(&["root@acme.test", "ann@acme.test"]).await;
    let (server, _keys) = server(&base).await;

    let form = Reply::of(server.get(&format!(
        "/v1/oauth?{}",
        common::popup_query("a", "http://localhost:3000", "google_workspace", &[])
    )))
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains(&format!("<code data-field=\"client-id\">{CLIENT_ID}</code>")),
        "{}",
        form.body
    );
    let scopes = format!("<code data-field=\"scopes\">{}</code>", SCOPES.replace(' ', ","));
    assert!(form.body.contains(&scopes), "the exact scopes, as the Admin console takes them: {}", form.body);
    assert!(form.body.contains("Manage Domain Wide Delegation"));

    let mismatch = check(&server, "acme.test", "root@evil.test").await;
    assert_eq!(mismatch.status, 400);
    assert!(mismatch.body.contains("administrator address at acme.test"), "{}", mismatch.body);
    for control in ["name=\"domain\"", "name=\"admin_email\""] {
        assert_eq!(
            mismatch.body.matches(control).count(),
            1,
            "typed once, never carried as hidden: {control}"
        );
    }
    let not_a_domain = check(&server, "acme", "root@acme").await;
    assert_eq!(not_a_domain.status, 400);
    let refused = check(&server, "acme.test", "nobody@acme.test").await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("invalid_grant"), "the provider's code on the page: {}", refused.body);
    assert_eq!(accounts(&server).await["total"], 0, "nothing stored");
    assert_eq!(minted(&google, "root@evil.test"), 0, "a mismatch is refused before any call");

    let connected = check(&server, "ACME.test", "Root@acme.test").await;
    assert_eq!(connected.status, 200, "{}", connected.body);
    assert!(connected.body.contains("\"access_token\":\""), "{}", connected.body);
    let listed = accounts(&server).await;
    assert_eq!(listed["total"], 1);
    let account = &listed["objects"][0];
    assert_eq!((account["account"].as_str(), account["admin"].as_bool()), (Some("acme.test"), Some(true)));
    assert_eq!(account["service"], "google_workspace");
    assert_eq!(minted(&google, "root@acme.test"), 1);
}

#[tokio::test]
async fn raw_calls_act_as_each_user_of_the_domain_with_one_mint_each() {
    let users = ["root@acme.test", "ann@acme.test", "bob@acme.test", "carol@acme.test"];
    let (google, base) = google(&users).await;
    let (server, _keys) = server(&base).await;
    assert_eq!(check(&server, "acme.test", "root@acme.test").await.status, 200);
    let account = accounts(&server).await["objects"][0]["id"].as_i64().unwrap();

    let as_admin = raw_as(&server, account, None).await;
    assert_eq!(as_admin.status, 200, "{}", as_admin.body);
    assert_eq!(as_admin.json()["called_with"], "at-root@acme.test-2", "the admin, minted again for the API");
    let ann = raw_as(&server, account, Some("ann@acme.test")).await.json();
    let bob = raw_as(&server, account, Some("Bob@Acme.test")).await.json();
    assert_eq!(ann["called_with"], "at-ann@acme.test-1");
    assert_eq!(bob["called_with"], "at-bob@acme.test-1");
    let again = raw_as(&server, account, Some("ann@acme.test")).await.json();
    assert_eq!(again["called_with"], "at-ann@acme.test-1", "reused, not minted again");
    assert_eq!((minted(&google, "ann@acme.test"), minted(&google, "bob@acme.test")), (1, 1));

    let calls = (0..20).map(|_| raw_as(&server, account, Some("carol@acme.test")));
    let replies = futures_util::future::join_all(calls).await;
    assert!(replies.iter().all(|r| r.status == 200 && r.json()["called_with"] == "at-carol@acme.test-1"));
    assert_eq!(minted(&google, "carol@acme.test"), 1, "20 concurrent calls, one token request");

    let outside = raw_as(&server, account, Some("eve@evil.test")).await;
    assert_eq!(outside.status, 403, "{}", outside.body);
    assert_eq!(minted(&google, "eve@evil.test"), 0, "refused before any call");
    let unknown = raw_as(&server, account, Some("ghost@acme.test")).await;
    assert_eq!(unknown.status, 403, "{}", unknown.body);
    assert_eq!(accounts(&server).await["objects"][0]["active"], true, "an unknown user is that call's only");

    *google.revoked.lock().unwrap() = true;
    let revoked = raw_as(&server, account, Some("dave@acme.test")).await;
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    assert_eq!(revoked.json()["error"], "account_inactive");
    let shown = &accounts(&server).await["objects"][0];
    assert_eq!(shown["active"], false);
    assert!(shown["inactive_reason"].as_str().unwrap().starts_with("unauthorized_client"), "{shown}");
    let after = raw_as(&server, account, Some("ann@acme.test")).await;
    assert_eq!(after.status, 401, "an inactive account acts as nobody, cached tokens included");
}

#[tokio::test]
async fn a_users_token_is_sealed_at_rest_and_returned_only_by_credentials_as_user() {
    let (_google, base) = google(&["root@acme.test", "ann@acme.test"]).await;
    let (server, _keys) = server(&base).await;
    assert_eq!(check(&server, "acme.test", "root@acme.test").await.status, 200);
    let account = accounts(&server).await["objects"][0]["id"].as_i64().unwrap();
    assert_eq!(raw_as(&server, account, None).await.json()["called_with"], "at-root@acme.test-2");
    let everything = common::everything(server.database()).await;
    assert!(!everything.contains("at-root@acme.test"), "tokens are sealed at rest");
    let twice = server
        .get(&format!("/v1/accounts/{account}/raw"))
        .header("Authorization", format!("APIKey {KEY}"))
        .header("X-Kloudless-Raw-URI", "/x")
        .header("X-Kloudless-As-User", "root@acme.test")
        .header("X-Kloudless-As-User", "ann@acme.test");
    assert_eq!(Reply::of(twice).await.status, 400);

    let credentials = |query: &str| {
        let path = format!("/v1/accounts/{account}/credentials/{query}");
        Reply::of(server.get(&path).header("Authorization", format!("APIKey {KEY}")))
    };
    let ann = credentials("?as_user=ann@acme.test").await;
    assert_eq!(ann.status, 200, "{}", ann.body);
    assert_eq!(ann.json()["access_token"], "at-ann@acme.test-1");
    assert_eq!(ann.header("cache-control"), Some("no-store"));
    assert_eq!(credentials("").await.json()["access_token"], "at-root@acme.test-2", "the admin's");
    assert_eq!(credentials("?as_user=eve@evil.test").await.status, 403);
    assert_eq!(credentials("?user=ann@acme.test").await.status, 400);
    assert_eq!(credentials("?as_user=a@acme.test&as_user=b@acme.test").await.status, 400);
}

#[tokio::test]
async fn the_domains_users_are_listed_in_pages_as_the_admin() {
    let (google, base) = google(&["root@acme.test", "ann@acme.test", "bob@acme.test"]).await;
    let (server, _keys) = server(&base).await;
    assert_eq!(check(&server, "acme.test", "root@acme.test").await.status, 200);
    let account = accounts(&server).await["objects"][0]["id"].as_i64().unwrap();
    let list = |query: String| {
        let path = format!("/v1/accounts/{account}/users{query}");
        Reply::of(server.get(&path).header("Authorization", format!("APIKey {KEY}")))
    };
    let first = list("?page_size=2".into()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_eq!(
        first["objects"][0],
        json!({ "id": "id-ann@acme.test", "email": "ann@acme.test", "name": "ann", "active": true })
    );
    assert_eq!(first["objects"][1]["active"], false, "bob is suspended");
    let next = first["next_page"].as_str().unwrap();
    assert!(!next.contains("tok"), "opaque: {next}");
    let second = list(format!("?page_size=2&page={next}")).await.json();
    assert_eq!(second["objects"].as_array().unwrap().len(), 1);
    assert_eq!(second["objects"][0]["email"], "root@acme.test");
    assert_eq!((second["page"].as_str(), second["next_page"].as_str()), (Some(next), None));
    assert_eq!(minted(&google, "root@acme.test"), 2, "the admin's token, minted once for the listing");
}

#[test]
fn a_malformed_key_file_stops_the_start_naming_the_entry_and_echoing_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    let cases = [
        ("{\"type\": \"service_account\", \"private_key\": \"s3cr3t\"", "line 1"),
        (
            "{\"type\": \"service_account\", \"client_email\": \"a@b.test\", \"client_id\": \"1\", \
             \"private_key_id\": \"k\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\ns3cr3t\\n\"}",
            "not an RSA private key",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&path, text).unwrap();
        let toml = format!(
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\n\
             [[providers]]\nid = \"google_workspace\"\nkey_file = \"{}\"\n",
            path.display()
        );
        let listen = "127.0.0.1:0".parse().unwrap();
        let error = authenticator_server::config::Config::from_toml(&toml, listen, "db".into()).unwrap_err();
        let error = error.to_string();
        assert!(error.contains("providers[0] (google_workspace): key_file"), "{error}");
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains("s3cr3t"), "{error}");
    }
}
