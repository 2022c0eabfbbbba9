//! Organisation-wide accounts (issue 25), Microsoft 365 app-only access over real HTTP: a local
//! Entra double serves the admin-consent page (redirecting back with `admin_consent=True` and
//! the tenant id, or the admin's refusal) and the client-credentials token endpoint (checking
//! our client id, secret and `/.default` scope, issuing tokens per tenant, refusing with
//! AADSTS7000229 once the tenant deleted our app), and a local Graph double answers
//! `/v1.0/organization` and the raw calls. The admin connects through the pop-up's form and the
//! consent page; raw calls act as users of the tenant through one tenant token, minted once
//! however many calls wait for it. Runs on SQLite, or on PostgreSQL when
//! `KLOUDLESS_TEST_DATABASE` names one.

mod common;

use authenticator_server::testing::rehost::rehost;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{Reply, TestServer};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PUBLIC: &str = "https://auth.example.test";
const KEY: &str = "key-of-app-a-0123456789abcdef";
const BROWSER: &str =
    "__Host-kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CLIENT_ID: &str = "11112222-aaaa-3333-bbbb-4444cccc5555";
const SECRET: &str = "s3cr3t-of-our-entra-app";
const TENANT: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
const SCOPE: &str = "https://graph.microsoft.com/.default";
/// The key pair and self-signed certificate of the `private_key_jwt` tests (throw-away).
const PUBLIC_KEY: &str = include_str!("fixtures/org_test_key.pub.pem");
const CERTIFICATE: &str = include_str!("fixtures/org_test_cert.pem");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The Entra and Graph doubles: what they were asked, and how they answer.
#[derive(Default)]
pub struct Entra {
    /// Token requests per tenant (the token URL's path).
    minted: Mutex<HashMap<String, usize>>,
    /// The consent pages' queries.
    consents: Mutex<Vec<HashMap<String, String>>>,
    /// Whether the admin refuses consent.
    deny: Mutex<bool>,
    /// Whether the tenant deleted our app (tokens refused, issued ones no longer good).
    revoked: Mutex<bool>,
    /// The users list's queries.
    listed: Mutex<Vec<HashMap<String, String>>>,
    /// The base a users page's `@odata.nextLink` is on (default: the double's own).
    next_link_base: Mutex<Option<String>>,
    /// The double's own base URL.
    base: Mutex<String>,
    /// The `jti` of every client assertion verified.
    assertions: Mutex<Vec<String>>,
}

/// The certificate's SHA-256 thumbprint, base64url, as Entra matches `x5t#S256`.
fn thumbprint() -> String {
    use base64::Engine;
    use sha2::Digest;
    let body: String = CERTIFICATE.lines().filter(|line| !line.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der))
}

#[derive(serde::Deserialize)]
struct AssertionClaims {
    sub: String,
    jti: String,
    nbf: u64,
    exp: u64,
}

/// Whether `assertion` is our client's, for `token_url`, as Entra checks a certificate
/// credential: PS256, `typ` JWT, `x5t#S256` of the uploaded certificate, signed by its key,
/// `aud` the token endpoint, `iss` = `sub` = the client id, a `jti`, at most 10 minutes.
fn verified(entra: &Entra, assertion: &str, token_url: &str) -> Result<(), String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| e.to_string())?;
    if header.alg != Algorithm::PS256
        || header.typ.as_deref() != Some("JWT")
        || header.x5t_s256 != Some(thumbprint())
    {
        return Err(format!("AADSTS700027: unexpected header {header:?}"));
    }
    let mut validation = Validation::new(Algorithm::PS256);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    let decoded = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation);
    let claims = decoded.map_err(|e| format!("AADSTS700027: {e}"))?.claims;
    if claims.sub != CLIENT_ID || claims.jti.is_empty() || claims.exp.saturating_sub(claims.nbf) > 600 {
        return Err("AADSTS700023: bad claims".to_owned());
    }
    entra.assertions.lock().unwrap().push(claims.jti);
    Ok(())
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(json!({ "error": code, "error_description": description, "error_codes": [] })))
        .into_response()
}

