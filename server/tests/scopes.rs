//! What a pop-up request may carry beyond the services (issue 27), over real HTTP: upstream
//! scopes nested in `scope` (limited to the provider's `allowed_scopes`), `raw[…]` parameters for
//! the provider's authorization request (the protocol's own refused), `custom_properties` kept
//! on the account and changed with the app's API key, and Kloudless's service ids with the
//! catalogue's old ones as aliases. Every bad input is a clear 400 that stores nothing. (The
//! same against a real OpenID provider in Chromium is e2e/scopes.test.mjs.)

mod common;

use common::{Reply, TestServer};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;

const KEY: &str = "key-of-the-app-0123456789abcdef";
const BROWSER: &str =
    "__Host-kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// A server with one app (and its API key), a custom OAuth 2.0 provider `acme` that allows the
/// upstream scopes `files.read` and `files.*` and the raw parameter `login_hint`, Google Drive
/// and OneDrive from the catalogue (OneDrive enabled by its old id, `onedrive`), and the demo's
/// `box`. No upstream is ever called.
async fn start() -> TestServer {
    let provider = |lines: &str| {
        format!("[[providers]]\nclient_id = \"our-app\"\nclient_secret = \"s3cr3t\"\n{lines}\n")
    };
    let toml = format!(
        "public_url = \"https://auth.example.test\"\n\
         [[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n{}{}{}\
         [[providers]]\nid = \"box\"\nkind = \"demo\"\n",
        provider(
            "id = \"acme\"\nkind = \"oauth2\"\nname = \"Acme\"\ncategory = \"storage\"\n\
             authorization_url = \"https://acme.test/auth\"\ntoken_url = \"https://acme.test/token\"\n\
             identity_url = \"https://acme.test/me\"\nallowed_scopes = [\"openid\", \"files.*\"]\n\
             raw_params = [\"login_hint\"]"
        ),
        provider("id = \"gdrive\""),
        provider("id = \"onedrive\""),
    );
    TestServer::with(&toml).browser(BROWSER).start().await
}

fn popup_query(scope: &str, extra: &[(&str, &str)]) -> String {
    let base = [
        ("client_id", "app"),
        ("response_type", "token"),
        ("state", "page-state"),
        ("request_id", "req1"),
        ("origin", "http://localhost:3000"),
        ("scope", scope),
    ];
    form_urlencoded::Serializer::new(String::new()).extend_pairs(base.iter().chain(extra)).finish()
}

/// The pop-up for `scope` and `extra`: its status, page and the parameters of the URL it
/// redirects to (empty when it does not).
async fn popup(
    server: &TestServer,
    scope: &str,
    extra: &[(&str, &str)],
) -> (u16, String, HashMap<String, String>) {
    let path = format!("/v1/oauth?{}", popup_query(scope, extra));
    let reply = Reply::of(server.request_in(Some(BROWSER), Method::GET, &path)).await;
    let location = reply.location().map(|url| url::Url::parse(&url).unwrap());
    let query = location.iter().flat_map(|url| url.query_pairs().into_owned()).collect();
    let target = location.map(|url| url[..url::Position::AfterPath].to_owned());
    (reply.status, format!("{}{}", target.unwrap_or_default(), reply.body), query)
}

/// The rows of the tables a flow writes.
async fn stored(server: &TestServer) -> Vec<(String, usize)> {
    let tables = ["accounts", "tokens", "upstream_states", "upstream_credentials"];
    common::row_counts(server.database())
        .await
        .into_iter()
        .filter(|(t, _)| tables.contains(&t.as_str()))
        .collect()
}

fn nothing(rows: &[(String, usize)]) -> bool {
    rows.iter().all(|(_, count)| *count == 0)
}

