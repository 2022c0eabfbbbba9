//! The server over real HTTP: the pop-up flow, the API, trusted-domain and CORS rules, bad input.

use authenticator_server::Server;
use authenticator_server::config::Config;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const APP_ORIGIN: &str = "http://localhost:3000";

struct Running {
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("www")).unwrap();
    std::fs::write(dir.path().join("www/index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "do not serve").unwrap();
    let toml = format!(
        "www_dir = {:?}\ndist_dir = {:?}\n\
         [[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n\
         [[apps]]\nclient_id = \"other\"\ntrusted_domains = [\"other.test\"]\n",
        dir.path().join("www"),
        dir.path().join("dist"),
    );
    let config =
        Config::from_toml(&toml, "127.0.0.1:0".parse().unwrap(), dir.path().join("data/db.sqlite")).unwrap();
    let server = Server::bind(config).await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run());
    Running { addr, dir }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh connection; `head` is the request line and headers.
async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    Reply { status, headers, body: body.to_owned() }
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let extra: String = headers.iter().map(|(k, v)| format!("\r\n{k}: {v}")).collect();
    send(addr, &format!("GET {path} HTTP/1.1{extra}"), b"").await
}

async fn post_form(addr: SocketAddr, form: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    send(addr, "POST /v1/oauth HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded", body.as_bytes())
        .await
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
async fn connect(addr: SocketAddr, service: &str, account: &str) -> serde_json::Value {
    let mut form: Vec<(&str, &str)> = Vec::new();
    let params = protocol_params("any");
    form.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
    form.extend([("service", service), ("account", account), ("action", "connect")]);
    let page = post_form(addr, &form).await;
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
    let server = start().await;
    let page = get(server.addr, &format!("/v1/oauth?{}", query(&protocol_params("crm"))), &[]).await;
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
    let server = start().await;
    let page =
        get(server.addr, &format!("/v1/oauth/?{}", query(&protocol_params("gdrive:admin"))), &[]).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("data-service="));
    assert!(page.body.contains("data-action=\"connect\""));
    assert!(page.body.contains("name=\"service\" value=\"gdrive\""));
    assert!(page.body.contains("admin"));
}

#[tokio::test]
async fn connect_issues_a_token_that_the_api_verifies() {
    let server = start().await;
    let result = connect(server.addr, "box", "alice@example.com").await;
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

    let info = get(server.addr, "/v1/oauth/token/", &headers).await;
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
        let account = get(server.addr, &path, &headers).await;
        assert_eq!(account.status, 200, "{path}");
        let account = account.json();
        assert_eq!(account["id"], id);
        assert_eq!(account["service"], "box");
        assert_eq!(account["account"], "alice@example.com");
        assert_eq!(account["service_name"], "Box (demo)");
    }
    // The same account connected again keeps its id; the token is new.
    let again = connect(server.addr, "box", "alice@example.com").await;
    assert_ne!(again["data"]["access_token"], data["access_token"]);
    let auth2 = format!("Bearer {}", again["data"]["access_token"].as_str().unwrap());
    let info2 = get(server.addr, "/v1/oauth/token/", &[("Authorization", &auth2)]).await.json();
    assert_eq!(info2["account_id"], id);
    // The raw token is nowhere in the database files.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(server.dir.path().join("data")).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(!String::from_utf8_lossy(&bytes).contains(token));
}

#[tokio::test]
async fn deny_posts_access_denied() {
    let server = start().await;
    let params = protocol_params("any");
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("action", "deny"));
    let page = post_form(server.addr, &form).await;
    assert_eq!(page.status, 200);
    let data = &embedded_result(&page.body)["data"];
    assert_eq!(data["error"], "access_denied");
    assert_eq!(data["state"], "st8");
    assert!(data.get("access_token").is_none());
}