/// `GET /{tenant}/v2.0/adminconsent`: the admin signs in and accepts (or not), then is sent
/// back to the redirect URI as the documented answers say.
async fn consent(State(entra): State<Arc<Entra>>, Path(tenant): Path<String>, uri: Uri) -> Response {
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    entra.consents.lock().unwrap().push(query.clone());
    let back = query.get("redirect_uri").cloned().unwrap_or_default();
    let state = query.get("state").cloned().unwrap_or_default();
    let answer = if *entra.deny.lock().unwrap() {
        vec![
            ("error", "access_denied".to_owned()),
            ("error_description", "AADSTS65004: The admin declined to consent.".to_owned()),
            ("state", state),
        ]
    } else if ["contoso.test", TENANT].contains(&tenant.as_str()) {
        vec![("admin_consent", "True".to_owned()), ("tenant", TENANT.to_owned()), ("state", state)]
    } else {
        vec![
            ("error", "invalid_request".to_owned()),
            ("error_description", "AADSTS90002: Tenant not found.".to_owned()),
            ("state", state),
        ]
    };
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(answer).finish();
    Redirect::to(&format!("{back}?{query}")).into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant.
async fn token(State(entra): State<Arc<Entra>>, Path(tenant): Path<String>, body: String) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("grant_type") != Some("client_credentials") || field("scope") != Some(SCOPE) {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "AADSTS900144: grant_type or scope");
    }
    let token_url = format!("{}/{tenant}/oauth2/v2.0/token", entra.base.lock().unwrap());
    let client = if field("client_id") != Some(CLIENT_ID) {
        Err("AADSTS700016: Application not found in the directory.".to_owned())
    } else {
        match (field("client_secret"), field("client_assertion")) {
            (Some(SECRET), None) => Ok(()),
            (None, Some(assertion))
                if field("client_assertion_type")
                    == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") =>
            {
                verified(&entra, assertion, &token_url)
            }
            _ => Err("AADSTS7000215: Invalid client secret provided.".to_owned()),
        }
    };
    if let Err(description) = client {
        return error(StatusCode::UNAUTHORIZED, "invalid_client", &description);
    }
    let count = {
        let mut minted = entra.minted.lock().unwrap();
        let count = minted.entry(tenant.clone()).or_default();
        *count += 1;
        *count
    };
    if *entra.revoked.lock().unwrap() {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            &format!(
                "AADSTS7000229: The client application {CLIENT_ID} is missing service principal in the tenant {tenant}."
            ),
        );
    }
    // Slow enough for concurrent callers to pile up behind one mint.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Json(
        json!({ "token_type": "Bearer", "expires_in": 3599, "access_token": format!("at-{tenant}-{count}") }),
    )
    .into_response()
}

/// `GET /v1.0/organization`: the tenant, for its own tokens only.
async fn organization(State(entra): State<Arc<Entra>>, headers: HeaderMap) -> Response {
    if !bearer(&headers).starts_with(&format!("at-{TENANT}-")) || *entra.revoked.lock().unwrap() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({ "value": [{
        "id": TENANT,
        "displayName": "Contoso",
        "verifiedDomains": [
            { "name": "contoso.onmicrosoft.test", "isDefault": false, "isInitial": true },
            { "name": "contoso.test", "isDefault": true, "isInitial": false },
        ],
    }]}))
    .into_response()
}