#[tokio::test]
async fn nested_upstream_scopes_replace_the_defaults_within_the_providers_allowed_scopes() {
    let server = start().await;
    let (status, page, query) = popup(&server, r#"acme.storage."openid files.read":raw"#, &[]).await;
    assert_eq!(status, 302, "{page}");
    assert!(page.starts_with("https://acme.test/auth"), "{page}");
    assert_eq!(query["scope"], "openid files.read");
    let (_, _, query) = popup(&server, "acme", &[]).await;
    assert_eq!(query["scope"], "openid email profile", "without nesting, the defaults");

    // The original README's example, with Google Drive from the catalogue.
    let readme = r#"gdrive.storage."https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/drive.readonly":raw"#;
    let (status, page, query) = popup(&server, readme, &[]).await;
    assert_eq!(status, 302, "{page}");
    assert!(page.starts_with("https://accounts.google.com/"), "{page}");
    assert_eq!(
        query["scope"],
        "https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/drive.readonly"
    );
    let before = stored(&server).await;

    for (scope, says) in [
        (
            r#"acme."files.read admin.all":raw"#,
            "The upstream scope \"admin.all\" is not allowed for the service acme",
        ),
        (r#"gdrive."https://mail.google.com/":raw"#, "not allowed for the service gdrive"),
        (r#"box."files.read":raw"#, "The service box takes no upstream scopes"),
        (r#"acme."files.read:raw"#, "is malformed: a quote is not closed"),
        (r#"acme."files.read""#, "must end in"),
        (
            "gdrive.storage.https://www.googleapis.com/auth/drive",
            "gdrive.storage.https://www.googleapis.com/auth/drive",
        ),
    ] {
        let (status, page, _) = popup(&server, scope, &[]).await;
        assert_eq!(status, 400, "{scope}: {page}");
        let page = page.replace("&quot;", "\"").replace("&#34;", "\"");
        assert!(page.contains(says), "{scope}: {page}");
        assert!(!page.contains("is not enabled"), "gdrive is enabled: {page}");
    }
    assert_eq!(stored(&server).await, before, "a refused scope stores nothing");
}

#[tokio::test]
async fn raw_parameters_reach_the_provider_that_lists_them_and_the_protocols_own_are_refused() {
    let server = start().await;
    let extra = [("raw[login_hint]", "ann@acme.test"), ("raw[colour]", "blue")];
    let (status, page, query) = popup(&server, "acme", &extra).await;
    assert_eq!(status, 302, "{page}");
    assert_eq!(query["login_hint"], "ann@acme.test");
    assert!(!query.contains_key("colour"), "a parameter the provider does not list is dropped");
    let (_, _, query) =
        popup(&server, "gdrive", &[("raw[prompt]", "select_account"), ("raw[hd]", "acme.test")]).await;
    assert_eq!((query["prompt"].as_str(), query["hd"].as_str()), ("select_account", "acme.test"));
    assert_eq!(query["access_type"], "offline", "the entry's own parameters stay");
    // Through the chooser: its form carries raw[…] on, to the hand-off page's URL.
    let (status, chooser, _) = popup(&server, "acme gdrive", &extra).await;
    assert_eq!(status, 200);
    assert!(chooser.contains("name=\"raw[login_hint]\"") && chooser.contains("ann@acme.test"), "{chooser}");
    let (status, handoff, _) = popup(&server, "acme gdrive", &[extra[0], ("service", "acme")]).await;
    assert_eq!(status, 200);
    assert!(handoff.contains("login_hint=ann%40acme.test"), "{handoff}");

    let before = stored(&server).await;
    for name in [
        "state",
        "redirect_uri",
        "client_id",
        "code_challenge",
        "scope",
        "response_type",
        "nonce",
        "request_uri",
    ] {
        let key = format!("raw[{name}]");
        let (status, page, _) = popup(&server, "acme", &[(key.as_str(), "x")]).await;
        assert_eq!(status, 400, "{name}: {page}");
        assert!(page.contains(&format!("raw[{name}] is refused")), "{page}");
    }
    assert_eq!(stored(&server).await, before);
}

/// Connects the demo account `name` of `box` with `extra` pop-up parameters: the reply's status
/// and page.
async fn connect_demo(server: &TestServer, name: &str, extra: &[(&str, &str)]) -> (u16, String) {
    let body = format!("{}&service=box&account={name}&action=connect", popup_query("box", extra));
    let request = server
        .request_in(Some(BROWSER), Method::POST, "/v1/oauth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    let reply = Reply::of(request).await;
    (reply.status, reply.body)
}

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server.request(method, path).header("Authorization", auth);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = Reply::of(request).await;
    (reply.status, reply.json_or_null())
}

#[tokio::test]
async fn custom_properties_are_kept_with_the_account_shown_everywhere_and_changed_with_the_api_key() {
    let server = start().await;
    let key = format!("APIKey {KEY}");
    let properties = json!({ "crm_id": 7, "tags": ["a", "b"] }).to_string();
    let (status, page) = connect_demo(&server, "ann", &[("custom_properties", &properties)]).await;
    assert_eq!(status, 200, "{page}");
    let (_, list) = call(&server, Method::GET, "/v1/accounts/", &key, None).await;
    let account = &list["objects"][0];
    assert_eq!(account["custom_properties"], json!({ "crm_id": 7, "tags": ["a", "b"] }), "{list}");
    let id = account["id"].as_i64().unwrap();
    let path = format!("/v1/accounts/{id}/");
    let (_, one) = call(&server, Method::GET, &path, &key, None).await;
    assert_eq!(one["custom_properties"]["crm_id"], 7);

    // Connected again without any: kept. With others: replaced.
    connect_demo(&server, "ann", &[]).await;
    let (_, one) = call(&server, Method::GET, &path, &key, None).await;
    assert_eq!(one["custom_properties"]["crm_id"], 7, "a reconnection without them keeps them");

    let (status, patched) =
        call(&server, Method::PATCH, &path, &key, Some(json!({ "custom_properties": { "crm_id": 8 } })))
            .await;
    assert_eq!((status, &patched["custom_properties"]), (200, &json!({ "crm_id": 8 })), "{patched}");
    let (_, one) = call(&server, Method::GET, &path, &key, None).await;
    assert_eq!(one["custom_properties"], json!({ "crm_id": 8 }));

    let big = json!({ "k": "x".repeat(5000) });
    for (body, says) in [
        (json!({ "custom_properties": [1] }), "must be a JSON object"),
        (json!({ "custom_properties": big }), "at most 4096 bytes"),
        (json!({ "custom_properties": {}, "account": "renamed" }), "the one field that can be changed"),
        (json!("text"), "the one field that can be changed"),
    ] {
        let (status, error) = call(&server, Method::PATCH, &path, &key, Some(body)).await;
        assert_eq!(status, 400, "{error}");
        assert!(error["error_description"].as_str().unwrap().contains(says), "{error}");
    }
    let (_, one) = call(&server, Method::GET, &path, &key, None).await;
    assert_eq!(one["custom_properties"], json!({ "crm_id": 8 }), "a refused change changes nothing");
}

#[tokio::test]
async fn bad_custom_properties_in_the_popup_are_a_clear_400_and_store_nothing() {
    let server = start().await;
    let big = json!({ "k": "x".repeat(5000) }).to_string();
    for (value, says) in [
        ("[1, 2]", "must be a JSON object"),
        ("{\"a\":", "not valid JSON"),
        (big.as_str(), "at most 4096 bytes"),
    ] {
        let (status, page) = connect_demo(&server, "ann", &[("custom_properties", value)]).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains(says), "{page}");
        let (status, page, _) = popup(&server, "acme", &[("custom_properties", value)]).await;
        assert_eq!(status, 400, "{page}");
    }
    assert!(nothing(&stored(&server).await));
}

#[tokio::test]
async fn kloudless_ids_and_the_catalogues_old_ones_reach_the_same_service() {
    let server = start().await;
    for scope in ["skydrive", "onedrive", "skydrive.storage", "onedrive:admin"] {
        let (status, page, query) = popup(&server, scope, &[]).await;
        assert_eq!(status, 302, "{scope}: {page}");
        assert!(page.starts_with("https://login.microsoftonline.com/"), "{scope}: {page}");
        assert_eq!(
            query["redirect_uri"], "https://auth.example.test/v1/oauth/callback/onedrive",
            "enabled as onedrive: the redirect URI registered with Microsoft stays"
        );
    }
    // An account stored under the old id shows the Kloudless id.
    let store = authenticator_server::store::Store::open(server.database()).await.unwrap();
    let (id, _) = store
        .connect("onedrive:normal.storage", "app", "onedrive", "ann", false, Default::default())
        .await
        .unwrap();
    let (status, account) =
        call(&server, Method::GET, &format!("/v1/accounts/{id}/"), &format!("APIKey {KEY}"), None).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(
        (account["service"].as_str(), account["service_name"].as_str()),
        (Some("skydrive"), Some("OneDrive"))
    );
}