#[tokio::test]
async fn untrusted_or_malformed_origins_get_an_error_page_that_posts_nothing() {
    let server = start().await;
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
        let page = get(server.addr, &format!("/v1/oauth?{}", query(&params)), &[]).await;
        assert_eq!(page.status, 400, "{origin}");
        assert!(!page.body.contains("postMessage"), "{origin}");
        assert!(!page.body.contains("<script"), "{origin}");
        let form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let posted = post_form(
            server.addr,
            &[form.as_slice(), &[("action", "connect"), ("service", "box"), ("account", "x")]].concat(),
        )
        .await;
        assert_eq!(posted.status, 400, "{origin}");
        assert!(!posted.body.contains("postMessage"));
    }
}

#[tokio::test]
async fn missing_repeated_and_unknown_parameters_are_refused() {
    let server = start().await;
    let without_state: Vec<_> = protocol_params("any").into_iter().filter(|(k, _)| *k != "state").collect();
    let page = get(server.addr, &format!("/v1/oauth?{}", query(&without_state)), &[]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("state is missing"));
    let page =
        get(server.addr, &format!("/v1/oauth?{}&state=again", query(&protocol_params("any"))), &[]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("more than once"));
    let unknown_app = params_with("any", "client_id", "nope");
    let page = get(server.addr, &format!("/v1/oauth?{}", query(&unknown_app)), &[]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("no app with client_id nope"));
    let page =
        get(server.addr, &format!("/v1/oauth?{}&service=box", query(&protocol_params("crm"))), &[]).await;
    assert_eq!(page.status, 400, "a service outside the scope");
    // Markup in parameters is escaped, never interpreted.
    let hostile = params_with("any", "state", "\"><script>alert(1)</script>");
    let page = get(server.addr, &format!("/v1/oauth?{}", query(&hostile)), &[]).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(page.body.contains("&lt;script&gt;alert(1)"));
    // An oversized form body is refused.
    let huge = vec![b'a'; 64 * 1024];
    let reply = send(
        server.addr,
        "POST /v1/oauth HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        &huge,
    )
    .await;
    assert_eq!(reply.status, 413);
}