/// `GET /v1.0/users`: five users, `$top` per page, paged by `$skiptoken` in `@odata.nextLink`.
async fn users(State(entra): State<Arc<Entra>>, headers: HeaderMap, uri: Uri) -> Response {
    if !bearer(&headers).starts_with(&format!("at-{TENANT}-")) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    entra.listed.lock().unwrap().push(query.clone());
    let top: usize = query.get("$top").and_then(|t| t.parse().ok()).unwrap_or(100);
    let skip: usize = match query.get("$skiptoken") {
        None => 0,
        Some(token) => match token.strip_prefix("skip-").and_then(|n| n.parse().ok()) {
            Some(skip) => skip,
            None => return error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid skip token"),
        },
    };
    let all = ["ann", "bob", "carol", "dave", "erin"];
    let value: Vec<Value> = all
        .iter()
        .enumerate()
        .skip(skip)
        .take(top)
        .map(|(i, name)| {
            json!({ "id": format!("id-{name}"), "displayName": name, "mail": null,
            "userPrincipalName": format!("{name}@contoso.test"), "accountEnabled": i != 3 })
        })
        .collect();
    let mut page = json!({ "value": value });
    if skip + top < all.len() {
        let base = entra
            .next_link_base
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| entra.base.lock().unwrap().clone());
        page["@odata.nextLink"] =
            json!(format!("{base}/v1.0/users?$top={top}&$skiptoken=skip-{}", skip + top));
    }
    Json(page).into_response()
}

fn bearer(headers: &HeaderMap) -> String {
    let value = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    value.trim_start_matches("Bearer ").to_owned()
}

/// Any other path: Graph, answering with the token and the path it was called with.
async fn graph(State(entra): State<Arc<Entra>>, headers: HeaderMap, uri: Uri) -> Response {
    if *entra.revoked.lock().unwrap() {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token is invalid.");
    }
    Json(json!({ "called_with": bearer(&headers), "path": uri.path() })).into_response()
}

