//! The server over real HTTP: the pop-up flow, the API, trusted-domain and CORS rules, bad input.
//! The tests of what a route answers to given input (the pop-up's pages and their refusals) call
//! the server's router with no socket ([`TestApp`]); the rest go over a real connection
//! ([`TestServer`]).

mod common;

use common::{Reply, Start, Target, TestApp, TestServer};
use reqwest::Method;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const APP_ORIGIN: &str = "http://localhost:3000";
/// The binding cookie of the one browser every request of these tests comes from.
const BROWSER: &str = "kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

async fn start() -> TestServer {
    start_with("", false).await
}

/// A server with the apps of [`configured`] and no more.
async fn start_with(more_apps: &str, test_faults: bool) -> TestServer {
    configured(more_apps).test_faults(test_faults).start().await
}

/// The server's router with the apps of [`configured`], for the tests that need no socket.
async fn app() -> TestApp {
    configured("").app().await
}

/// The apps `app` (trusting the bare `localhost:3000`: http and https; its return pages are `/`
/// and `/settings` there) and `other` (trusting `https://other.test` and
/// `http://intranet.test:8080`), then `more_apps` (TOML); the requests come from [`BROWSER`].
fn configured(more_apps: &str) -> Start<'static> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("www")).unwrap();
    std::fs::write(dir.path().join("www/index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "do not serve").unwrap();
    let toml = format!(
        "www_dir = {:?}\ndist_dir = {:?}\n\
         [[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n\
         return_urls = [\"http://localhost:3000/\", \"http://localhost:3000/settings\"]\n\
         [[apps]]\nclient_id = \"other\"\n\
         trusted_domains = [\"https://other.test\", \"http://intranet.test:8080\"]\n{more_apps}",
        dir.path().join("www"),
        dir.path().join("dist"),
    );
    TestServer::with(&toml).in_dir(dir).browser(BROWSER)
}

/// A form's content type.
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

async fn get(server: &impl Target, path: &str, headers: &[(&str, &str)]) -> Reply {
    server.send(Method::GET, path, headers, b"").await
}

async fn post_form(server: &impl Target, form: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    server.send(Method::POST, "/v1/oauth", &[FORM], body.as_bytes()).await
}

fn protocol_params(scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", "app".into()),
        ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob".into()),
        ("response_type", "token".into()),
        ("state", "st8".into()),
        ("request_id", "req1".into()),
        ("origin", APP_ORIGIN.into()),
        ("scope", scope.into()),
    ]
}

/// [`protocol_params`] with `key` set to `value`.
fn params_with(scope: &str, key: &str, value: &str) -> Vec<(&'static str, String)> {
    let mut params = protocol_params(scope);
    params.iter_mut().filter(|(k, _)| *k == key).for_each(|(_, v)| *v = value.to_owned());
    params
}