#[tokio::test]
async fn the_api_refuses_bad_tokens_and_other_accounts() {
    let server = start().await;
    let no_token = get(server.addr, "/v1/oauth/token/", &[("Origin", APP_ORIGIN)]).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.json()["error"], "invalid_token");
    assert_eq!(no_token.header("access-control-allow-origin"), Some(APP_ORIGIN), "the page can read the 401");
    let bad = get(server.addr, "/v1/oauth/token", &[("Authorization", "Bearer nope")]).await;
    assert_eq!(bad.status, 401);
    let basic = get(server.addr, "/v1/oauth/token/", &[("Authorization", "Basic abc")]).await;
    assert_eq!(basic.status, 401);

    let alice = connect(server.addr, "box", "alice").await;
    let bob = connect(server.addr, "dropbox", "bob").await;
    let alice_auth = format!("Bearer {}", alice["data"]["access_token"].as_str().unwrap());
    let bob_auth = format!("Bearer {}", bob["data"]["access_token"].as_str().unwrap());
    let bob_id =
        get(server.addr, "/v1/oauth/token/", &[("Authorization", &bob_auth)]).await.json()["account_id"]
            .clone();
    let other = get(server.addr, &format!("/v1/accounts/{bob_id}/"), &[("Authorization", &alice_auth)]).await;
    assert_eq!(other.status, 403);
    assert_eq!(other.json()["error"], "forbidden");
    let malformed = get(server.addr, "/v1/accounts/abc/", &[("Authorization", &alice_auth)]).await;
    assert_eq!(malformed.status, 404);
    let unknown = get(server.addr, "/v1/nothing", &[]).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"], "not_found");
    let wrong_method = send(server.addr, "DELETE /v1/oauth/token/ HTTP/1.1", b"").await;
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn cors_only_for_trusted_origins() {
    let server = start().await;
    let preflight = |origin: &'static str| {
        let head = format!(
            "OPTIONS /v1/oauth/token/ HTTP/1.1\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: GET\r\n\
             Access-Control-Request-Headers: authorization,x-kloudless-source"
        );
        async move { send(server.addr, &head, b"").await }
    };
    let trusted = preflight(APP_ORIGIN).await;
    assert_eq!(trusted.status, 204);
    assert_eq!(trusted.header("access-control-allow-origin"), Some(APP_ORIGIN));
    let allowed_headers = trusted.header("access-control-allow-headers").unwrap().to_lowercase();
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("x-kloudless-source"));
    let untrusted = preflight("http://evil.test").await;
    assert_eq!(untrusted.status, 403);
    assert_eq!(untrusted.header("access-control-allow-origin"), None);

    // A valid token of app "app", read from an origin only app "other" trusts: no CORS grant.
    let result = connect(server.addr, "box", "carol").await;
    let auth = format!("Bearer {}", result["data"]["access_token"].as_str().unwrap());
    let cross =
        get(server.addr, "/v1/oauth/token/", &[("Authorization", &auth), ("Origin", "https://other.test")])
            .await;
    assert_eq!(cross.status, 200);
    assert_eq!(cross.header("access-control-allow-origin"), None);
    let evil =
        get(server.addr, "/v1/accounts/me/", &[("Authorization", &auth), ("Origin", "http://evil.test")])
            .await;
    assert_eq!(evil.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn relay_demo_and_static_files() {
    let server = start().await;
    let relay = get(server.addr, "/static/iexd.html", &[]).await;
    assert_eq!(relay.status, 200);
    assert!(relay.body.contains("prepareToOpenAuthenticator"));
    assert!(!relay.body.contains("'*'"));
    let index = get(server.addr, "/", &[]).await;
    assert_eq!(index.body, "<h1>demo</h1>");
    assert_eq!(index.header("content-type"), Some("text/html; charset=utf-8"));
    for path in
        ["/../secret.txt", "/%2e%2e/secret.txt", "/dist/../secret.txt", "/dist/%2e%2e%2fsecret.txt", "/.env"]
    {
        let reply = get(server.addr, path, &[]).await;
        assert_eq!(reply.status, 404, "{path}");
        assert!(!reply.body.contains("do not serve"), "{path}");
    }
    let unbuilt = get(server.addr, "/dist/kloudless.authenticator.js", &[]).await;
    assert_eq!(unbuilt.status, 404);
    assert!(unbuilt.body.contains("make build"));
}

#[tokio::test]
async fn pages_carry_the_parameters_and_post_only_to_the_origin() {
    let server = start().await;
    let mut params = protocol_params("storage calendar:admin");
    params.push(("raw[x]", "kept".into()));
    let page = get(server.addr, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<form method=\"get\" action=\"/v1/oauth\">"));
    assert!(page.body.contains("<input type=\"hidden\" name=\"raw[x]\" value=\"kept\">"));
    assert!(page.body.contains("<input type=\"hidden\" name=\"origin\" value=\"http://localhost:3000\">"));
    assert!(page.body.contains("data-service=\"gdrive\" title=\"storage\">Google Drive (demo)</button>"));
    assert!(page.body.contains("data-service=\"outlook_calendar\""));
    assert!(!page.body.contains("data-service=\"hubspot\""));
    assert!(!page.body.contains("<script"), "the chooser runs no script");

    // Choosing a service (as the chooser's GET form does) shows its connect page, admin included.
    params.push(("service", "google_calendar".into()));
    let connect_page = get(server.addr, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert_eq!(connect_page.status, 200);
    assert!(connect_page.body.contains("<form method=\"post\" action=\"/v1/oauth\">"));
    assert!(connect_page.body.contains("name=\"account\" value=\"demo.user@example.com\""));
    assert!(connect_page.body.contains("with <b>admin</b> access"));

    let form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let result =
        post_form(server.addr, &[form.as_slice(), &[("account", " dana "), ("action", "connect")]].concat())
            .await;
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
    let account = get(server.addr, "/v1/accounts/me", &[("Authorization", &auth)]).await.json();
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
        let page = post_form(server.addr, &[form.as_slice(), &extra].concat()).await;
        assert_eq!(page.status, 400, "{extra:?}");
        assert!(!page.body.contains("<script"), "{extra:?}");
    }
}

