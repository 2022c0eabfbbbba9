//! The broker over real HTTP, without an upstream: the redirect to the upstream (our state, PKCE
//! S256, the redirect URI), what is kept while the user is there (sealed), and every bad input
//! — an unknown or disabled provider, a missing client secret, malformed or replayed callbacks,
//! oversized fields, a refused address, a lost secret key — refused with a clear 4xx/5xx page
//! and nothing stored. (The whole flow against a real OpenID provider is e2e/broker.test.mjs.)

mod common;

use authenticator_server::Server;
use authenticator_server::config::Config;
use authenticator_server::secrets::KeySource;
use common::{Reply, TestServer};
use reqwest::Method;
use std::net::SocketAddr;

const APP: &str = "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n\
                   return_urls = [\"http://localhost:3000/launching-page-marker\"]\n";

/// A custom OAuth 2.0 provider `acme` whose endpoints are at `base` (never called by the tests
/// that only start a flow), and the demo's `box`.
fn providers(base: &str) -> String {
    format!(
        "[[providers]]\nid = \"acme\"\nkind = \"oauth2\"\nname = \"Acme\"\ncategory = \"storage\"\n\
         client_id = \"our-app\"\nclient_secret = \"s3cr3t-value\"\n\
         authorization_url = \"{base}/auth\"\ntoken_url = \"{base}/token\"\nidentity_url = \"{base}/me\"\n\
         [[providers]]\nid = \"box\"\nkind = \"demo\"\n\
         [[providers]]\nid = \"perserver\"\nkind = \"oauth2\"\nname = \"Per server\"\ncategory = \"crm\"\n\
         client_id = \"our-app\"\nclient_secret = \"s3cr3t-value\"\nhostname_pattern = \"localhost:*\"\n\
         authorization_url = \"http://{{hostname}}/auth\"\ntoken_url = \"http://{{hostname}}/token\"\n\
         identity_url = \"http://{{hostname}}/me\"\n"
    )
}

/// A server with [`APP`] and [`providers`] (never called), `prelude` (top-level TOML lines)
/// first, whose requests come from [`BROWSER`].
async fn start(prelude: &str) -> TestServer {
    let toml = format!(
        "public_url = \"https://auth.example.test\"\n{prelude}\n{APP}{}",
        providers("http://127.0.0.1:1")
    );
    TestServer::with(&toml).browser(BROWSER).start().await
}

fn popup_query(scope: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("client_id", "app"),
        ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
        ("response_type", "token"),
        ("state", "page-state"),
        ("request_id", "req1"),
        ("origin", "http://localhost:3000"),
        ("scope", scope),
    ];
    for &(key, value) in extra {
        params.retain(|(k, _)| *k != key);
        params.push((key, value));
    }
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

/// The binding cookies of two browsers (the public URL is https: a `__Host-` cookie).
const BROWSER: &str =
    "__Host-kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const OTHER_BROWSER: &str =
    "__Host-kloudless-browser=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A GET in [`BROWSER`]: status, body and `Location`.
async fn get(server: &TestServer, path_and_query: &str) -> (u16, String, Option<String>) {
    get_in(Some(BROWSER), server, path_and_query).await
}

/// A GET in the browser with the binding cookie `cookie` (none: a browser without one).
async fn get_in(
    cookie: Option<&str>,
    server: &TestServer,
    path_and_query: &str,
) -> (u16, String, Option<String>) {
    let reply = Reply::of(server.request_in(cookie, Method::GET, path_and_query)).await;
    (reply.status, reply.body.clone(), reply.location())
}

/// The rows of the broker's and the accounts' tables.
async fn stored(database: &authenticator_server::store::Database) -> Vec<(String, usize)> {
    common::row_counts(database)
        .await
        .into_iter()
        .filter(|(table, _)| {
            ["accounts", "tokens", "upstream_states", "upstream_credentials"].contains(&table.as_str())
        })
        .collect()
}

fn none_stored() -> Vec<(String, usize)> {
    ["accounts", "tokens", "upstream_credentials", "upstream_states"].map(|t| (t.to_owned(), 0)).to_vec()
}