fn query(params: &[(&str, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

/// Connects an account through the pop-up's form and returns the result page's embedded JSON.
async fn connect(server: &impl Target, service: &str, account: &str) -> serde_json::Value {
    connect_as(server, "app", service, account).await
}

/// [`connect`] for the app `client_id` (which must trust [`APP_ORIGIN`]).
async fn connect_as(
    server: &impl Target,
    client_id: &str,
    service: &str,
    account: &str,
) -> serde_json::Value {
    let mut form: Vec<(&str, &str)> = Vec::new();
    let params = params_with("any", "client_id", client_id);
    form.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
    form.extend([("service", service), ("account", account), ("action", "connect")]);
    let page = post_form(server, &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    embedded_result(&page.body)
}

fn embedded_result(html: &str) -> serde_json::Value {
    let start =
        html.find("id=\"kloudless-result\">").expect("result JSON") + "id=\"kloudless-result\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test]
async fn chooser_lists_the_services_the_scope_allows() {
    let server = &app().await;
    let page = get(server, &format!("/v1/oauth?{}", query(&protocol_params("crm"))), &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-service=\"salesforce\""));
    assert!(page.body.contains("data-service=\"hubspot\""));
    assert!(!page.body.contains("data-service=\"box\""));
    assert!(page.body.contains("data-action=\"deny\""));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
}

#[tokio::test]
async fn one_allowed_service_skips_the_chooser() {
    let server = &app().await;
    let page = get(server, &format!("/v1/oauth/?{}", query(&protocol_params("gdrive:admin"))), &[]).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("data-service="));
    assert!(page.body.contains("data-action=\"connect\""));
    assert!(page.body.contains("name=\"service\" value=\"gdrive\""));
    assert!(page.body.contains("admin"));
}

#[tokio::test]
async fn connect_issues_a_token_that_the_api_verifies() {
    let server = &start().await;
    let result = connect(server, "box", "alice@example.com").await;
    assert_eq!(result["id"], "req1");
    assert_eq!(result["origin"], APP_ORIGIN);
    let data = &result["data"];
    assert_eq!(data["token_type"], "Bearer");
    assert_eq!(data["state"], "st8");
    assert_eq!(data["scope"], "box:normal.storage");
    let token = data["access_token"].as_str().unwrap();
    let auth = format!("Bearer {token}");
    let headers =
        [("Authorization", auth.as_str()), ("X-Kloudless-Source", "authenticator"), ("Origin", APP_ORIGIN)];

    let info = get(server, "/v1/oauth/token/", &headers).await;
    assert_eq!(info.status, 200);
    let info_json = info.json();
    assert_eq!(info_json["client_id"], "app");
    assert_eq!(info_json["scope"], "box:normal.storage");
    assert_eq!(info.header("access-control-allow-origin"), Some(APP_ORIGIN));
    assert_eq!(info.header("vary"), Some("Origin"));

    let id = info_json["account_id"].as_i64().unwrap();
    for path in [
        format!("/v1/accounts/{id}/?retrieve_full=False"),
        "/v1/accounts/me/".into(),
        "/v1/accounts/me".into(),
    ] {
        let account = get(server, &path, &headers).await;
        assert_eq!(account.status, 200, "{path}");
        let account = account.json();
        assert_eq!(account["id"], id);
        assert_eq!(account["service"], "box");
        assert_eq!(account["account"], "alice@example.com");
        assert_eq!(account["service_name"], "Box (demo)");
    }
    // The same account connected again keeps its id; the token is new.
    let again = connect(server, "box", "alice@example.com").await;
    assert_ne!(again["data"]["access_token"], data["access_token"]);
    let auth2 = format!("Bearer {}", again["data"]["access_token"].as_str().unwrap());
    let info2 = get(server, "/v1/oauth/token/", &[("Authorization", &auth2)]).await.json();
    assert_eq!(info2["account_id"], id);
    // The raw token is nowhere in the database; its hash is.
    let everything = common::everything(server.database()).await;
    assert!(!everything.contains(token));
    assert!(everything.contains(&sha256_hex(token)), "the check reads what is stored");
}

#[tokio::test]
async fn deny_posts_access_denied() {
    let server = &app().await;
    let params = protocol_params("any");
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("action", "deny"));
    let page = post_form(server, &form).await;
    assert_eq!(page.status, 200);
    let data = &embedded_result(&page.body)["data"];
    assert_eq!(data["error"], "access_denied");
    assert_eq!(data["state"], "st8");
    assert!(data.get("access_token").is_none());
}

#[tokio::test]
async fn untrusted_or_malformed_origins_get_an_error_page_that_posts_only_the_setup_error() {
    let server = &app().await;
    for origin in [
        "http://localhost:3001",
        "http://evil.test",
        "http://localhost:3000/",
        "http://localhost:3000/path",
        "http://user@localhost:3000",
        "*",
        "javascript:alert(1)",
        "null",
    ] {
        let params = params_with("any", "origin", origin);
        let page = get(server, &format!("/v1/oauth?{}", query(&params)), &[]).await;
        assert_eq!(page.status, 400, "{origin}");
        let scripts = inline_elements(&page.body, "script");
        assert!(scripts.iter().any(|script| script == SETUP_SCRIPT), "{origin}: the setup error's script");
        assert!(posts_at_most_the_setup_error(&page.body), "{origin}: no other script posts");
        let message = setup_error_message(&page.body).expect("the setup error");
        let posted: serde_json::Value =
            serde_json::from_str(message.strip_prefix("kloudless:").unwrap()).unwrap();
        assert_eq!(posted["data"]["error"], "untrusted_origin", "{origin}");
        assert_eq!(posted["data"].as_object().unwrap().len(), 2, "no state, no token: {posted}");
        assert!(page.body.contains("data-action=\"close\""), "{origin}: the error page's Close button");
        assert!(page.body.contains("<code>untrusted_origin</code>"), "{origin}: its code in the details");
        let form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let posted = post_form(
            server,
            &[form.as_slice(), &[("action", "connect"), ("service", "box"), ("account", "x")]].concat(),
        )
        .await;
        assert_eq!(posted.status, 400, "{origin}");
        assert!(!posted.body.contains("postMessage"));
    }
}

#[tokio::test]
async fn missing_repeated_and_unknown_parameters_are_refused() {
    let server = &app().await;
    let without_state: Vec<_> = protocol_params("any").into_iter().filter(|(k, _)| *k != "state").collect();
    let page = get(server, &format!("/v1/oauth?{}", query(&without_state)), &[]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("state is missing"));
    let page = get(server, &format!("/v1/oauth?{}&state=again", query(&protocol_params("any"))), &[]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("more than once"));
    let unknown_app = params_with("any", "client_id", "nope");
    let page = get(server, &format!("/v1/oauth?{}", query(&unknown_app)), &[]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("no app with client_id nope"));
    let message = setup_error_message(&page.body).expect("the setup error is posted");
    let posted: serde_json::Value =
        serde_json::from_str(message.strip_prefix("kloudless:").unwrap()).unwrap();
    let expected_id = unknown_app.iter().find(|(k, _)| *k == "request_id").map(|(_, v)| v.as_str());
    assert_eq!(posted["type"], "authentication");
    assert_eq!(posted["id"].as_str(), expected_id);
    assert_eq!(posted["data"]["error"], "invalid_client");
    assert!(posted["data"]["error_description"].as_str().unwrap().contains("check the client_id option"));
    assert_eq!(posted["data"].as_object().unwrap().len(), 2, "error and error_description only: {posted}");
    let page = get(server, &format!("/v1/oauth?{}&service=box", query(&protocol_params("crm"))), &[]).await;
    assert_eq!(page.status, 400, "a service outside the scope");
    // Markup in parameters is escaped, never interpreted.
    let hostile = params_with("any", "state", "\"><script>alert(1)</script>");
    let page = get(server, &format!("/v1/oauth?{}", query(&hostile)), &[]).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(page.body.contains("&#34;&#62;&#60;script&#62;alert(1)"), "escaped (askama's entities)");
    // An oversized form body is refused.
    let huge = vec![b'a'; 64 * 1024];
    let reply = server.send(Method::POST, "/v1/oauth", &[FORM], &huge).await;
    assert_eq!(reply.status, 413);
}

#[tokio::test]
async fn the_api_refuses_bad_tokens_and_other_accounts() {
    let server = &start().await;
    let no_token = get(server, "/v1/oauth/token/", &[("Origin", APP_ORIGIN)]).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.json()["error"], "invalid_token");
    assert_eq!(no_token.header("access-control-allow-origin"), Some(APP_ORIGIN), "the page can read the 401");
    let bad = get(server, "/v1/oauth/token", &[("Authorization", "Bearer nope")]).await;
    assert_eq!(bad.status, 401);
    let basic = get(server, "/v1/oauth/token/", &[("Authorization", "Basic abc")]).await;
    assert_eq!(basic.status, 401);

    let alice = connect(server, "box", "alice").await;
    let bob = connect(server, "dropbox", "bob").await;
    let alice_auth = format!("Bearer {}", alice["data"]["access_token"].as_str().unwrap());
    let bob_auth = format!("Bearer {}", bob["data"]["access_token"].as_str().unwrap());
    let bob_id =
        get(server, "/v1/oauth/token/", &[("Authorization", &bob_auth)]).await.json()["account_id"].clone();
    let other = get(server, &format!("/v1/accounts/{bob_id}/"), &[("Authorization", &alice_auth)]).await;
    assert_eq!(other.status, 403);
    assert_eq!(other.json()["error"], "forbidden");
    let malformed = get(server, "/v1/accounts/abc/", &[("Authorization", &alice_auth)]).await;
    assert_eq!(malformed.status, 404);
    let unknown = get(server, "/v1/nothing", &[]).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"], "not_found");
    let wrong_method = server.send(Method::DELETE, "/v1/oauth/token/", &[], b"").await;
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn cors_only_for_trusted_origins() {
    let server = &start().await;
    let preflight = |origin: &'static str| {
        let headers = [
            ("Origin", origin),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization,x-kloudless-source"),
        ];
        async move { server.send(Method::OPTIONS, "/v1/oauth/token/", &headers, b"").await }
    };
    let trusted = preflight(APP_ORIGIN).await;
    assert_eq!(trusted.status, 204);
    assert_eq!(trusted.header("access-control-allow-origin"), Some(APP_ORIGIN));
    let allowed_headers = trusted.header("access-control-allow-headers").unwrap().to_lowercase();
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("x-kloudless-source"));
    for untrusted in ["http://evil.test", "http://other.test"] {
        let refused = preflight(untrusted).await;
        assert_eq!(refused.status, 403, "{untrusted}");
        assert_eq!(refused.header("access-control-allow-origin"), None, "{untrusted}");
    }
    for trusted in ["https://other.test", "https://localhost:3000"] {
        assert_eq!(preflight(trusted).await.header("access-control-allow-origin"), Some(trusted));
    }

    // A valid token of app "app", read from an origin only app "other" trusts: no CORS grant.
    let result = connect(server, "box", "carol").await;
    let auth = format!("Bearer {}", result["data"]["access_token"].as_str().unwrap());
    let cross =
        get(server, "/v1/oauth/token/", &[("Authorization", &auth), ("Origin", "https://other.test")]).await;
    assert_eq!(cross.status, 200);
    assert_eq!(cross.header("access-control-allow-origin"), None);
    let evil =
        get(server, "/v1/accounts/me/", &[("Authorization", &auth), ("Origin", "http://evil.test")]).await;
    assert_eq!(evil.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn relay_demo_and_static_files() {
    let server = &start().await;
    let relay = get(server, "/static/iexd.html", &[]).await;
    assert_eq!(relay.status, 200);
    assert!(relay.body.contains("prepareToOpenAuthenticator"));
    assert!(!relay.body.contains("'*'"));
    let index = get(server, "/", &[]).await;
    assert_eq!(index.body, "<h1>demo</h1>");
    assert_eq!(index.header("content-type"), Some("text/html; charset=utf-8"));
    for path in
        ["/../secret.txt", "/%2e%2e/secret.txt", "/dist/../secret.txt", "/dist/%2e%2e%2fsecret.txt", "/.env"]
    {
        // Sent raw on purpose: an HTTP client would resolve the dot segments before sending.
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let reply = String::from_utf8_lossy(&send_raw(server.addr(), request.as_bytes()).await).into_owned();
        assert!(reply.starts_with("HTTP/1.1 404 "), "{path}: {reply}");
        assert!(!reply.contains("do not serve"), "{path}");
    }
    let unbuilt = get(server, "/dist/kloudless.authenticator.js", &[]).await;
    assert_eq!(unbuilt.status, 404);
    assert!(unbuilt.body.contains("make build"));
}

/// The build's files keep their types (text as UTF-8, whatever the loading page's encoding); a
/// folder, a dotfile or a third level is not a file to serve.
#[tokio::test]
async fn build_files_are_typed_and_folders_are_not_served() {
    let server = start().await;
    let dist = server.dir().join("dist");
    std::fs::create_dir_all(dist.join("esm/deeper")).unwrap();
    for (file, body) in [("lib.js", "1"), ("esm/index.js", "2"), ("lib.wasm", "\0asm"), (".hidden", "h")] {
        std::fs::write(dist.join(file), body).unwrap();
    }
    std::fs::write(dist.join("esm/deeper/x.js"), "3").unwrap();
    for (path, body, kind) in [
        ("/dist/lib.js", "1", "text/javascript; charset=utf-8"),
        ("/dist/esm/index.js", "2", "text/javascript; charset=utf-8"),
        ("/dist/lib.wasm", "\0asm", "application/wasm"),
    ] {
        let reply = get(&server, path, &[]).await;
        assert_eq!(
            (reply.status, reply.body.as_str(), reply.header("content-type")),
            (200, body, Some(kind))
        );
    }
    for path in ["/dist/esm", "/dist/esm/", "/dist/missing.js"] {
        let reply = get(&server, path, &[]).await;
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.body.contains("make build"), "{path}: {}", reply.body);
    }
    for path in ["/dist/.hidden", "/dist/esm/deeper/x.js"] {
        let reply = get(&server, path, &[]).await;
        assert_eq!((reply.status, reply.body.as_str()), (404, "Not found."), "{path}");
    }
}

#[tokio::test]
async fn pages_carry_the_parameters_and_post_only_to_the_origin() {
    let server = &start().await;
    let mut params = protocol_params("storage calendar:admin");
    params.push(("raw[x]", "kept".into()));
    let page = get(server, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<form method=\"get\" action=\"/v1/oauth\">"));
    assert!(page.body.contains("<input type=\"hidden\" name=\"raw[x]\" value=\"kept\">"));
    assert!(page.body.contains("<input type=\"hidden\" name=\"origin\" value=\"http://localhost:3000\">"));
    assert!(page.body.contains(
        "data-service=\"gdrive\" data-search-text=\"google drive (demo) gdrive storage cloud storage\">"
    ));
    assert!(page.body.contains("<span>Google Drive (demo)</span></button>"));
    assert!(page.body.contains("data-service=\"outlook_calendar\""));
    assert!(!page.body.contains("data-service=\"hubspot\""));
    assert!(posts_nothing(&page.body), "the chooser posts nothing");

    // Choosing a service (as the chooser's GET form does) shows its connect page, admin included.
    params.push(("service", "google_calendar".into()));
    let connect_page = get(server, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert_eq!(connect_page.status, 200);
    assert!(connect_page.body.contains("<form method=\"post\" action=\"/v1/oauth\">"));
    assert!(connect_page.body.contains("name=\"account\" value=\"demo.user@example.com\""));
    assert!(connect_page.body.contains("account with admin access."));

    let form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let result =
        post_form(server, &[form.as_slice(), &[("account", " dana "), ("action", "connect")]].concat()).await;
    assert_eq!(result.status, 200);
    assert_eq!(result.header("cache-control"), Some("no-store"));
    assert!(result.body.contains("<body data-result=\"success\">"));
    assert!(result.body.contains("Account connected. You can close this window."));
    assert!(result.body.contains("postMessage(m,same?location.origin:r.origin)"));
    assert!(!result.body.contains("'*'"));
    let embedded = embedded_result(&result.body);
    assert_eq!(embedded["origin"], APP_ORIGIN);
    assert_eq!(embedded["data"]["scope"], "google_calendar:admin.calendar");
    let auth = format!("Bearer {}", embedded["data"]["access_token"].as_str().unwrap());
    let account = get(server, "/v1/accounts/me", &[("Authorization", &auth)]).await.json();
    assert_eq!(account["account"], "dana", "the name is trimmed");
    assert_eq!(account["admin"], true);
    assert!(account["created"].as_str().unwrap().ends_with('Z'));

    // Bad submissions: no account name, a service outside the scope, no action.
    for extra in [
        vec![("account", "  "), ("action", "connect")],
        vec![("account", "x"), ("action", "connect"), ("service", "hubspot")],
        vec![("account", "x")],
    ] {
        let form: Vec<(&str, &str)> = params
            .iter()
            .filter(|(k, _)| extra.iter().all(|(e, _)| e != k))
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let page = post_form(server, &[form.as_slice(), &extra].concat()).await;
        assert_eq!(page.status, 400, "{extra:?}");
        assert!(posts_nothing(&page.body), "{extra:?}");
    }
}

#[tokio::test]
async fn result_json_cannot_break_out_of_its_script() {
    let server = &app().await;
    let params: Vec<_> =
        protocol_params("box")
            .into_iter()
            .map(|(k, v)| {
                if k == "state" { (k, "</script><script>alert(1)</script>\u{2028}&".into()) } else { (k, v) }
            })
            .collect();
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("action", "deny"));
    let page = post_form(server, &form).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<body data-result=\"error\">"));
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(page.body.contains("\\u003c/script\\u003e"));
    assert!(!page.body.contains('\u{2028}'));
    assert_eq!(embedded_result(&page.body)["data"]["state"], "</script><script>alert(1)</script>\u{2028}&");
}

