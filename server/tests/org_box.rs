//! Organisation-wide accounts (issue 25), Box enterprises over real HTTP: a local Box double
//! serves the Client Credentials Grant's token endpoint (checking our client id and secret,
//! minting the enterprise's token for `box_subject_type=enterprise` and a managed user's for
//! `box_subject_type=user`, refusing a user outside the enterprise with `invalid_grant`, and
//! every subject with `unauthorized_client` once the admin removed our app), `GET /2.0/users`
//! (marker-paged) and the raw calls. The admin connects through the pop-up's form; raw calls act
//! as users through their own tokens, each minted once however many calls wait for it. Runs on
//! SQLite, or on PostgreSQL when `KLOUDLESS_TEST_DATABASE` names one.

mod common;

use authenticator_server::testing::rehost::rehost;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
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
const CLIENT_ID: &str = "h5z4c7jqyn95dh3n06tv92x3ceztj0qi";
const SECRET: &str = "s3cr3t-of-our-box-app";
const ENTERPRISE: &str = "575619";
/// The enterprise's managed users: id, login, status.
const USERS: [(&str, &str, &str); 5] = [
    ("11", "ann@acme.test", "active"),
    ("12", "bob@acme.test", "active"),
    ("13", "carol@acme.test", "active"),
    ("14", "dave@acme.test", "inactive"),
    ("15", "erin@acme.test", "active"),
];

/// The Box double: what it was asked, and how it answers.
#[derive(Default)]
struct BoxDouble {
    /// Token requests per subject (`enterprise-{id}` or `user-{id}`).
    minted: Mutex<HashMap<String, usize>>,
    /// Whether the admin removed our app from the enterprise.
    revoked: Mutex<bool>,
    /// The users list's queries.
    listed: Mutex<Vec<HashMap<String, String>>>,
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(json!({ "error": code, "error_description": description }))).into_response()
}

/// `POST /oauth2/token` (re-hosted at `/token`): the Client Credentials Grant.
async fn token(State(double): State<Arc<BoxDouble>>, body: String) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("grant_type") != Some("client_credentials") || form.contains_key("scope") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid grant_type parameter or parameter missing",
        );
    }
    if field("client_id") != Some(CLIENT_ID) || field("client_secret") != Some(SECRET) {
        return error(StatusCode::BAD_REQUEST, "invalid_client", "The client credentials are invalid");
    }
    let (kind, id) = (field("box_subject_type").unwrap_or(""), field("box_subject_id").unwrap_or(""));
    let subject = format!("{kind}-{id}");
    let count = {
        let mut minted = double.minted.lock().unwrap();
        let count = minted.entry(subject.clone()).or_default();
        *count += 1;
        *count
    };
    if *double.revoked.lock().unwrap() {
        return error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "The \"box_subject_type\" value is unauthorized for this client_id",
        );
    }
    let known = match kind {
        "enterprise" => id == ENTERPRISE,
        "user" => USERS.iter().any(|(user, _, status)| *user == id && *status == "active"),
        _ => false,
    };
    if !known {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", "Grant credentials are invalid");
    }
    // Slow enough for concurrent callers to pile up behind one mint.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Json(json!({
        "access_token": format!("at-{subject}-{count}"), "expires_in": 3600,
        "restricted_to": [], "token_type": "bearer",
    }))
    .into_response()
}

fn bearer(headers: &HeaderMap) -> String {
    let value = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    value.trim_start_matches("Bearer ").to_owned()
}

/// `GET /2.0/users`: the five users, `limit` per page, marker-paged with `usemarker=true`;
/// the enterprise's own token only.
async fn users(State(double): State<Arc<BoxDouble>>, headers: HeaderMap, uri: Uri) -> Response {
    if !bearer(&headers).starts_with(&format!("at-enterprise-{ENTERPRISE}-"))
        || *double.revoked.lock().unwrap()
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    double.listed.lock().unwrap().push(query.clone());
    let limit: usize = query.get("limit").and_then(|n| n.parse().ok()).unwrap_or(100);
    let skip: usize = match query.get("marker") {
        None => 0,
        Some(marker) => match marker.strip_prefix("m-").and_then(|n| n.parse().ok()) {
            Some(skip) => skip,
            None => {
                let bad = json!({ "type": "error", "status": 400, "code": "bad_request", "message": "Invalid marker" });
                return (StatusCode::BAD_REQUEST, Json(bad)).into_response();
            }
        },
    };
    let entries: Vec<Value> = USERS
        .iter()
        .skip(skip)
        .take(limit)
        .map(|(id, login, status)| {
            let name = login.split('@').next().unwrap();
            json!({ "type": "user", "id": id, "name": name, "login": login, "status": status })
        })
        .collect();
    let mut page = json!({ "entries": entries, "limit": limit });
    if skip + limit < USERS.len() {
        page["next_marker"] = json!(format!("m-{}", skip + limit));
    }
    Json(page).into_response()
}