/// The doubles, at their base URL.
pub async fn entra() -> (Arc<Entra>, String) {
    let entra = Arc::new(Entra::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *entra.base.lock().unwrap() = base.clone();
    let router = Router::new()
        .route("/{tenant}/v2.0/adminconsent", get(consent))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/organization", get(organization))
        .route("/v1.0/users", get(users))
        .fallback(graph)
        .with_state(entra.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (entra, base)
}

/// A server with app `a` and Microsoft 365 enabled with our app's credentials, re-hosted on
/// `base`.
async fn server(base: &str) -> TestServer {
    let toml = format!(
        "public_url = \"{PUBLIC}\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n\
         allow_credentials = true\n[[providers]]\nid = \"microsoft_365\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret = \"{SECRET}\"\n"
    );
    let base = base.to_owned();
    TestServer::with(&toml)
        .browser(BROWSER)
        .tune(move |config| rehost(config, "microsoft_365", &base).unwrap())
        .start()
        .await
}

/// A server as [`server`] makes, our app authenticated by its certificate instead of a secret.
async fn server_with_certificate(base: &str) -> TestServer {
    let toml = format!(
        "public_url = \"{PUBLIC}\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n\
         [[providers]]\nid = \"microsoft_365\"\nclient_id = \"{CLIENT_ID}\"\n\
         key_file = \"{FIXTURES}/org_test_key.pem\"\ncertificate_file = \"{FIXTURES}/org_test_cert.pem\"\n"
    );
    let base = base.to_owned();
    TestServer::with(&toml)
        .browser(BROWSER)
        .tune(move |config| rehost(config, "microsoft_365", &base).unwrap())
        .start()
        .await
}

/// The pop-up's form posted with `tenant`: the reply.
async fn submit(server: &TestServer, tenant: &str) -> Reply {
    let extra = [("service", "microsoft_365"), ("action", "connect"), ("tenant", tenant)];
    let body = common::popup_query("a", "http://localhost:3000", "microsoft_365", &extra);
    let request = server.post("/v1/oauth").header("content-type", "application/x-www-form-urlencoded");
    Reply::of(request.body(body)).await
}

/// The consent URL of a hand-off page.
fn handed_to(page: &Reply) -> String {
    let start = page.body.find("href=\"").expect("a link") + 6;
    let end = start + page.body[start..].find('"').unwrap();
    page.body[start..end].replace("&#38;", "&").replace("&amp;", "&")
}

/// The admin through the consent page for `tenant`: the callback's reply (the result page).
async fn connect(server: &TestServer, tenant: &str) -> Reply {
    let page = submit(server, tenant).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let consent = handed_to(&page);
    let redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = redirect.get(&consent).send().await.unwrap();
    assert_eq!(back.status(), 303, "{consent}");
    let back = back.headers()["location"].to_str().unwrap().to_owned();
    let path = back.strip_prefix(PUBLIC).unwrap_or_else(|| panic!("back to our callback: {back}"));
    Reply::of(server.get(path)).await
}

async fn accounts(server: &TestServer) -> Value {
    Reply::of(server.get("/v1/accounts/").header("Authorization", format!("APIKey {KEY}"))).await.json()
}

/// A raw call of `account` to `path` as `user` (none: app-only).
async fn raw_as(server: &TestServer, account: i64, path: &str, user: Option<&str>) -> Reply {
    let mut request = server
        .get(&format!("/v1/accounts/{account}/raw"))
        .header("Authorization", format!("APIKey {KEY}"))
        .header("X-Kloudless-Raw-URI", path);
    if let Some(user) = user {
        request = request.header("X-Kloudless-As-User", user);
    }
    Reply::of(request).await
}

fn minted(entra: &Entra) -> usize {
    entra.minted.lock().unwrap().values().sum()
}

#[tokio::test]
async fn the_admin_consents_for_the_tenant_through_the_popup_and_a_refusal_stores_nothing() {
    let (entra, base) = entra().await;
    let server = server(&base).await;

    let form = Reply::of(server.get(&format!(
        "/v1/oauth?{}",
        common::popup_query("a", "http://localhost:3000", "microsoft_365", &[])
    )))
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains(&format!("<code data-field=\"client-id\">{CLIENT_ID}</code>")),
        "{}",
        form.body
    );
    assert!(form.body.contains("name=\"tenant\"") && !form.body.contains("name=\"admin_email\""));
    assert!(form.body.contains("Permissions requested"), "the consent screen's words: {}", form.body);

    for bad in ["common", "contoso", "a/b.test"] {
        let refused = submit(&server, bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert!(refused.body.contains("tenant ID"), "{}", refused.body);
        assert_eq!(refused.body.matches("name=\"tenant\"").count(), 1, "typed once, never carried as hidden");
    }
    assert!(entra.consents.lock().unwrap().is_empty(), "refused before leaving the pop-up");

    *entra.deny.lock().unwrap() = true;
    let denied = connect(&server, "contoso.test").await;
    assert!(denied.body.contains("access_denied") && denied.body.contains("AADSTS65004"), "{}", denied.body);
    assert_eq!(accounts(&server).await["total"], 0, "nothing stored");
    assert_eq!(minted(&entra), 0);
    *entra.deny.lock().unwrap() = false;

    let connected = connect(&server, "Contoso.test").await;
    assert_eq!(connected.status, 200, "{}", connected.body);
    assert!(connected.body.contains("\"access_token\":\""), "{}", connected.body);
    let asked = entra.consents.lock().unwrap().last().cloned().unwrap();
    assert_eq!(asked["client_id"], CLIENT_ID);
    assert_eq!(asked["scope"], SCOPE);
    assert_eq!(asked["redirect_uri"], format!("{PUBLIC}/v1/oauth/callback/microsoft_365"));
    assert_eq!(entra.minted.lock().unwrap().get(TENANT), Some(&1), "the consent proven, for the tenant id");
    let listed = accounts(&server).await;
    assert_eq!(listed["total"], 1);
    let account = &listed["objects"][0];
    assert_eq!((account["account"].as_str(), account["admin"].as_bool()), (Some("contoso.test"), Some(true)));
    assert_eq!(account["service"], "microsoft_365");
    assert!(!common::everything(server.database()).await.contains("contoso.onmicrosoft.test"), "sealed");

    // The answer's state is single-use: brought back again, it is refused.
    let page = submit(&server, TENANT).await;
    let consent = handed_to(&page);
    let redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back =
        redirect.get(&consent).send().await.unwrap().headers()["location"].to_str().unwrap().to_owned();
    let path = back.strip_prefix(PUBLIC).unwrap().to_owned();
    assert_eq!(Reply::of(server.get(&path)).await.status, 200);
    assert_eq!(Reply::of(server.get(&path)).await.status, 400, "replayed");
    assert_eq!(accounts(&server).await["total"], 1, "the same tenant, the same account");
}

#[tokio::test]
async fn raw_calls_act_as_users_of_the_tenant_through_one_tenant_token() {
    let (entra, base) = entra().await;
    let server = server(&base).await;
    assert_eq!(connect(&server, "contoso.test").await.status, 200);
    let account = accounts(&server).await["objects"][0]["id"].as_i64().unwrap();

    let users = ["ann@contoso.test", "Bob@Contoso.onmicrosoft.test"];
    let calls = (0..20).map(|i| raw_as(&server, account, "/v1.0/me/drive/root", Some(users[i % 2])));
    let replies = futures_util::future::join_all(calls).await;
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let user = users[i % 2].to_ascii_lowercase();
        assert_eq!(reply.json()["path"], format!("/v1.0/users/{user}/drive/root"));
        assert_eq!(reply.json()["called_with"], format!("at-{TENANT}-2"));
    }
    assert_eq!(minted(&entra), 2, "20 concurrent calls, one token request after the consent's");

    let app_only = raw_as(&server, account, "/v1.0/groups?$top=5", None).await;
    assert_eq!(app_only.json()["path"], "/v1.0/groups", "{}", app_only.body);
    let outside = raw_as(&server, account, "/v1.0/me/drive", Some("eve@evil.test")).await;
    assert_eq!(outside.status, 403, "{}", outside.body);
    let not_mine =
        raw_as(&server, account, "/v1.0/users/eve@evil.test/drive", Some("ann@contoso.test")).await;
    assert_eq!(not_mine.status, 400, "as a user, only /me paths: {}", not_mine.body);
    let credentials = Reply::of(
        server
            .get(&format!("/v1/accounts/{account}/credentials/?as_user=ann@contoso.test"))
            .header("Authorization", format!("APIKey {KEY}")),
    )
    .await;
    assert_eq!(credentials.json()["access_token"], format!("at-{TENANT}-2"), "the tenant's token");
    assert_eq!(minted(&entra), 2);

    // The tenant deletes our app: Graph refuses the token, the new one is refused with
    // AADSTS7000229, and the account becomes inactive with that reason.
    *entra.revoked.lock().unwrap() = true;
    let revoked = raw_as(&server, account, "/v1.0/me/drive", Some("ann@contoso.test")).await;
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    assert_eq!(revoked.json()["error"], "account_inactive");
    let shown = &accounts(&server).await["objects"][0];
    assert_eq!(shown["active"], false);
    assert!(shown["inactive_reason"].as_str().unwrap().contains("AADSTS7000229"), "{shown}");
}

/// `GET /v1/accounts/{account}/users` with `query`.
async fn users_of(server: &TestServer, account: i64, query: &str) -> Reply {
    let path = format!("/v1/accounts/{account}/users{query}");
    Reply::of(server.get(&path).header("Authorization", format!("APIKey {KEY}"))).await
}

#[tokio::test]
async fn the_tenants_users_are_listed_in_pages_whose_cursor_steers_nowhere() {
    let (entra, base) = entra().await;
    let server = server(&base).await;
    assert_eq!(connect(&server, "contoso.test").await.status, 200);
    let account = accounts(&server).await["objects"][0]["id"].as_i64().unwrap();

    let mut emails = Vec::new();
    let mut query = "?page_size=2".to_owned();
    let mut pages = 0;
    loop {
        let page = users_of(&server, account, &query).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        assert_eq!(
            (page["type"].as_str(), page["api"].as_str(), page["page_size"].as_i64()),
            (Some("object_list"), Some("meta"), Some(2))
        );
        for user in page["objects"].as_array().unwrap() {
            emails.push(user["email"].as_str().unwrap().to_owned());
        }
        assert_eq!(page["count"].as_u64().unwrap() as usize, page["objects"].as_array().unwrap().len());
        pages += 1;
        let Some(next) = page["next_page"].as_str() else { break };
        assert!(!next.contains("http") && !next.contains("skip-"), "opaque: {next}");
        query = format!("?page_size=2&page={next}");
    }
    assert_eq!(pages, 3);
    assert_eq!(emails, ["ann", "bob", "carol", "dave", "erin"].map(|n| format!("{n}@contoso.test")));
    let first = users_of(&server, account, "").await.json();
    assert_eq!(
        first["objects"][3],
        json!({ "id": "id-dave", "email": "dave@contoso.test", "name": "dave", "active": false })
    );
    assert_eq!(first["next_page"], Value::Null);
    assert_eq!(
        entra.listed.lock().unwrap()[0]["$select"],
        "id,displayName,mail,userPrincipalName,accountEnabled"
    );
    assert_eq!(minted(&entra), 2, "the tenant's token, minted once after the consent's");

    // A cursor holding a URL is a token value only: the request stays on Graph.
    use base64::Engine;
    let steer = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("http://127.0.0.1:9/steal");
    let steered = users_of(&server, account, &format!("?page={steer}")).await;
    assert_eq!(steered.status, 502, "{}", steered.body);
    assert_eq!(entra.listed.lock().unwrap().last().unwrap()["$skiptoken"], "http://127.0.0.1:9/steal");
    for bad in
        ["?page=not%20a%20cursor", "?page_size=0", "?page_size=501", "?other=1", "?page_size=2&page_size=3"]
    {
        assert_eq!(users_of(&server, account, bad).await.status, 400, "{bad}");
    }
    // A next link on another host is not followed, nor turned into a cursor.
    *entra.next_link_base.lock().unwrap() = Some("https://evil.test".to_owned());
    assert_eq!(users_of(&server, account, "?page_size=2").await.status, 502);
    let elsewhere = Reply::of(
        server.get(&format!("/v1/accounts/{account}/users")).header("Authorization", "APIKey nope"),
    )
    .await;
    assert_eq!(elsewhere.status, 401);
}

#[tokio::test]
async fn a_certificate_signs_our_client_assertions_instead_of_a_secret() {
    let (entra, base) = entra().await;
    let server = server_with_certificate(&base).await;
    let connected = connect(&server, "contoso.test").await;
    assert_eq!(connected.status, 200, "{}", connected.body);
    let account = accounts(&server).await["objects"][0]["id"].as_i64().unwrap();
    let raw = raw_as(&server, account, "/v1.0/me/drive", Some("ann@contoso.test")).await;
    assert_eq!(raw.json()["called_with"], format!("at-{TENANT}-2"), "{}", raw.body);
    let assertions = entra.assertions.lock().unwrap().clone();
    assert_eq!(assertions.len(), 2, "each token request with a verified assertion");
    assert_ne!(assertions[0], assertions[1], "a new jti each time");
}

#[test]
fn a_bad_certificate_or_a_secret_beside_it_stops_the_start_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "-----BEGIN CERTIFICATE-----\ns3cr3t\n-----END CERTIFICATE-----\n").unwrap();
    let entry = |extra: &str| {
        format!(
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\n\
             [[providers]]\nid = \"microsoft_365\"\nclient_id = \"{CLIENT_ID}\"\n{extra}"
        )
    };
    let key = format!("key_file = \"{FIXTURES}/org_test_key.pem\"\n");
    let certificate = format!("certificate_file = \"{FIXTURES}/org_test_cert.pem\"\n");
    let cases = [
        (
            format!("{key}certificate_file = \"{}\"\n", bad.display()),
            "certificate_file: the certificate is not one X.509",
        ),
        (
            format!("key_file = \"{FIXTURES}/org_test_cert.pem\"\n{certificate}"),
            "key_file: the key is not an RSA private key",
        ),
        (format!("client_secret = \"s3cr3t\"\n{key}{certificate}"), "not both"),
        (key.clone(), "not both"),
    ];
    for (extra, expected) in cases {
        let listen = "127.0.0.1:0".parse().unwrap();
        let error =
            authenticator_server::config::Config::from_toml(&entry(&extra), listen, "db".into()).unwrap_err();
        let error = error.to_string();
        assert!(error.contains("providers[0] (microsoft_365)") && error.contains(expected), "{error}");
        assert!(!error.contains("s3cr3t") && !error.contains("PRIVATE KEY"), "{error}");
    }
}