#[tokio::test]
async fn trusted_domains_are_bound_to_their_scheme() {
    let server = &start().await;
    for (client_id, origin, trusted) in [
        // Scheme-bound entries: that origin only (the default port may be written or not).
        ("other", "https://other.test", true),
        ("other", "https://other.test:443", true),
        ("other", "http://other.test", false),
        ("other", "http://other.test:443", false),
        ("other", "https://other.test:8443", false),
        ("other", "http://intranet.test:8080", true),
        ("other", "https://intranet.test:8080", false),
        ("other", "http://intranet.test", false),
        // A bare localhost entry: both schemes, that port only.
        ("app", "http://localhost:3000", true),
        ("app", "https://localhost:3000", true),
        ("app", "http://localhost", false),
        ("app", "https://localhost:3001", false),
        ("app", "http://127.0.0.1:3000", false),
    ] {
        let params: Vec<_> = protocol_params("any")
            .into_iter()
            .map(|(k, v)| match k {
                "client_id" => (k, client_id.into()),
                "origin" => (k, origin.into()),
                _ => (k, v),
            })
            .collect();
        let page = get(server, &format!("/v1/oauth?{}", query(&params)), &[]).await;
        assert_eq!(page.status, if trusted { 200 } else { 400 }, "{origin}");
        // Refused: the error page, which posts only the setup error (no state) to its opener.
        assert_eq!(page.body.contains("<body data-result=\"refused\">"), !trusted, "{origin}");
        assert_eq!(page.body.contains("untrusted_origin"), !trusted, "{origin}");
        assert!(!page.body.contains("\\\"state\\\""), "no state in the setup error: {origin}");
        assert_eq!(
            page.body
                .contains(&format!("The origin {origin} is not a Trusted Domain of app {client_id}: add it")),
            !trusted,
            "{origin}"
        );
    }
    // An origin trusted by another app only is not trusted for this one.
    let params = params_with("any", "origin", "https://other.test");
    let page = get(server, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("The origin https://other.test is not a Trusted Domain of app app: add it"));
}