fn sorted(mut rows: Vec<(String, usize)>) -> Vec<(String, usize)> {
    rows.sort();
    rows
}

#[tokio::test]
async fn choosing_an_upstream_redirects_there_with_our_state_and_pkce_and_keeps_the_request_sealed() {
    let running = start("").await;
    let marker = "http://localhost:3000/launching-page-marker";
    let (status, _, location) =
        get(&running, &format!("/v1/oauth?{}", popup_query("acme", &[("return_to", marker)]))).await;
    assert_eq!(status, 302);
    let location = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(location.as_str().split('?').next(), Some("http://127.0.0.1:1/auth"));
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "our-app");
    assert_eq!(query["redirect_uri"], "https://auth.example.test/v1/oauth/callback/acme");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    assert_eq!(query["scope"], "openid email profile");
    assert!(query["state"].len() == 64 && query["state"] != "page-state", "our own state, not the page's");
    assert!(!location.as_str().contains("s3cr3t"), "no secret in the URL");
    let everything = common::everything(running.database()).await;
    assert!(!everything.contains("launching-page-marker"), "the request's parameters are sealed");
    assert!(!everything.contains(&query["state"]), "only the state's hash is stored");

    // The user denies at the upstream: the result page carries access_denied and the page's state.
    let (status, page, _) =
        get(&running, &format!("/v1/oauth/callback/acme?state={}&error=access_denied", query["state"])).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-result=\"error\"") && page.contains("access_denied"), "{page}");
    assert!(page.contains("page-state") && page.contains("launching-page-marker"), "the request survived");
    // Replayed: refused, nothing stored.
    let (status, page, _) =
        get(&running, &format!("/v1/oauth/callback/acme?state={}&code=abc", query["state"])).await;
    assert_eq!(status, 400);
    assert!(page.contains("unknown, expired or already finished"), "{page}");
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

#[tokio::test]
async fn the_upstreams_return_in_another_browser_is_refused_before_any_exchange() {
    let running = start("").await;
    for (cookie, says) in [(Some(OTHER_BROWSER), "started in another browser"), (None, "needs cookies")] {
        let (status, _, location) = get(&running, &format!("/v1/oauth?{}", popup_query("acme", &[]))).await;
        assert_eq!(status, 302);
        let location = url::Url::parse(&location.unwrap()).unwrap();
        let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        // The authorization URL, completed by someone else: the code comes back in their browser.
        let (status, page, _) =
            get_in(cookie, &running, &format!("/v1/oauth/callback/acme?state={state}&code=abc")).await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains(says), "{page}");
        assert!(!page.contains("kloudless-result"), "no result, nothing exchanged: {page}");
        assert_eq!(sorted(stored(running.database()).await), none_stored());
    }
}

/// Starts a flow at `acme` in [`BROWSER`]; the state it sends the upstream.
async fn start_acme_flow(running: &TestServer) -> String {
    let marker = "http://localhost:3000/launching-page-marker";
    let (status, _, location) =
        get(running, &format!("/v1/oauth?{}", popup_query("acme", &[("return_to", marker)]))).await;
    assert_eq!(status, 302);
    let location = url::Url::parse(&location.unwrap()).unwrap();
    location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned()
}

/// Some providers (authlib-based ones) redirect a denial without the state they were given: in
/// the browser of the one flow open at that provider, it ends that flow, once, with the
/// provider's error; in another browser, without the cookie or on another provider's path, it
/// is the error page and the flow stays open.
#[tokio::test]
async fn a_denial_without_state_ends_the_browsers_one_flow_at_that_provider_once() {
    let running = start("").await;
    start_acme_flow(&running).await;
    let denial = "/v1/oauth/callback/acme?error=access_denied&error_description=The+user+said+no";
    for (cookie, path) in [
        (Some(OTHER_BROWSER), denial),
        (None, denial),
        (Some(BROWSER), "/v1/oauth/callback/perserver?error=access_denied"),
        (Some(BROWSER), "/v1/oauth/callback?error=access_denied"),
    ] {
        let (status, page, _) = get_in(cookie, &running, path).await;
        assert_eq!(status, 400, "{cookie:?} {path}: {page}");
        assert!(!page.contains("kloudless-result"), "{cookie:?} {path}: no result: {page}");
    }
    let (status, page, _) = get(&running, denial).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-result=\"error\"") && page.contains("access_denied"), "{page}");
    assert!(page.contains("The user said no") && page.contains("page-state"), "{page}");
    let (status, page, _) = get(&running, denial).await;
    assert_eq!(status, 400, "once: {page}");
    assert!(!page.contains("kloudless-result"), "{page}");
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