/// Any other path: the API, answering with the token and the path it was called with.
async fn api(State(double): State<Arc<BoxDouble>>, headers: HeaderMap, uri: Uri) -> Response {
    if *double.revoked.lock().unwrap() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({ "called_with": bearer(&headers), "path": uri.path() })).into_response()
}

/// The double, at its base URL.
async fn double() -> (Arc<BoxDouble>, String) {
    let double = Arc::new(BoxDouble::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/token", post(token))
        .route("/2.0/users", get(users))
        .fallback(api)
        .with_state(double.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (double, base)
}

/// A server with app `a` and Box enterprises enabled with our app's credentials, re-hosted on
/// `base`.
async fn server(base: &str) -> TestServer {
    let toml = format!(
        "public_url = \"{PUBLIC}\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n\
         allow_credentials = true\n[[providers]]\nid = \"box_enterprise\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret = \"{SECRET}\"\n"
    );
    let base = base.to_owned();
    TestServer::with(&toml)
        .browser(BROWSER)
        .tune(move |config| rehost(config, "box_enterprise", &base).unwrap())
        .start()
        .await
}

/// The pop-up's form posted with `enterprise`: the reply.
async fn connect(server: &TestServer, enterprise: &str) -> Reply {
    let extra = [("service", "box_enterprise"), ("action", "connect"), ("enterprise_id", enterprise)];
    let body = common::popup_query("a", "http://localhost:3000", "box_enterprise", &extra);
    let request = server.post("/v1/oauth").header("content-type", "application/x-www-form-urlencoded");
    Reply::of(request.body(body)).await
}

async fn accounts(server: &TestServer) -> Value {
    Reply::of(server.get("/v1/accounts/").header("Authorization", format!("APIKey {KEY}"))).await.json()
}

/// A raw call of `account` to `path` as `user` (none: the enterprise).
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

fn minted(double: &BoxDouble, subject: &str) -> usize {
    double.minted.lock().unwrap().get(subject).copied().unwrap_or(0)
}

#[tokio::test]
async fn the_admin_connects_the_enterprise_through_the_popup_and_a_refusal_stores_nothing() {
    let (double, base) = double().await;
    let server = server(&base).await;

    let form = Reply::of(server.get(&format!(
        "/v1/oauth?{}",
        common::popup_query("a", "http://localhost:3000", "box_enterprise", &[])
    )))
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains(&format!("<code data-field=\"client-id\">{CLIENT_ID}</code>")),
        "{}",
        form.body
    );
    assert!(
        form.body.contains("Platform Apps Manager") && form.body.contains("Enterprise ID"),
        "{}",
        form.body
    );
    assert!(form.body.contains("name=\"enterprise_id\"") && !form.body.contains("name=\"admin_email\""));
    assert!(!form.body.contains("data-field=\"scopes\""), "Box's scopes are set on the app");

    for bad in ["", "acme.test", "57a619", "123456789012345678901"] {
        let refused = connect(&server, bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert!(refused.body.contains("digits only"), "{}", refused.body);
        assert_eq!(
            refused.body.matches("name=\"enterprise_id\"").count(),
            1,
            "typed once, never carried as hidden"
        );
    }
    assert!(double.minted.lock().unwrap().is_empty(), "refused before any token request");

    let unknown = connect(&server, "999999").await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert!(unknown.body.contains("invalid_grant") && unknown.body.contains("Grant credentials are invalid"));
    assert_eq!(accounts(&server).await["total"], 0, "nothing stored");

    let connected = connect(&server, ENTERPRISE).await;
    assert_eq!(connected.status, 200, "{}", connected.body);
    assert!(connected.body.contains("\"access_token\":\""), "{}", connected.body);
    assert_eq!(minted(&double, &format!("enterprise-{ENTERPRISE}")), 1, "proven by the enterprise's token");
    let listed = accounts(&server).await;
    assert_eq!(listed["total"], 1);
    let account = &listed["objects"][0];
    assert_eq!((account["account"].as_str(), account["admin"].as_bool()), (Some(ENTERPRISE), Some(true)));
    assert_eq!(account["service"], "box_enterprise");

    assert_eq!(connect(&server, ENTERPRISE).await.status, 200);
    assert_eq!(accounts(&server).await["total"], 1, "the same enterprise, the same account");
}

#[tokio::test]
async fn raw_calls_act_as_users_through_their_own_tokens_minted_once_each() {
    let (double, base) = double().await;
    let server = server(&base).await;
    assert_eq!(connect(&server, ENTERPRISE).await.status, 200);
    let account = accounts(&server).await["objects"][0]["id"].as_i64().unwrap();

    let users = ["11", "12"];
    let calls = (0..20).map(|i| raw_as(&server, account, "/2.0/folders/0", Some(users[i % 2])));
    let replies = futures_util::future::join_all(calls).await;
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json()["called_with"], format!("at-user-{}-1", users[i % 2]));
        assert_eq!(reply.json()["path"], "/2.0/folders/0");
    }
    assert_eq!((minted(&double, "user-11"), minted(&double, "user-12")), (1, 1), "one token request each");
    let alone = futures_util::future::join_all(
        (0..20).map(|_| raw_as(&server, account, "/2.0/users/me", Some("13"))),
    );
    assert!(alone.await.iter().all(|reply| reply.json()["called_with"] == "at-user-13-1"));
    assert_eq!(minted(&double, "user-13"), 1, "20 concurrent calls for one user, one token request");

    let enterprise = raw_as(&server, account, "/2.0/users/me", None).await;
    assert_eq!(
        enterprise.json()["called_with"],
        format!("at-enterprise-{ENTERPRISE}-2"),
        "{}",
        enterprise.body
    );

    // A user Box will not mint for (outside the enterprise, or not active) is refused, this
    // call only; one that is no Box id is refused before any request.
    for outsider in ["999", "14"] {
        let refused = raw_as(&server, account, "/2.0/folders/0", Some(outsider)).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
    }
    let before: usize = double.minted.lock().unwrap().values().sum();
    let not_an_id = raw_as(&server, account, "/2.0/folders/0", Some("eve@evil.test")).await;
    assert_eq!(not_an_id.status, 403, "{}", not_an_id.body);
    assert_eq!(double.minted.lock().unwrap().values().sum::<usize>(), before);
    assert_eq!(accounts(&server).await["objects"][0]["active"], true, "still active");

    // The admin removes our app: the API refuses the cached token, the new one is refused
    // with unauthorized_client, and the account becomes inactive with that reason.
    *double.revoked.lock().unwrap() = true;
    let revoked = raw_as(&server, account, "/2.0/folders/0", Some("11")).await;
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    assert_eq!(revoked.json()["error"], "account_inactive");
    let shown = &accounts(&server).await["objects"][0];
    assert_eq!(shown["active"], false);
    assert!(shown["inactive_reason"].as_str().unwrap().contains("unauthorized_client"), "{shown}");
}