#[tokio::test]
async fn errors_get_cors_for_the_right_audience() {
    let server = &start().await;
    let alice = connect(server, "box", "alice").await;
    let auth = format!("Bearer {}", alice["data"]["access_token"].as_str().unwrap());
    // A valid token: the 403 is readable only by the token's app's origins.
    let own = get(server, "/v1/accounts/99999/", &[("Authorization", &auth), ("Origin", APP_ORIGIN)]).await;
    assert_eq!(own.status, 403);
    assert_eq!(own.header("access-control-allow-origin"), Some(APP_ORIGIN));
    let foreign =
        get(server, "/v1/accounts/99999/", &[("Authorization", &auth), ("Origin", "https://other.test")])
            .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(foreign.header("access-control-allow-origin"), None);
    assert_eq!(foreign.header("vary"), Some("Origin"));
    // No valid token: any app's origin may read the 401; others may not.
    let other_app =
        get(server, "/v1/accounts/me/", &[("Authorization", "Bearer x"), ("Origin", "https://other.test")])
            .await;
    assert_eq!(other_app.status, 401);
    assert_eq!(other_app.header("access-control-allow-origin"), Some("https://other.test"));
    // The same host on the scheme its entry does not name may not.
    for other_scheme in ["http://other.test", "https://intranet.test:8080"] {
        let refused =
            get(server, "/v1/accounts/me/", &[("Authorization", "Bearer x"), ("Origin", other_scheme)]).await;
        assert_eq!(refused.status, 401);
        assert_eq!(refused.header("access-control-allow-origin"), None, "{other_scheme}");
    }
    let evil = get(server, "/v1/oauth/token/", &[("Origin", "http://evil.test")]).await;
    assert_eq!(evil.status, 401);
    assert_eq!(evil.header("access-control-allow-origin"), None);
    // Unknown API paths are JSON 404s, whatever the method.
    let posted = server.send(Method::POST, "/v1/unknown/thing", &[], b"").await;
    assert_eq!(posted.status, 404);
    assert_eq!(posted.json()["error"], "not_found");
    let text = get(server, "/nope/deeper", &[]).await;
    assert_eq!((text.status, text.body.as_str()), (404, "Not found."));
}

// ---- Security headers ----

/// The directives of a Content-Security-Policy, by name.
fn csp_directives(reply: &Reply) -> std::collections::HashMap<String, Vec<String>> {
    let policy = reply.header("content-security-policy").expect("a Content-Security-Policy");
    policy
        .split(';')
        .filter_map(|directive| {
            let mut words = directive.split_whitespace().map(str::to_owned);
            Some((words.next()?, words.collect()))
        })
        .collect()
}

/// Whether a page's scripts post nothing: at most the pages' own (the Close buttons, the
/// search), none that posts a message.
fn posts_nothing(html: &str) -> bool {
    inline_elements(html, "script").iter().all(|script| !script.contains("postMessage"))
}

/// Whether a page's scripts post nothing but a setup error: the pages' own, and at most the
/// setup error's script ([`SETUP_SCRIPT`], which posts only that error).
fn posts_at_most_the_setup_error(html: &str) -> bool {
    inline_elements(html, "script")
        .iter()
        .all(|script| script == SETUP_SCRIPT || !script.contains("postMessage"))
}

/// The contents of the inline elements `<tag …>…</tag>` of `html` whose opening tag has no
/// `type` attribute (so, for `script`, the ones that run; JSON data blocks are skipped).
fn inline_elements(html: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let tag_end = start + rest[start..].find('>').unwrap();
        let attributes = &rest[start + open.len()..tag_end];
        let end = tag_end + rest[tag_end..].find(&close).unwrap();
        if !attributes.contains("type=") {
            assert!(!attributes.contains("src="), "only inline elements: {attributes}");
            found.push(rest[tag_end + 1..end].to_owned());
        }
        rest = &rest[end..];
    }
    found
}

/// The SHA-256 of `text`, hex-encoded (as the server stores tokens).
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn sha256_source(text: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let hash = sha2::Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(hash))
}