/// With two flows open at one provider in one browser, a denial without state cannot say
/// which it ends: it ends neither (the error page), and each ends by its own state.
#[tokio::test]
async fn a_denial_without_state_with_two_flows_open_at_that_provider_ends_neither() {
    let running = start("").await;
    let first = start_acme_flow(&running).await;
    let second = start_acme_flow(&running).await;
    let (status, page, _) = get(&running, "/v1/oauth/callback/acme?error=access_denied").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("more than one sign-in"), "{page}");
    for state in [first, second] {
        let (status, page, _) =
            get(&running, &format!("/v1/oauth/callback/acme?state={state}&error=access_denied")).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("access_denied"), "{page}");
    }
}

#[tokio::test]
async fn an_upstream_on_a_refused_address_is_not_called_and_the_result_says_why() {
    // allow_private_upstreams is off (the default) and the token endpoint is 127.0.0.1.
    let running = start("").await;
    let (_, _, location) = get(&running, &format!("/v1/oauth?{}", popup_query("acme", &[]))).await;
    let location = url::Url::parse(&location.unwrap()).unwrap();
    let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let (status, page, _) = get(&running, &format!("/v1/oauth/callback/acme?state={state}&code=abc")).await;
    assert_eq!(status, 200);
    assert!(page.contains("refused address") && page.contains("server_error"), "{page}");
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

#[tokio::test]
async fn an_unreachable_token_endpoint_ends_in_a_temporarily_unavailable_result() {
    let running = start("allow_private_upstreams = true").await;
    let (_, _, location) = get(&running, &format!("/v1/oauth?{}", popup_query("acme", &[]))).await;
    let location = url::Url::parse(&location.unwrap()).unwrap();
    let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let (status, page, _) = get(&running, &format!("/v1/oauth/callback/acme?state={state}&code=abc")).await;
    assert_eq!(status, 200);
    assert!(page.contains("temporarily_unavailable") && page.contains("could not be reached"), "{page}");
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

#[tokio::test]
async fn unknown_and_disabled_providers_get_a_clear_page() {
    let running = start("").await;
    let (status, page, _) =
        get(&running, &format!("/v1/oauth?{}", popup_query("nothing_like_it", &[]))).await;
    assert_eq!(status, 400);
    assert!(page.contains("No service matches the scope"), "{page}");
    // gdrive is in the catalogue (and a demo service) but not enabled here.
    let (status, page, _) = get(&running, &format!("/v1/oauth?{}", popup_query("gdrive", &[]))).await;
    assert_eq!(status, 400);
    assert!(page.contains("The service gdrive is not enabled on this server."), "{page}");
    // The chooser lists the enabled providers only.
    let (status, page, _) = get(&running, &format!("/v1/oauth?{}", popup_query("any", &[]))).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-service=\"acme\"") && page.contains("data-service=\"box\""), "{page}");
    assert!(!page.contains("data-service=\"dropbox\""));
    // A demo form cannot "connect" an upstream service.
    let body = format!("{}&service=acme&account=x&action=connect", popup_query("any", &[]));
    let reply =
        running.post("/v1/oauth").header("content-type", "application/x-www-form-urlencoded").body(body);
    assert_eq!(Reply::of(reply).await.status, 400);
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

#[tokio::test]
async fn malformed_callbacks_and_oversized_fields_are_refused_and_store_nothing() {
    let running = start("").await;
    let long_state = "s".repeat(600);
    let huge = "x".repeat(20_000);
    for (query, status, says) in [
        ("", 400, "no valid state"),
        ("?code=abc", 400, "no valid state"),
        ("?state=", 400, "no valid state"),
        ("?state=a&state=b", 400, "more than once"),
        ("?state=%FF", 400, "not valid UTF-8"),
        (&format!("?state={long_state}") as &str, 400, "no valid state"),
        (&format!("?state=a&code={huge}"), 414, "too large"),
        ("?state=forged&code=abc", 400, "unknown, expired or already finished"),
        ("?state=forged&error=access_denied", 400, "unknown, expired or already finished"),
    ] {
        let (got, page, _) = get(&running, &format!("/v1/oauth/callback{query}")).await;
        assert_eq!(got, status, "{query:.40}: {page}");
        assert!(page.contains(says), "{query:.40}: {page}");
        assert!(!page.contains("kloudless-result"), "no result for a callback without a known state");
    }
    let (status, page, _) =
        get(&running, &format!("/v1/oauth?{}", popup_query("acme", &[("request_id", &"r".repeat(200))])))
            .await;
    assert_eq!(status, 400);
    assert!(page.contains("too long"), "{page}");
    let reply = running
        .request_in(None, Method::POST, "/v1/oauth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{}&account={huge}", popup_query("acme", &[])));
    assert_eq!(Reply::of(reply).await.status, 413);
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

#[tokio::test]
async fn a_lost_secret_key_gives_a_clear_error_not_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.key");
    let second = dir.path().join("second.key");
    std::fs::write(&first, "11".repeat(32)).unwrap();
    std::fs::write(&second, "22".repeat(32)).unwrap();
    let database_dir = tempfile::tempdir().unwrap();
    let database = common::fresh_database(database_dir.path());
    let start_with_key = |key: std::path::PathBuf| {
        let toml = format!("allow_private_upstreams = true\n{APP}{}", providers("http://127.0.0.1:1"));
        TestServer::with(&toml)
            .on(&database)
            .browser(BROWSER)
            .tune(move |config| config.secret_key = KeySource::File(key))
            .start()
    };
    let first = start_with_key(first).await;
    let (_, _, location) = get(&first, &format!("/v1/oauth?{}", popup_query("acme", &[]))).await;
    let location = url::Url::parse(&location.unwrap()).unwrap();
    let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    // Another instance, or a restart, with another key.
    let other = start_with_key(second).await;
    let (status, page, _) =
        get(&other, &format!("/v1/oauth/callback/acme?state={state}&error=access_denied")).await;
    assert_eq!(status, 500);
    assert!(page.contains("secret key has changed"), "{page}");
    // A missing key file is a start-up error that names the file.
    let toml = format!("{APP}{}", providers("http://127.0.0.1:1"));
    let mut config = Config::from_toml(&toml, "127.0.0.1:0".parse().unwrap(), database.clone()).unwrap();
    config.secret_key = KeySource::File(dir.path().join("missing.key"));
    let error = Server::bind(config).await.err().unwrap();
    assert!(error.contains("cannot read the secret key file") && error.contains("missing.key"), "{error}");
}