#[tokio::test]
async fn result_json_cannot_break_out_of_its_script() {
    let server = start().await;
    let params: Vec<_> =
        protocol_params("box")
            .into_iter()
            .map(|(k, v)| {
                if k == "state" { (k, "</script><script>alert(1)</script>\u{2028}&".into()) } else { (k, v) }
            })
            .collect();
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("action", "deny"));
    let page = post_form(server.addr, &form).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<body data-result=\"error\">"));
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(page.body.contains("\\u003c/script\\u003e"));
    assert!(!page.body.contains('\u{2028}'));
    assert_eq!(embedded_result(&page.body)["data"]["state"], "</script><script>alert(1)</script>\u{2028}&");
}

#[tokio::test]
async fn trusted_domains_without_a_port_mean_the_default_port() {
    let server = start().await;
    for (origin, status) in
        [("https://other.test", 200), ("http://other.test", 200), ("https://other.test:8443", 400)]
    {
        let params: Vec<_> = protocol_params("any")
            .into_iter()
            .map(|(k, v)| match k {
                "client_id" => (k, "other".into()),
                "origin" => (k, origin.into()),
                _ => (k, v),
            })
            .collect();
        let page = get(server.addr, &format!("/v1/oauth?{}", query(&params)), &[]).await;
        assert_eq!(page.status, status, "{origin}");
    }
    // An origin trusted by another app only is not trusted for this one.
    let params = params_with("any", "origin", "https://other.test");
    let page = get(server.addr, &format!("/v1/oauth?{}", query(&params)), &[]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("The origin https://other.test is not a Trusted Domain of app app."));
}

#[tokio::test]
async fn errors_get_cors_for_the_right_audience() {
    let server = start().await;
    let alice = connect(server.addr, "box", "alice").await;
    let auth = format!("Bearer {}", alice["data"]["access_token"].as_str().unwrap());
    // A valid token: the 403 is readable only by the token's app's origins.
    let own =
        get(server.addr, "/v1/accounts/99999/", &[("Authorization", &auth), ("Origin", APP_ORIGIN)]).await;
    assert_eq!(own.status, 403);
    assert_eq!(own.header("access-control-allow-origin"), Some(APP_ORIGIN));
    let foreign = get(
        server.addr,
        "/v1/accounts/99999/",
        &[("Authorization", &auth), ("Origin", "https://other.test")],
    )
    .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(foreign.header("access-control-allow-origin"), None);
    assert_eq!(foreign.header("vary"), Some("Origin"));
    // No valid token: any app's origin may read the 401; others may not.
    let other_app = get(
        server.addr,
        "/v1/accounts/me/",
        &[("Authorization", "Bearer x"), ("Origin", "https://other.test")],
    )
    .await;
    assert_eq!(other_app.status, 401);
    assert_eq!(other_app.header("access-control-allow-origin"), Some("https://other.test"));
    let evil = get(server.addr, "/v1/oauth/token/", &[("Origin", "http://evil.test")]).await;
    assert_eq!(evil.status, 401);
    assert_eq!(evil.header("access-control-allow-origin"), None);
    // Unknown API paths are JSON 404s, whatever the method.
    let posted = send(server.addr, "POST /v1/unknown/thing HTTP/1.1", b"").await;
    assert_eq!(posted.status, 404);
    assert_eq!(posted.json()["error"], "not_found");
    let text = get(server.addr, "/nope/deeper", &[]).await;
    assert_eq!((text.status, text.body.as_str()), (404, "Not found."));
}