/// A pop-up page's headers: no referrer, never framed, and a strict policy under which its
/// inline style and scripts (and nothing else) apply.
fn assert_popup_headers(page: &Reply, what: &str) {
    assert_eq!(page.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"), "{what}");
    let csp = csp_directives(page);
    let directive = |name: &str| csp.get(name).unwrap_or_else(|| panic!("{what}: no {name} in {csp:?}"));
    assert_eq!(directive("default-src"), &["'none'"], "{what}");
    assert_eq!(directive("frame-ancestors"), &["'none'"], "{what}");
    assert_eq!(directive("form-action"), &["'self'"], "{what}");
    assert_eq!(directive("base-uri"), &["'none'"], "{what}");
    for (name, tag) in [("script-src", "script"), ("style-src", "style")] {
        let sources = directive(name);
        let hashes: Vec<String> =
            inline_elements(&page.body, tag).iter().map(|text| sha256_source(text)).collect();
        if hashes.is_empty() {
            assert_eq!(sources, &["'none'"], "{what}: {name}");
        } else {
            assert_eq!(sources, &hashes, "{what}: {name} allows exactly the page's inline {tag}s");
        }
        assert!(
            sources.iter().all(|s| !s.contains("unsafe") && s != "*" && !s.ends_with(':')),
            "{what}: {sources:?}"
        );
    }
}

#[tokio::test]
async fn popup_pages_send_a_strict_policy() {
    let server = &app().await;
    let chooser = get(server, &format!("/v1/oauth?{}", query(&protocol_params("any"))), &[]).await;
    assert_eq!(chooser.status, 200);
    assert_popup_headers(&chooser, "chooser");
    let connect_page = get(server, &format!("/v1/oauth?{}", query(&protocol_params("box"))), &[]).await;
    assert!(connect_page.body.contains("data-action=\"connect\""));
    assert_popup_headers(&connect_page, "connect");
    // The forms post to this server only: relative actions, which `form-action 'self'` allows.
    for page in [&chooser, &connect_page] {
        assert!(!page.body.contains("action=\"http"));
    }
    let params = protocol_params("box");
    let form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let success = post_form(
        server,
        &[form.as_slice(), &[("service", "box"), ("account", "a"), ("action", "connect")]].concat(),
    )
    .await;
    assert!(success.body.contains("data-result=\"success\""));
    assert_eq!(inline_elements(&success.body, "script").len(), 2, "the pages' and the result's scripts run");
    assert_popup_headers(&success, "result (success)");
    let denied = post_form(server, &[form.as_slice(), &[("action", "deny")]].concat()).await;
    assert!(denied.body.contains("data-result=\"error\""));
    assert_popup_headers(&denied, "result (denied)");
    let error = get(server, "/v1/oauth?client_id=nope", &[]).await;
    assert_eq!(error.status, 400);
    assert_popup_headers(&error, "error page");
    let too_long = get(server, &format!("/v1/oauth?raw={}", "a".repeat(20_000)), &[]).await;
    assert_eq!(too_long.status, 414);
    assert_popup_headers(&too_long, "414 page");
}

#[tokio::test]
async fn the_relay_is_frameable_by_trusted_domains_only() {
    let server = &start().await;
    let relay = get(server, "/static/iexd.html", &[]).await;
    assert_eq!(relay.status, 200);
    assert_eq!(relay.header("x-frame-options"), None, "the relay must stay frameable");
    let csp = csp_directives(&relay);
    assert_eq!(
        csp["frame-ancestors"],
        [
            "http://localhost:3000",
            "https://localhost:3000",
            "https://other.test",
            "http://intranet.test:8080"
        ],
        "exactly the trusted origins: not http://other.test, nor https://intranet.test:8080"
    );
    let scripts = inline_elements(&relay.body, "script");
    assert_eq!(scripts.len(), 1);
    assert!(scripts[0].contains("prepareToOpenAuthenticator"));
    assert_eq!(csp["script-src"], [sha256_source(&scripts[0])]);
    assert_eq!(csp["default-src"], ["'none'"]);
}

#[tokio::test]
async fn demo_and_build_files_are_never_framed() {
    let server = &start().await;
    std::fs::create_dir(server.dir().join("dist")).unwrap();
    std::fs::write(server.dir().join("dist/page.html"), "<p>x</p>").unwrap();
    std::fs::write(server.dir().join("dist/lib.js"), "1").unwrap();
    for path in ["/", "/index.html", "/dist/page.html", "/dist/lib.js", "/v1/oauth/token/", "/missing"] {
        let reply = get(server, path, &[]).await;
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(csp_directives(&reply)["frame-ancestors"], ["'none'"], "{path}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{path}");
    }
    let index = get(server, "/", &[]).await;
    assert_eq!((index.status, index.header("content-type")), (200, Some("text/html; charset=utf-8")));
}

// ---- Origins ----

/// Values that are not a plain `scheme://host[:port]`, most of them around the trusted
/// `http://localhost:3000`, so that only strict parsing refuses them.
const MALFORMED_ORIGINS: [&str; 14] = [
    "http://localhost:3000/",
    "http://localhost:3000/path",
    "http://user@localhost:3000",
    "http://user:pw@localhost:3000",
    "http://localhost:99999",
    "http://localhost:3000#x",
    "http://localhost:3000?x",
    " http://localhost:3000",
    "http://localhost:3000 ",
    "HTTP://localhost:3000",
    "javascript:alert(1)",
    "null",
    "http://localhost:3000.",
    "localhost:3000",
];

#[tokio::test]
async fn the_popup_refuses_origins_that_are_not_plain() {
    let server = &app().await;
    for origin in MALFORMED_ORIGINS {
        let params = params_with("box", "origin", origin);
        let page = get(server, &format!("/v1/oauth?{}", query(&params)), &[]).await;
        assert_eq!(page.status, 400, "{origin:?}");
        assert!(
            page.body.contains("is not a plain scheme://host[:port] origin"),
            "{origin:?}: {}",
            page.body
        );
        let form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let posted =
            post_form(server, &[form.as_slice(), &[("account", "x"), ("action", "connect")]].concat()).await;
        assert_eq!(posted.status, 400, "{origin:?}");
        assert!(posts_nothing(&posted.body), "{origin:?}");
    }
    // An upper-case host is the same origin: accepted, and posted to in its normal form.
    let params = params_with("box", "origin", "http://LOCALHOST:3000");
    let form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let posted = post_form(server, &[form.as_slice(), &[("action", "deny")]].concat()).await;
    assert_eq!(posted.status, 200);
    assert_eq!(embedded_result(&posted.body)["origin"], APP_ORIGIN);
}

#[tokio::test]
async fn cors_refuses_origin_headers_that_are_not_plain() {
    let server = &start().await;
    let result = connect(server, "box", "erin").await;
    let auth = format!("Bearer {}", result["data"]["access_token"].as_str().unwrap());
    // Leading and trailing spaces are not part of a header's value (RFC 9110), so they are
    // left out here: hyper strips them before the server sees the value.
    for origin in MALFORMED_ORIGINS.iter().filter(|o| o.trim() == **o) {
        let headers = [("Origin", *origin), ("Access-Control-Request-Method", "GET")];
        let preflight = server.send(Method::OPTIONS, "/v1/oauth/token/", &headers, b"").await;
        assert_eq!(preflight.status, 403, "{origin}");
        assert_eq!(preflight.header("access-control-allow-origin"), None, "{origin}");
        for path in ["/v1/oauth/token/", "/v1/accounts/me/"] {
            let with_token = get(server, path, &[("Authorization", &auth), ("Origin", origin)]).await;
            assert_eq!(with_token.status, 200, "{origin}");
            assert_eq!(with_token.header("access-control-allow-origin"), None, "{origin} {path}");
            let without = get(server, path, &[("Origin", origin)]).await;
            assert_eq!(without.status, 401, "{origin}");
            assert_eq!(without.header("access-control-allow-origin"), None, "{origin} {path}");
        }
    }
    let trusted = get(server, "/v1/oauth/token/", &[("Authorization", &auth), ("Origin", APP_ORIGIN)]).await;
    assert_eq!(trusted.header("access-control-allow-origin"), Some(APP_ORIGIN));
}

// ---- Bad input stores nothing ----

/// The number of rows of every table of the server's database.
async fn row_counts(server: &TestServer) -> Vec<(String, usize)> {
    let counts = common::row_counts(server.database()).await;
    let tables: Vec<&str> = counts.iter().map(|(t, _)| t.as_str()).collect();
    assert!(tables.contains(&"accounts") && tables.contains(&"tokens"), "{tables:?}");
    counts
}

/// The script of a setup error's page (which posts only that error: no state, no token).
const SETUP_SCRIPT: &str = include_str!("../templates/scripts/post_setup_error.js").trim_ascii_end();

/// An error page of the pop-up: posts nothing, or (a setup error) only its error.
fn assert_error_page(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"), "{what}");
    assert!(reply.body.contains("data-result=\"refused\""), "{what}: {}", reply.body);
    assert!(posts_at_most_the_setup_error(&reply.body), "{what}");
}

/// A JSON error of the API.
fn assert_json_error(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"), "{what}");
    assert!(reply.json()["error"].is_string(), "{what}");
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_stores_nothing() {
    let server = &start().await;
    let before = row_counts(server).await;
    assert!(before.iter().all(|(_, n)| *n == 0), "{before:?}");
    // A complete, valid connect form, as the pop-up posts it.
    let valid = format!("{}&service=box&account=mallory&action=connect", query(&protocol_params("box")));
    let post = |body: Vec<u8>| async move { server.send(Method::POST, "/v1/oauth", &[FORM], &body).await };
    let without = |key: &str| {
        let params: Vec<_> = protocol_params("box").into_iter().filter(|(k, _)| *k != key).collect();
        format!("{}&service=box&account=mallory&action=connect", query(&params))
    };
    // `valid` with its account name replaced by raw bytes.
    let raw_account = |bytes: &[u8]| {
        let (head, tail) = valid.split_once("mallory").unwrap();
        [head.as_bytes(), bytes, tail.as_bytes()].concat()
    };
    let mut bad_forms: Vec<(String, Vec<u8>, u16)> = vec![
        ("client_id twice".into(), format!("{valid}&client_id=app").into_bytes(), 400),
        ("state twice".into(), format!("{valid}&state=st8").into_bytes(), 400),
        ("account twice".into(), format!("{valid}&account=other").into_bytes(), 400),
        ("%FF in the account".into(), raw_account(b"mal%FFlory"), 400),
        ("%FF in the state".into(), valid.replace("state=st8", "state=%FF").into_bytes(), 400),
        ("%FF in a name".into(), format!("{valid}&raw%FF=1").into_bytes(), 400),
        ("half a UTF-8 sequence".into(), raw_account(b"%C3"), 400),
        ("raw invalid bytes in the account".into(), raw_account(b"mal\xff\xfelory"), 400),
        ("raw invalid bytes in another field".into(), [valid.as_bytes(), b"&raw[x]=\xff"].concat(), 400),
        ("oversized body".into(), format!("{valid}&raw[pad]={}", "a".repeat(20_000)).into_bytes(), 413),
    ];
    for key in ["client_id", "state", "request_id", "origin", "response_type"] {
        bad_forms.push((format!("no {key}"), without(key).into_bytes(), 400));
    }
    for (what, body, status) in bad_forms {
        assert_error_page(&post(body).await, status, &what);
    }
    // The same on the pop-up's GET: an error page.
    let shown = query(&protocol_params("box"));
    for (what, query, status) in [
        ("client_id twice", format!("{shown}&client_id=app"), 400),
        ("state twice", format!("{shown}&state=st8"), 400),
        ("%FF", shown.replace("state=st8", "state=%FF"), 400),
        ("oversized query", format!("{shown}&raw={}", "a".repeat(20_000)), 414),
        ("nothing", String::new(), 400),
    ] {
        assert_error_page(&get(server, &format!("/v1/oauth?{query}"), &[]).await, status, what);
    }
    // A request target with a raw byte that is not ASCII never reaches the handlers.
    let raw =
        send_raw(server.addr(), b"GET /v1/oauth?state=\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
    assert!(raw.starts_with(b"HTTP/1.1 4"), "{}", String::from_utf8_lossy(&raw));

    // The API: JSON errors.
    let token = connect(server, "box", "alice").await["data"]["access_token"].as_str().unwrap().to_owned();
    let before = row_counts(server).await;
    let auth = format!("Bearer {token}");
    let with_auth = [("Authorization", auth.as_str())];
    for path in ["/v1/oauth/token/", "/v1/accounts/me/"] {
        for (what, target, status) in [
            ("%FF in the query", format!("{path}?retrieve_full=%FF"), 400),
            ("a repeated parameter", format!("{path}?retrieve_full=False&retrieve_full=True"), 400),
            ("oversized query", format!("{path}?raw={}", "a".repeat(20_000)), 414),
        ] {
            assert_json_error(&get(server, &target, &with_auth).await, status, &format!("{path}: {what}"));
        }
        assert_json_error(&get(server, path, &[]).await, 401, "no token");
        let twice = get(server, path, &[("Authorization", &auth), ("Authorization", "Bearer nope")]).await;
        assert_json_error(&twice, 400, "two Authorization headers");
        let with_body = |body: &'static [u8]| server.send(Method::GET, path, &with_auth, body);
        assert_json_error(&with_body(b"x=1").await, 400, "a body");
        assert_json_error(&with_body(&[b'a'; 20_000]).await, 413, "an oversized body");
        let raw_auth =
            [format!("GET {path} HTTP/1.1\r\nAuthorization: Bearer ").as_bytes(), b"\xff\xfe"].concat();
        let reply =
            send_raw(server.addr(), &[&raw_auth[..], b"\r\nHost: x\r\nConnection: close\r\n\r\n"].concat())
                .await;
        assert!(reply.starts_with(b"HTTP/1.1 401"), "{}", String::from_utf8_lossy(&reply));
        // The API still answers a well-formed request with a query.
        let ok = get(server, &format!("{path}?retrieve_full=False"), &with_auth).await;
        assert_eq!(ok.status, 200, "{path}");
    }
    assert_eq!(row_counts(server).await, before, "nothing stored by the bad requests");

    // The counts do see a real connection: the valid form the bad ones were made from (an
    // account, its token and its account.connected event).
    let stored = post(valid.clone().into_bytes()).await;
    assert!(stored.body.contains("data-result=\"success\""), "{}", stored.body);
    let after = row_counts(server).await;
    assert_eq!(after.iter().map(|(_, n)| n).sum::<usize>(), before.iter().map(|(_, n)| n).sum::<usize>() + 3);
}

/// Sends `request` as is, for the requests no HTTP client sends (raw bytes, dot segments, a
/// connection the server drops); returns every byte of the reply (none when the server closed the
/// connection without replying or reset it).
async fn send_raw(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw).await {
        Ok(_) => raw,
        Err(error) => {
            assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
            raw
        }
    }
}

// ---- Test faults (--test-faults, with the test-support feature) ----

/// One app per endpoint and kind, each trusting [`APP_ORIGIN`], with the fault in its name.
#[cfg(feature = "test-support")]
fn fault_apps() -> String {
    let mut toml = String::new();
    for endpoint in ["token", "account"] {
        for kind in ["status_500", "status_401", "malformed_json", "slow", "drop", "other_client_id"] {
            if endpoint == "account" && kind == "other_client_id" {
                continue;
            }
            let slow = if kind == "slow" { ", slow_ms = 400" } else { "" };
            toml += &format!(
                "[[apps]]\nclient_id = \"{endpoint}-{kind}\"\ntrusted_domains = [\"localhost:3000\"]\n\
                 fault = {{ endpoint = \"{endpoint}\", kind = \"{kind}\"{slow} }}\n"
            );
        }
    }
    toml
}

#[cfg(feature = "test-support")]
fn api_path(endpoint: &str) -> &'static str {
    if endpoint == "token" { "/v1/oauth/token/" } else { "/v1/accounts/me/" }
}

#[cfg(feature = "test-support")]
#[tokio::test]
async fn faults_misbehave_as_configured_with_cors() {
    let server = &start_with(&fault_apps(), true).await;
    let token_of = |client_id: &'static str| async move {
        let result = connect_as(server, client_id, "box", "faulty").await;
        format!("Bearer {}", result["data"]["access_token"].as_str().unwrap())
    };
    for endpoint in ["token", "account"] {
        let path = api_path(endpoint);
        let other_path = api_path(if endpoint == "token" { "account" } else { "token" });
        let call = |auth: String| async move {
            get(server, path, &[("Authorization", &auth), ("Origin", APP_ORIGIN)]).await
        };

        let auth =
            token_of(if endpoint == "token" { "token-status_500" } else { "account-status_500" }).await;
        let reply = call(auth.clone()).await;
        assert_eq!(reply.status, 500, "{endpoint}");
        assert_eq!(reply.json()["error"], "server_error");
        assert_eq!(reply.header("access-control-allow-origin"), Some(APP_ORIGIN), "{endpoint}");
        // Only the configured endpoint misbehaves.
        let other = get(server, other_path, &[("Authorization", &auth)]).await;
        assert_eq!(other.status, 200, "{endpoint}");

        let reply =
            call(token_of(if endpoint == "token" { "token-status_401" } else { "account-status_401" }).await)
                .await;
        assert_eq!(reply.status, 401, "{endpoint}");
        assert_eq!(reply.json()["error"], "invalid_token");
        assert_eq!(reply.header("access-control-allow-origin"), Some(APP_ORIGIN), "{endpoint}");

        let auth =
            token_of(if endpoint == "token" { "token-malformed_json" } else { "account-malformed_json" })
                .await;
        let reply = call(auth).await;
        assert_eq!(reply.status, 200, "{endpoint}");
        assert_eq!(reply.header("content-type"), Some("application/json"), "{endpoint}");
        assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_err(), "{}", reply.body);
        assert!(reply.body.starts_with('{'), "{}", reply.body);
        assert_eq!(reply.header("access-control-allow-origin"), Some(APP_ORIGIN), "{endpoint}");

        let auth = token_of(if endpoint == "token" { "token-slow" } else { "account-slow" }).await;
        let started = std::time::Instant::now();
        let reply = call(auth.clone()).await;
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(400),
            "{endpoint}: {:?}",
            started.elapsed()
        );
        assert_eq!(reply.status, 200, "{endpoint}");
        assert_eq!(reply.header("access-control-allow-origin"), Some(APP_ORIGIN), "{endpoint}");
        if endpoint == "token" {
            assert_eq!(reply.json()["client_id"], "token-slow");
        } else {
            assert_eq!(reply.json()["account"], "faulty");
        }

        let auth = token_of(if endpoint == "token" { "token-drop" } else { "account-drop" }).await;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nOrigin: {APP_ORIGIN}\r\nConnection: close\r\n\r\n"
        );
        let raw = send_raw(server.addr(), request.as_bytes()).await;
        assert!(raw.is_empty(), "{endpoint}: no response at all, got {:?}", String::from_utf8_lossy(&raw));
        // The same request with keep-alive: the connection is closed all the same.
        let raw = send_raw(
            server.addr(),
            request.replace("Connection: close", "Connection: keep-alive").as_bytes(),
        )
        .await;
        assert!(raw.is_empty(), "{endpoint}: {:?}", String::from_utf8_lossy(&raw));
        // The server itself carries on.
        assert_eq!(get(server, other_path, &[("Authorization", &auth)]).await.status, 200);
    }

    let reply = get(
        server,
        "/v1/oauth/token/",
        &[("Authorization", &token_of("token-other_client_id").await), ("Origin", APP_ORIGIN)],
    )
    .await;
    assert_eq!(reply.status, 200);
    let info = reply.json();
    assert_eq!(info["client_id"], "app", "another app's id");
    assert_eq!(info["scope"], "box:normal.storage");
    assert!(info["account_id"].is_i64());
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP_ORIGIN));

    // Apps without a fault, and requests without a valid token, are untouched.
    let normal = get(server, "/v1/oauth/token/", &[("Authorization", &token_of("app").await)]).await;
    assert_eq!((normal.status, normal.json()["client_id"].clone()), (200, serde_json::json!("app")));
    assert_eq!(get(server, "/v1/oauth/token/", &[("Authorization", "Bearer nope")]).await.status, 401);
}