#[tokio::test]
async fn a_per_server_provider_asks_for_the_hostname_and_refuses_a_bad_one_without_calling_it() {
    let running = start("").await;
    let (status, page, _) = get(&running, &format!("/v1/oauth?{}", popup_query("perserver", &[]))).await;
    assert_eq!(status, 200);
    // An example server as the placeholder, not the pattern's glob.
    assert!(
        page.contains("name=\"hostname\" placeholder=\"localhost:443\"") && !page.contains("localhost:*"),
        "{page}"
    );
    for (typed, says) in [
        ("evil.example.com", "is not a server name of the form"),
        ("a.localhost:80", "is not a server name of the form"),
        ("localhost:80/path", "is not a server name of the form"),
        // Matches the pattern, but resolves to loopback, which this server does not call.
        ("localhost:80", "private or local address"),
    ] {
        let query = popup_query("perserver", &[("service", "perserver"), ("hostname", typed)]);
        let (status, page, location) = get(&running, &format!("/v1/oauth?{query}")).await;
        assert_eq!(status, 400, "{typed}: {page}");
        assert!(page.contains(says) && page.contains("data-error=\"hostname\""), "{typed}: {page}");
        assert_eq!(location, None);
    }
    // What was typed comes back escaped (the forms are auto-escaping templates).
    let query = popup_query("perserver", &[("service", "perserver"), ("hostname", "<b>x</b>")]);
    let (status, page, _) = get(&running, &format!("/v1/oauth?{query}")).await;
    assert_eq!(status, 400);
    assert!(!page.contains("<b>x</b>") && page.contains("&#60;b&#62;x&#60;/b&#62;"), "{page}");
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

#[test]
fn a_provider_without_a_client_secret_is_a_configuration_error_that_echoes_no_secret() {
    let at = "127.0.0.1:0".parse().unwrap();
    let missing = format!("{APP}[[providers]]\nid = \"gdrive\"\nclient_id = \"c\"\n");
    let error = Config::from_toml(&missing, at, "db".into()).unwrap_err().to_string();
    assert!(error.contains("providers[0] (gdrive): a client secret is needed"), "{error}");
    let custom = format!(
        "{APP}[[providers]]\nid = \"acme\"\nkind = \"oidc\"\nname = \"A\"\ncategory = \"storage\"\n\
         client_id = \"c\"\nclient_secret = \"s3cr3t-value\"\n"
    );
    let error = Config::from_toml(&custom, at, "db".into()).unwrap_err().to_string();
    assert!(error.contains("issuer is needed") && !error.contains("s3cr3t"), "{error}");
    let bad_public = format!("public_url = \"https://auth.example.test/path\"\n{APP}");
    assert!(Config::from_toml(&bad_public, at, "db".into()).unwrap_err().to_string().contains("public_url"));
    // No [[providers]]: the demo services, as before.
    let config = Config::from_toml(APP, at, "db".into()).unwrap();
    assert_eq!(config.services.len(), 7);
}

/// A small upstream that checks credentials: `GET /me` wants `Bearer right-key`, `GET /basic`
/// wants the user `ann` with the password `pw d`; both answer with an identity, else 401.
async fn credential_upstream() -> SocketAddr {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    let check = |wanted: &'static str, sub: &'static str| {
        move |headers: HeaderMap| async move {
            let given = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            if given == wanted {
                Ok(axum::Json(serde_json::json!({ "sub": sub, "email": format!("{sub}@x.test") })))
            } else {
                Err(StatusCode::UNAUTHORIZED)
            }
        }
    };
    let router = axum::Router::new()
        .route("/me", get(check("Bearer right-key", "key.user")))
        .route("/basic", get(check("Basic YW5uOnB3IGQ=", "ann")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A form posted to the pop-up in [`BROWSER`]: status and body.
async fn post(server: &TestServer, body: String) -> (u16, String) {
    let reply =
        server.post("/v1/oauth").header("content-type", "application/x-www-form-urlencoded").body(body);
    let reply = Reply::of(reply).await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn api_key_and_basic_services_check_the_credential_and_keep_it_sealed() {
    let upstream = credential_upstream().await;
    let toml = format!(
        "public_url = \"https://auth.example.test\"\nallow_private_upstreams = true\n{APP}\
         [[providers]]\nid = \"keyed\"\nkind = \"api_key\"\nname = \"Keyed\"\ncategory = \"crm\"\n\
         check_url = \"http://{upstream}/me\"\n\
         [[providers]]\nid = \"basicsvc\"\nkind = \"basic\"\nname = \"Basic\"\ncategory = \"crm\"\n\
         check_url = \"http://{upstream}/basic\"\n"
    );
    let server = TestServer::with(&toml).browser(BROWSER).start().await;

    let (status, page, _) = get(&server, &format!("/v1/oauth?{}", popup_query("keyed", &[]))).await;
    assert_eq!(status, 200);
    assert!(page.contains("type=\"password\" name=\"api_key\""), "{page}");
    let form = |scope: &str, fields: &[(&str, &str)]| {
        let mut extra = vec![("service", scope), ("action", "connect")];
        extra.extend_from_slice(fields);
        popup_query(scope, &extra)
    };
    // Wrong or oversized: the form again with the reason; what was typed is not echoed.
    let long = "k".repeat(1025);
    for (fields, says) in [
        (vec![("api_key", "wrong-key-123")], "Keyed refused these credentials."),
        (vec![("api_key", long.as_str())], "at most 1024 characters"),
        (vec![("api_key", "  ")], "Fill in every field"),
    ] {
        let (status, page) = post(&server, form("keyed", &fields)).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains(says) && page.contains("data-error=\"credentials\""), "{page}");
        assert!(!page.contains("wrong-key-123") && !page.contains(&long));
    }
    let (status, page) = post(&server, form("basicsvc", &[("username", "ann"), ("password", "pw")])).await;
    assert_eq!(status, 400, "{page}");
    assert_eq!(
        sorted(stored(server.database()).await),
        none_stored(),
        "nothing stored for a refused credential"
    );

    // Right: connected, our token minted, the account is the upstream's user.
    let (status, page) = post(&server, form("keyed", &[("api_key", "right-key")])).await;
    assert_eq!(status, 200, "{page}");
    let token = page.split("\"access_token\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let account =
        Reply::of(server.request_in(None, Method::GET, "/v1/accounts/me/").bearer_auth(&token)).await.json();
    assert_eq!(account["account"], "key.user@x.test");
    assert_eq!(account["service"], "keyed");
    assert_eq!(account["service_name"], "Keyed");
    // The password is taken as typed, its space included.
    let (status, page) = post(&server, form("basicsvc", &[("username", "ann"), ("password", "pw d")])).await;
    assert_eq!(status, 200, "{page}");
    let everything = common::everything(server.database()).await;
    assert!(everything.contains("key.user@x.test"), "the database was read");
    assert!(!everything.contains("right-key"), "no API key in plaintext");
    assert!(!everything.contains("pw d"), "no password in plaintext");
}

#[tokio::test]
async fn a_credential_form_of_an_attackers_flow_posted_in_another_browser_stores_nothing() {
    let upstream = credential_upstream().await;
    let key = "key-of-app-0123456789abcdef";
    let toml = format!(
        "public_url = \"https://auth.example.test\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{key}\"\n\
         require_sign_in_token = true\n\
         [[providers]]\nid = \"keyed\"\nkind = \"api_key\"\nname = \"Keyed\"\ncategory = \"crm\"\n\
         check_url = \"http://{upstream}/me\"\n"
    );
    let server = TestServer::with(&toml).browser(BROWSER).start().await;
    let minted = server
        .request_in(None, Method::POST, "/v1/sign_in_tokens")
        .header("authorization", format!("APIKey {key}"))
        .header("content-type", "application/json")
        .body(r#"{"user_id": "attacker"}"#);
    let minted = Reply::of(minted).await.json();
    let token = minted["token"].as_str().unwrap();
    // The attacker opens the pop-up with his token in his browser: the credential form.
    let popup = popup_query("keyed", &[("sign_in_token", token)]);
    let (status, page, _) = get(&server, &format!("/v1/oauth?{popup}")).await;
    assert!(status == 200 && page.contains("name=\"api_key\""), "{page}");
    // The victim types a valid key into that form in another browser.
    let form = popup_query("keyed", &[("sign_in_token", token), ("service", "keyed"), ("action", "connect")]);
    let reply = server
        .request_in(Some(OTHER_BROWSER), Method::POST, "/v1/oauth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{form}&api_key=right-key"));
    let reply = Reply::of(reply).await;
    assert_eq!(reply.status, 403);
    let page = reply.body;
    assert!(page.contains("started in another browser") && !page.contains("access_token"), "{page}");
    assert_eq!(
        sorted(stored(server.database()).await),
        none_stored(),
        "nothing saved under the attacker's user"
    );
}

/// The pop-up's first page for `scope` with `extra_data` in [`BROWSER`]: status and body.
async fn with_extra_data(server: &TestServer, scope: &str, extra_data: &str) -> (u16, String) {
    let query = popup_query(scope, &[("extra_data", extra_data)]);
    let (status, page, _) = get(server, &format!("/v1/oauth?{query}")).await;
    (status, page)
}

/// The hostname input of a form page, without a value.
const EMPTY_HOSTNAME: &str =
    "<input id=\"hostname\" name=\"hostname\" placeholder=\"localhost:443\" maxlength=\"253\" required";

#[tokio::test]
async fn extra_data_prefills_the_hostname_escaped_and_ignores_other_keys() {
    let running = start("").await;
    let (status, page) = with_extra_data(&running, "perserver", r#"{"hostname":"localhost:8443"}"#).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"hostname\" value=\"localhost:8443\""), "{page}");
    // Only a default: escaped by the template, never markup.
    let hostile = r#"{"hostname":"\"><script>alert(1)</script>"}"#;
    let (status, page) = with_extra_data(&running, "perserver", hostile).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("\"><script>") && !page.contains("<script>alert"), "{page}");
    assert!(page.contains("value=\"&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;\""), "{page}");
    // Keys that are not fields of the form, and values that are not strings, are ignored.
    for ignored in [r#"{"colour":"blue","username":"ann"}"#, r#"{"hostname":42}"#, r#"{"hostname":""}"#] {
        let (status, page) = with_extra_data(&running, "perserver", ignored).await;
        assert_eq!(status, 200, "{ignored}: {page}");
        assert!(page.contains(EMPTY_HOSTNAME), "{ignored}: {page}");
    }
    // The SDK sends an empty one when the app gave none.
    let (status, page) = with_extra_data(&running, "perserver", "").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(EMPTY_HOSTNAME), "{page}");
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

#[tokio::test]
async fn extra_data_that_is_not_a_small_json_object_is_a_clear_400() {
    let running = start("").await;
    let long = format!(r#"{{"hostname":"{}"}}"#, "a".repeat(2048));
    for bad in ["{", "not json", "[\"hostname\"]", "\"localhost:8443\"", long.as_str()] {
        let (status, page) = with_extra_data(&running, "perserver", bad).await;
        assert_eq!(status, 400, "{bad}: {page}");
        assert!(page.contains("extra_data") && page.contains("data-result=\"refused\""), "{bad}: {page}");
        assert!(!page.contains("name=\"hostname\""), "{bad}: no form");
    }
    let (status, page, _) = get(
        &running,
        &format!("/v1/oauth?{}&extra_data=%7B%7D", popup_query("perserver", &[("extra_data", "{}")])),
    )
    .await;
    assert_eq!(status, 400, "a repeated extra_data: {page}");
    assert_eq!(sorted(stored(running.database()).await), none_stored());
}

#[tokio::test]
async fn extra_data_prefills_the_login_and_the_server_of_a_credentials_form_never_a_secret() {
    let toml = format!(
        "public_url = \"https://auth.example.test\"\n{APP}\
         [[providers]]\nid = \"basicsvc\"\nkind = \"basic\"\nname = \"Basic\"\ncategory = \"crm\"\n\
         check_url = \"http://127.0.0.1:1/basic\"\n\
         [[providers]]\nid = \"keyed\"\nkind = \"api_key\"\nname = \"Keyed\"\ncategory = \"crm\"\n\
         hostname_pattern = \"localhost:*\"\ncheck_url = \"http://{{hostname}}/me\"\n"
    );
    let server = TestServer::with(&toml).browser(BROWSER).start().await;
    let given =
        r#"{"username":"ann@x.test","password":"pw-marker","api_key":"key-marker","hostname":"localhost:9"}"#;
    let (status, page) = with_extra_data(&server, "basicsvc", given).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"username\" value=\"ann@x.test\""), "{page}");
    assert!(page.contains("name=\"password\" maxlength"), "no password pre-filled: {page}");
    assert!(!page.contains("name=\"hostname\""), "not a field of this form: {page}");
    let (status, page) = with_extra_data(&server, "keyed", given).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"hostname\" value=\"localhost:9\""), "{page}");
    assert!(page.contains("name=\"api_key\" maxlength"), "no API key pre-filled: {page}");
    assert!(!page.contains("name=\"username\""), "not a field of this form: {page}");
}