/// `GET /v1/accounts/{account}/users` with `query`.
async fn users_of(server: &TestServer, account: i64, query: &str) -> Reply {
    let path = format!("/v1/accounts/{account}/users{query}");
    Reply::of(server.get(&path).header("Authorization", format!("APIKey {KEY}"))).await
}

#[tokio::test]
async fn the_enterprises_users_are_listed_in_marker_pages_behind_opaque_cursors() {
    let (double, base) = double().await;
    let server = server(&base).await;
    assert_eq!(connect(&server, ENTERPRISE).await.status, 200);
    let account = accounts(&server).await["objects"][0]["id"].as_i64().unwrap();

    let mut ids = Vec::new();
    let mut query = "?page_size=2".to_owned();
    let mut pages = 0;
    loop {
        let page = users_of(&server, account, &query).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        assert_eq!(page["type"], "object_list");
        for user in page["objects"].as_array().unwrap() {
            ids.push(user["id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        let Some(next) = page["next_page"].as_str() else { break };
        assert!(!next.contains("m-"), "opaque: {next}");
        query = format!("?page_size=2&page={next}");
    }
    assert_eq!((pages, ids), (3, USERS.map(|(id, _, _)| id.to_owned()).to_vec()));
    let first = users_of(&server, account, "").await.json();
    assert_eq!(
        first["objects"][3],
        json!({ "id": "14", "email": "dave@acme.test", "name": "dave", "active": false })
    );
    let asked = double.listed.lock().unwrap()[1].clone();
    assert_eq!(
        (asked["usemarker"].as_str(), asked["marker"].as_str(), asked["limit"].as_str()),
        ("true", "m-2", "2")
    );
    assert_eq!(
        minted(&double, &format!("enterprise-{ENTERPRISE}")),
        2,
        "the check's, then one for the listing"
    );
    assert_eq!(users_of(&server, account, "?page=not%20a%20cursor").await.status, 400);
}