#[cfg(feature = "test-support")]
#[test]
fn faults_need_the_flag() {
    use authenticator_server::config::Config;
    let at = "127.0.0.1:0".parse().unwrap();
    let error = Config::from_toml(&fault_apps(), at, "db".into()).unwrap_err().to_string();
    assert!(error.contains("--test-faults"), "{error}");
    assert!(Config::from_toml_with_faults(&fault_apps(), at, "db".into(), true).is_ok());
}

/// POSTs a progress check from `origin`.
async fn progress(server: &impl Target, origin: &str, form: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    server.send(Method::POST, "/v1/oauth/progress", &[FORM, ("Origin", origin)], body.as_bytes()).await
}

/// [`protocol_params`] with the library's `return_to`: a page of [`APP_ORIGIN`].
fn tracked_params(scope: &str) -> Vec<(&'static str, String)> {
    let mut params = protocol_params(scope);
    params.push(("return_to", format!("{APP_ORIGIN}/settings?tab=accounts")));
    params
}

#[tokio::test]
async fn a_tracked_flow_reports_its_progress_and_its_result_goes_back_to_the_launching_page() {
    let running = &start().await;
    let server = running;
    let ask = |origin: &'static str, client_id: &'static str| async move {
        progress(server, origin, &[("client_id", client_id), ("request_id", "req1")]).await
    };
    assert_eq!(ask(APP_ORIGIN, "app").await.status, 204, "nothing tracked yet");

    let params = tracked_params("any");
    let chooser = get(server, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert_eq!(chooser.status, 200);
    assert!(chooser.body.contains("data-request=\"req1\""), "the abandon beacon knows the flow");
    let under_way = ask(APP_ORIGIN, "app").await;
    assert_eq!(under_way.status, 202);
    assert_eq!(under_way.header("access-control-allow-origin"), Some(APP_ORIGIN));
    assert_eq!(under_way.header("cache-control"), Some("no-store"));
    let untrusted = ask("http://evil.test", "app").await;
    assert_eq!(untrusted.header("access-control-allow-origin"), None, "no page elsewhere reads it");
    assert_eq!(ask(APP_ORIGIN, "other").await.status, 204, "another app's flow is unknown");

    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.extend([("service", "box"), ("account", "r@example.com"), ("action", "connect")]);
    let page = post_form(server, &form).await;
    let embedded = embedded_result(&page.body);
    assert_eq!(embedded["return_to"], format!("{APP_ORIGIN}/settings?tab=accounts"));
    assert_eq!(ask(APP_ORIGIN, "app").await.status, 202, "the result is on its way back");

    assert_eq!(progress(server, APP_ORIGIN, &[("client_id", "app"), ("request_id", "")]).await.status, 400);
    let twice = [("client_id", "app"), ("request_id", "req1"), ("request_id", "req1")];
    assert_eq!(progress(server, APP_ORIGIN, &twice).await.status, 400);
}

#[tokio::test]
async fn no_endpoint_hands_a_token_to_a_client_that_is_not_the_popup() {
    // The attack the second channel once allowed: a page (or curl) opens the real pop-up for the
    // real app, claiming a trusted origin; the victim connects; the attacker then asks every
    // endpoint, with any Origin it likes.
    let running = &start().await;
    let server = running;
    let stolen =
        get(server, &format!("/v1/oauth?{}", query(&params_with("box", "origin", "http://evil.test"))), &[])
            .await;
    assert_eq!(stolen.status, 400, "an untrusted origin gets no pop-up");
    let mut elsewhere = protocol_params("box");
    elsewhere.push(("return_to", "http://evil.test/steal".into()));
    assert_eq!(
        get(server, &format!("/v1/oauth?{}", query(&elsewhere)), &[]).await.status,
        400,
        "nor another return page"
    );

    let params = tracked_params("box");
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.extend([("service", "box"), ("account", "victim@example.com"), ("action", "connect")]);
    let token = embedded_result(&post_form(server, &form).await.body)["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let form_body = "client_id=app&request_id=req1&verifier=".to_owned() + &"ab".repeat(32);
    let mut answers = Vec::new();
    for origin in [APP_ORIGIN, "http://evil.test", "null"] {
        for path in ["/v1/oauth/progress", "/v1/oauth/rendezvous", "/v1/oauth/progress/abandon", "/v1/oauth"]
        {
            let headers = [FORM, ("Origin", origin)];
            answers.push(server.send(Method::POST, path, &headers, form_body.as_bytes()).await);
        }
        for path in ["/v1/oauth/token/", "/v1/accounts/me/", "/v1/oauth/progress"] {
            answers.push(get(server, path, &[("Origin", origin)]).await);
        }
    }
    assert_eq!(answers.len(), 21);
    for answer in answers {
        assert!(!answer.body.contains(&token), "{} leaked the token: {}", answer.status, answer.body);
    }
}

#[tokio::test]
async fn closing_the_popup_abandons_its_flow() {
    let running = &start().await;
    let params = tracked_params("box");
    get(running, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    let form = [("client_id", "app"), ("request_id", "req1")];
    assert_eq!(progress(running, APP_ORIGIN, &form).await.status, 202);
    let text = [("Content-Type", "text/plain")];
    let beacon = running.send(Method::POST, "/v1/oauth/progress/abandon", &text, b"req1").await;
    assert_eq!(beacon.status, 204);
    let closed = progress(running, APP_ORIGIN, &form).await;
    assert_eq!(closed.status, 205, "closed by the user, and no error status for a flow that is over");
    let bad = running.send(Method::POST, "/v1/oauth/progress/abandon", &[], b"").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn return_to_must_be_a_plain_page_of_the_launching_origin() {
    let running = &start().await;
    let long = format!("{APP_ORIGIN}/{}", "x".repeat(2100));
    for bad in [
        "/settings",
        "settings",
        "http://localhost:3001/settings",
        "https://localhost:3000/settings",
        "http://user:pw@localhost:3000/settings",
        "http://localhost:3000/settings#tab",
        "javascript:alert(1)//localhost:3000",
        long.as_str(),
    ] {
        let mut params = protocol_params("box");
        params.push(("return_to", bad.into()));
        let page = get(running, &format!("/v1/oauth?{}", query(&params)), &[]).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.body.contains("return_to"), "{bad}: {}", page.body);
    }
    let mut params = protocol_params("box");
    params.push(("return_to", APP_ORIGIN.to_owned()));
    assert_eq!(
        get(running, &format!("/v1/oauth?{}", query(&params)), &[]).await.status,
        200,
        "the origin's root"
    );
}

#[tokio::test]
async fn return_to_must_be_a_registered_return_page_its_query_aside() {
    // The attack: a pop-up opened (noopener) with `return_to` at an open redirect of the trusted
    // origin, a blob: URL of it, or a `//` path, took the result wherever those lead.
    let running = &start().await;
    for bad in [
        "http://localhost:3000/redirect?next=https://attacker.test/",
        "blob:http://localhost:3000/0b7e1a4c-5c4e-4a4f-9d1e-3f2a1b0c9d8e",
        "http://localhost:3000//attacker.test/",
        "http://localhost:3000/settings/",
        "http://localhost:3000/SETTINGS",
    ] {
        let mut params = protocol_params("box");
        params.push(("return_to", bad.into()));
        let page = get(running, &format!("/v1/oauth?{}", query(&params)), &[]).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.body.contains("return_to"), "{bad}: {}", page.body);
        assert!(!page.body.contains("kloudless-result"), "{bad}: no result page");
    }
    let mut params = protocol_params("box");
    params.push(("return_to", "http://localhost:3000/redirect".into()));
    let page = get(running, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert!(
        page.body.contains("not a registered return URL") && page.body.contains("return_urls"),
        "{}",
        page.body
    );
    for good in ["http://localhost:3000/settings?next=https://attacker.test/", "http://localhost:3000/?a=b"] {
        let mut params = protocol_params("box");
        params.push(("return_to", good.into()));
        assert_eq!(get(running, &format!("/v1/oauth?{}", query(&params)), &[]).await.status, 200, "{good}");
    }
}

#[tokio::test]
async fn an_app_without_return_pages_gets_postmessage_only() {
    let running = &start().await;
    // `other` registered no return URL: its `return_to` is ignored, and the flow is not tracked.
    let mut params = params_with("box", "client_id", "other");
    params.iter_mut().filter(|(k, _)| *k == "origin").for_each(|(_, v)| *v = "https://other.test".into());
    params.push(("return_to", "https://other.test/anywhere?next=https://attacker.test/".into()));
    let page = get(running, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("data-request"), "no abandon beacon: nothing tracked");
    assert!(!page.body.contains("attacker.test"), "return_to is not carried on");
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.extend([("service", "box"), ("account", "p@example.com"), ("action", "connect")]);
    let result = post_form(running, &form).await;
    let embedded = embedded_result(&result.body);
    assert_eq!((embedded["return_to"].is_null(), embedded["code"].is_null()), (true, true));
    assert!(result.body.contains("id=\"kloudless-unreachable\" hidden"), "the page can say why");
    assert!(result.body.contains("registered no return page"));
    let ask = [("client_id", "other"), ("request_id", "req1")];
    assert_eq!(progress(running, "https://other.test", &ask).await.status, 204, "not tracked");
}

/// POSTs a redemption of `code` from `origin`.
async fn redeem(server: &impl Target, origin: &str, form: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let headers = [FORM, ("Origin", origin)];
    server.send(Method::POST, "/v1/oauth/progress/redeem", &headers, body.as_bytes()).await
}

/// Runs a tracked flow of `request_id` to its result page; returns the page's embedded JSON.
async fn returned_flow(server: &impl Target, request_id: &str) -> serde_json::Value {
    let mut params = tracked_params("box");
    params.iter_mut().filter(|(k, _)| *k == "request_id").for_each(|(_, v)| *v = request_id.to_owned());
    get(server, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.extend([("service", "box"), ("account", "r@example.com"), ("action", "connect")]);
    embedded_result(&post_form(server, &form).await.body)
}

#[tokio::test]
async fn the_return_page_gets_a_one_time_code_that_only_the_flows_origin_redeems_once() {
    let running = &start().await;
    let server = running;
    let embedded = returned_flow(server, "req1").await;
    let token = embedded["data"]["access_token"].as_str().unwrap().to_owned();
    let code = embedded["code"].as_str().expect("a code for the return page").to_owned();
    assert!(code.len() == 64 && code.bytes().all(|b| b.is_ascii_hexdigit()), "{code}");
    assert_ne!(code, token);
    let everything = common::everything(running.database()).await;
    assert!(
        !everything.contains(&code) && !everything.contains(&token),
        "the code hashed, the result sealed"
    );

    let flow = [("code", code.as_str()), ("client_id", "app"), ("request_id", "req1")];
    let elsewhere = redeem(server, "http://evil.test", &flow).await;
    assert_eq!((elsewhere.status, elsewhere.json()["error"].as_str()), (400, Some("invalid_code")));
    assert_eq!(elsewhere.header("access-control-allow-origin"), None);
    assert!(!elsewhere.body.contains(&token));
    let other_flow = [("code", code.as_str()), ("client_id", "app"), ("request_id", "req2")];
    assert_eq!(redeem(server, APP_ORIGIN, &other_flow).await.status, 400, "another flow's");
    let other_app = [("code", code.as_str()), ("client_id", "other"), ("request_id", "req1")];
    assert_eq!(redeem(server, APP_ORIGIN, &other_app).await.status, 400, "another app's");

    let ask = [("client_id", "app"), ("request_id", "req1")];
    assert_eq!(progress(server, APP_ORIGIN, &ask).await.status, 202, "on its way back");
    let redeemed = redeem(server, APP_ORIGIN, &flow).await;
    assert_eq!(redeemed.status, 200, "the refusals above took nothing: {}", redeemed.body);
    assert_eq!(redeemed.header("access-control-allow-origin"), Some(APP_ORIGIN));
    assert_eq!(redeemed.header("cache-control"), Some("no-store"));
    assert_eq!(redeemed.body, embedded["message"].as_str().unwrap(), "the result message");
    assert!(redeemed.body.starts_with("kloudless:") && redeemed.body.contains(&token));
    assert_eq!(progress(server, APP_ORIGIN, &ask).await.status, 204, "handed over: the flow is done");

    let again = redeem(server, APP_ORIGIN, &flow).await;
    assert_eq!((again.status, again.json()["error"].as_str()), (400, Some("invalid_code")), "single use");
    assert!(!again.body.contains(&token));
    let missing = redeem(server, APP_ORIGIN, &[("client_id", "app"), ("request_id", "req1")]).await;
    assert_eq!((missing.status, missing.json()["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn a_return_code_expires_with_the_return_window() {
    let running = &start_with("[popup_flows]\nreturn_window_secs = 1\n", false).await;
    let code = returned_flow(running, "req1").await["code"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let flow = [("code", code.as_str()), ("client_id", "app"), ("request_id", "req1")];
    let late = redeem(running, APP_ORIGIN, &flow).await;
    assert_eq!((late.status, late.json()["error"].as_str()), (400, Some("invalid_code")));
}

#[tokio::test]
async fn a_result_not_handed_over_is_reported_after_the_return_window() {
    let running = &start_with("[popup_flows]\nreturn_window_secs = 1\n", false).await;
    let params = tracked_params("box");
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.extend([("service", "box"), ("account", "r@example.com"), ("action", "connect")]);
    get(running, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    post_form(running, &form).await;
    let ask = [("client_id", "app"), ("request_id", "req1")];
    assert_eq!(progress(running, APP_ORIGIN, &ask).await.status, 202);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let gone = progress(running, APP_ORIGIN, &ask).await;
    assert_eq!(gone.status, 410);
    assert_eq!(gone.json()["error"], "not_delivered");
}

#[tokio::test]
async fn a_flood_from_one_client_gets_429_a_full_app_is_served_untracked_and_other_apps_users_pass() {
    let more = "[[apps]]\nclient_id = \"two\"\ntrusted_domains = [\"localhost:3000\"]\n\
                return_urls = [\"http://localhost:3000/\"]\n\
                [popup_flows]\nmax_per_client = 3\nmax_per_app = 5\n";
    let running = &start_with(more, false).await;
    let popup = |from: &'static str, client_id: &'static str, request_id: String| async move {
        let mut params = params_with("box", "client_id", client_id);
        params.iter_mut().filter(|(k, _)| *k == "request_id").for_each(|(_, v)| *v = request_id.clone());
        params.push(("return_to", format!("{APP_ORIGIN}/")));
        let path = format!("/v1/oauth?{}", query(&params));
        Reply::of(running.request_from(from.parse().unwrap(), Method::GET, &path)).await
    };
    for i in 0..3 {
        assert_eq!(popup("127.0.0.2", "app", format!("f{i}")).await.status, 200);
    }
    let refused = popup("127.0.0.2", "two", "f3".into()).await;
    assert_eq!(refused.status, 429, "one client's quota covers every app");
    assert!(refused.body.contains("Too many sign-in windows"), "{}", refused.body);
    assert_eq!(popup("127.0.0.2", "app", "f0".into()).await.status, 200, "reloading a tracked flow is free");
    assert_eq!(popup("127.0.0.3", "app", "g0".into()).await.status, 200);
    assert_eq!(popup("127.0.0.4", "app", "g1".into()).await.status, 200);
    let past = popup("127.0.0.5", "app", "g2".into()).await;
    assert_eq!(past.status, 200, "the app's quota is full: served untracked, not refused");
    let ask = [("client_id", "app"), ("request_id", "g2")];
    assert_eq!(progress(running, APP_ORIGIN, &ask).await.status, 204, "untracked");
    assert_eq!(popup("127.0.0.1", "two", "mine".into()).await.status, 200, "another app's user");
    let untracked = get(running, &format!("/v1/oauth?{}", query(&protocol_params("box"))), &[]).await;
    assert_eq!(untracked.status, 200, "a flow the server keeps nothing for needs no quota");
}

/// The message a setup error page posts to its opener (`#kloudless-setup-error`), if any.
fn setup_error_message(body: &str) -> Option<String> {
    let start = body.find("id=\"kloudless-setup-error\">")? + "id=\"kloudless-setup-error\">".len();
    let end = start + body[start..].find("</script>")?;
    serde_json::from_str(&body[start..end]).ok()
}
