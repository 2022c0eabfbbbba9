//! The server-side code flow over real HTTP, as the Kloudless SDKs drive it: `/v1/oauth` with
//! `response_type=code` through the demo provider's chooser and connect form, the 303 back to the
//! app's registered redirect URI with a code, and the code's exchange at `POST /v1/oauth/token`
//! for a token that `/v1/oauth/token/` verifies and `/v1/accounts/me/` reads; through the broker
//! (an upstream's sign-in) too. And the bad input:
//! an unregistered redirect URI (another path, a trailing slash) gets an error page, never a
//! redirect, while a registered one gets any other error of the request back (RFC 6749
//! §4.1.2.1); a code used twice, expired, given to another app, exchanged with a wrong API key,
//! another redirect URI or a failing PKCE verifier is refused, per RFC 6749 §5.2. On PostgreSQL
//! too, with KLOUDLESS_TEST_DATABASE.

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Reply, TestServer};
use sha2::{Digest, Sha256};

const KEY: &str = "key-of-app-0123456789abcdef";
const OTHER_KEY: &str = "key-of-other-0123456789abcdef";
const REDIRECT: &str = "https://app.test/kloudless/callback";
const BROWSER: &str = "kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// A PKCE verifier (RFC 7636's example) and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0zKrQchzkK8ZlYXfeMNzNU0UkFWs";
/// Another well-formed verifier.
const OTHER_VERIFIER: &str = "dBjftJeZ4CVP-mJ0zKrQchzkK8ZlYXfeMNzNU0UkFWt";

/// The apps: `app` (two redirect URIs, an API key), `other` (its own key and the same redirect
/// URI) and `spa` (public: PKCE, no secret).
async fn start() -> TestServer {
    start_with("").await
}

/// [`start`], then `more` TOML (e.g. `[[providers]]` tables).
async fn start_with(more: &str) -> TestServer {
    let toml = format!(
        "[[apps]]\nclient_id = \"app\"\ntrusted_domains = []\napi_key = \"{KEY}\"\n\
         redirect_uris = [\"{REDIRECT}\", \"http://localhost:3000/cb\"]\n\
         [[apps]]\nclient_id = \"other\"\ntrusted_domains = []\napi_key = \"{OTHER_KEY}\"\n\
         redirect_uris = [\"{REDIRECT}\"]\n\
         [[apps]]\nclient_id = \"spa\"\ntrusted_domains = []\npublic = true\n\
         redirect_uris = [\"http://localhost:3000/cb\"]\n{more}"
    );
    TestServer::with(&toml).browser(BROWSER).start().await
}

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// The query `get_authorization_url` of the Python SDK builds (with an empty `extra_data`),
/// then `extra`.
fn authorize_params<'a>(
    client_id: &'a str,
    redirect_uri: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("scope", "box dropbox"),
        ("state", "st8 of the app"),
        ("extra_data", ""),
    ];
    params.extend_from_slice(extra);
    params
}

/// The first page of a code flow with `params`.
async fn authorize(server: &TestServer, params: &[(&str, &str)]) -> Reply {
    Reply::of(server.get(&format!("/v1/oauth?{}", encode(params)))).await
}

/// The connect (or deny) form's POST for `params`.
async fn submit(server: &TestServer, params: &[(&str, &str)], action: &[(&str, &str)]) -> Reply {
    let body = encode(&[params, action].concat());
    let form = server.post("/v1/oauth").header("Content-Type", "application/x-www-form-urlencoded");
    Reply::of(form.body(body)).await
}

/// The query of a 303 to `redirect_uri`, as pairs.
fn redirected(reply: &Reply, redirect_uri: &str) -> Vec<(String, String)> {
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = url::Url::parse(&reply.location().expect("a Location")).unwrap();
    let mut without_query = location.clone();
    without_query.set_query(None);
    assert_eq!(without_query.as_str(), redirect_uri);
    location.query_pairs().into_owned().collect()
}

fn value<'p>(pairs: &'p [(String, String)], key: &str) -> Option<&'p str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Runs the flow of `params` through the chooser and the connect form: the code.
async fn code_for(server: &TestServer, params: &[(&str, &str)], redirect_uri: &str) -> String {
    let chooser = authorize(server, params).await;
    assert_eq!(chooser.status, 200, "{}", chooser.body);
    assert!(chooser.body.contains("value=\"box\""), "the chooser: {}", chooser.body);
    let connected =
        submit(server, params, &[("service", "box"), ("account", "dana"), ("action", "connect")]).await;
    let pairs = redirected(&connected, redirect_uri);
    assert_eq!(value(&pairs, "state"), Some("st8 of the app"));
    value(&pairs, "code").expect("a code").to_owned()
}

/// `POST /v1/oauth/token` with the form `pairs` and the headers `headers`.
async fn exchange(server: &TestServer, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let mut request = server.http().post(server.url("/v1/oauth/token")).body(encode(pairs));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::of(request).await
}

/// The exchange the Python SDK's `get_token_from_code` makes: its odd content type and its
/// `APIKey` header included.
async fn sdk_exchange(
    server: &TestServer,
    code: &str,
    redirect_uri: &str,
    client_id: &str,
    key: &str,
) -> Reply {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("client_secret", key),
    ];
    let api_key = format!("APIKey {key}");
    exchange(server, &form, &[("Content-Type", "application/form-urlencoded"), ("Authorization", &api_key)])
        .await
}

/// Asserts an RFC 6749 §5.2 error: `status`, `error`, never cached.
fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!((reply.status, reply.json()["error"].as_str()), (status, Some(error)), "{}", reply.body);
    assert!(reply.json()["error_description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

/// What `GET /v1/oauth/token/` answers for `token`.
async fn verify(server: &TestServer, token: &str) -> Reply {
    Reply::of(server.http().get(server.url("/v1/oauth/token/")).bearer_auth(token)).await
}

#[tokio::test]
async fn a_code_is_exchanged_once_for_a_token_the_api_verifies() {
    let server = start().await;
    let params = authorize_params("app", REDIRECT, &[]);
    let code = code_for(&server, &params, REDIRECT).await;

    let reply = sdk_exchange(&server, &code, REDIRECT, "app", KEY).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "box:normal.storage");
    let token = body["access_token"].as_str().unwrap();
    let account_id = body["account_id"].as_i64().unwrap();

    let verified = verify(&server, token).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.json()["account_id"], account_id);
    assert_eq!(verified.json()["client_id"], "app");
    let me = Reply::of(server.http().get(server.url("/v1/accounts/me/")).bearer_auth(token)).await;
    assert_eq!(
        (me.status, me.json()["id"].as_i64(), me.json()["account"].as_str()),
        (200, Some(account_id), Some("dana"))
    );

    // HTTP Basic authenticates as well as the form (each part form-encoded, RFC 6749 §2.3.1).
    let code = code_for(&server, &params, REDIRECT).await;
    let basic = format!("Basic {}", STANDARD.encode(format!("app:{KEY}")));
    let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)];
    let reply = exchange(&server, &form, &[("Authorization", &basic)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["account_id"], account_id, "the same account, a new token");
    assert_ne!(reply.json()["access_token"].as_str(), Some(token));
    server.stop().await;
}

#[tokio::test]
async fn a_denial_goes_back_with_the_error_and_the_state() {
    let server = start().await;
    let params = authorize_params("app", "http://localhost:3000/cb", &[]);
    let denied = submit(&server, &params, &[("action", "deny")]).await;
    let pairs = redirected(&denied, "http://localhost:3000/cb");
    assert_eq!(value(&pairs, "error"), Some("access_denied"));
    assert!(value(&pairs, "error_description").is_some_and(|d| !d.is_empty()));
    assert_eq!(value(&pairs, "state"), Some("st8 of the app"));
    assert_eq!(value(&pairs, "code"), None);
    server.stop().await;
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect() {
    let server = start().await;
    for redirect_uri in [
        "https://evil.test/kloudless/callback",
        "https://app.test/kloudless/other",
        "https://app.test/kloudless/callback/",
        "https://app.test/kloudless/callback?x=1",
        "https://app.test/kloudless/callback#x",
        "http://app.test/kloudless/callback",
        "",
    ] {
        let params = authorize_params("app", redirect_uri, &[]);
        for reply in [
            authorize(&server, &params).await,
            submit(&server, &params, &[("service", "box"), ("account", "dana"), ("action", "connect")]).await,
            submit(&server, &params, &[("action", "deny")]).await,
        ] {
            assert_eq!(reply.status, 400, "{redirect_uri}: {}", reply.body);
            assert_eq!(reply.location(), None, "{redirect_uri}");
            assert!(reply.body.contains("redirect_uri"), "{redirect_uri}: {}", reply.body);
        }
    }
    // Another app's registered URI is not this one's.
    let other = authorize(&server, &authorize_params("spa", REDIRECT, &[])).await;
    assert_eq!((other.status, other.location()), (400, None), "{}", other.body);
    server.stop().await;
}

/// A request whose app and redirect URI are known good but which is wrong otherwise goes back to
/// the redirect URI (303) with `error`, `error_description` and the `state` (RFC 6749 §4.1.2.1),
/// from the first page as from the forms; an unknown app keeps its error page.
#[tokio::test]
async fn a_request_error_after_a_valid_redirect_uri_goes_back_to_it() {
    let server = start().await;
    let cb = "http://localhost:3000/cb";
    let without = |params: Vec<(&'static str, &'static str)>, key: &str| {
        params.into_iter().filter(|(k, _)| *k != key).collect::<Vec<_>>()
    };
    let replaced = |key: &'static str, value: &'static str| {
        let mut params = without(authorize_params("app", REDIRECT, &[]), key);
        params.push((key, value));
        params
    };
    // The request, the redirect URI it goes back to, the error.
    type Case = (Vec<(&'static str, &'static str)>, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        (without(authorize_params("app", REDIRECT, &[]), "response_type"), REDIRECT, "invalid_request"),
        (replaced("response_type", "id_token"), REDIRECT, "unsupported_response_type"),
        (replaced("response_type", "token"), REDIRECT, "unsupported_response_type"),
        (replaced("scope", "no-such-service"), REDIRECT, "invalid_scope"),
        (replaced("extra_data", "{not json"), REDIRECT, "invalid_request"),
        (replaced("code_challenge_method", "plain"), REDIRECT, "invalid_request"),
        (authorize_params("app", REDIRECT, &[("scope", "box")]), REDIRECT, "invalid_request"),
        (authorize_params("spa", cb, &[]), cb, "invalid_request"),
        (
            authorize_params("spa", cb, &[("code_challenge", "short"), ("code_challenge_method", "S256")]),
            cb,
            "invalid_request",
        ),
    ];
    for (params, redirect_uri, error) in cases {
        for reply in [
            authorize(&server, &params).await,
            submit(&server, &params, &[("service", "box"), ("account", "dana"), ("action", "connect")]).await,
        ] {
            let pairs = redirected(&reply, redirect_uri);
            assert_eq!(value(&pairs, "error"), Some(error), "{params:?}");
            assert!(value(&pairs, "error_description").is_some_and(|d| !d.is_empty()), "{pairs:?}");
            assert_eq!(value(&pairs, "state"), Some("st8 of the app"), "{params:?}");
            assert_eq!(value(&pairs, "code"), None);
        }
    }
    // Without a state, none goes back.
    let stateless = authorize(&server, &without(authorize_params("app", REDIRECT, &[]), "state")).await;
    let pairs = redirected(&stateless, REDIRECT);
    assert_eq!((value(&pairs, "error"), value(&pairs, "state")), (Some("invalid_request"), None));
    // An unknown app, or one given twice, is no one to go back to.
    let mut twice = authorize_params("app", REDIRECT, &[]);
    twice.push(("client_id", "other"));
    for params in [authorize_params("nobody", REDIRECT, &[]), twice] {
        let reply = authorize(&server, &params).await;
        assert_eq!((reply.status, reply.location()), (400, None), "{}", reply.body);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_code_used_twice_is_refused_and_its_token_revoked() {
    let server = start().await;
    let code = code_for(&server, &authorize_params("app", REDIRECT, &[]), REDIRECT).await;
    let first = sdk_exchange(&server, &code, REDIRECT, "app", KEY).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let token = first.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(verify(&server, &token).await.status, 200);

    let second = sdk_exchange(&server, &code, REDIRECT, "app", KEY).await;
    assert_oauth_error(&second, 400, "invalid_grant");
    assert_eq!(verify(&server, &token).await.status, 401, "the first token is revoked");
    server.stop().await;
}

#[tokio::test]
async fn an_expired_or_unknown_code_is_refused() {
    let server = start().await;
    let code = code_for(&server, &authorize_params("app", REDIRECT, &[]), REDIRECT).await;
    common::execute(server.database(), "UPDATE authorization_codes SET expires = 1").await;
    assert_oauth_error(&sdk_exchange(&server, &code, REDIRECT, "app", KEY).await, 400, "invalid_grant");
    assert_oauth_error(
        &sdk_exchange(&server, &"0".repeat(64), REDIRECT, "app", KEY).await,
        400,
        "invalid_grant",
    );
    server.stop().await;
}

#[tokio::test]
async fn a_code_is_bound_to_its_app_and_redirect_uri_and_a_misuse_burns_it() {
    let server = start().await;
    let params = authorize_params("app", REDIRECT, &[]);

    let code = code_for(&server, &params, REDIRECT).await;
    let by_other = sdk_exchange(&server, &code, REDIRECT, "other", OTHER_KEY).await;
    assert_oauth_error(&by_other, 400, "invalid_grant");
    let then = sdk_exchange(&server, &code, REDIRECT, "app", KEY).await;
    assert_oauth_error(&then, 400, "invalid_grant");

    let code = code_for(&server, &params, REDIRECT).await;
    let elsewhere = sdk_exchange(&server, &code, "http://localhost:3000/cb", "app", KEY).await;
    assert_oauth_error(&elsewhere, 400, "invalid_grant");
    assert_oauth_error(&sdk_exchange(&server, &code, REDIRECT, "app", KEY).await, 400, "invalid_grant");
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_api_key_is_invalid_client_and_leaves_the_code() {
    let server = start().await;
    let code = code_for(&server, &authorize_params("app", REDIRECT, &[]), REDIRECT).await;
    for reply in [
        sdk_exchange(&server, &code, REDIRECT, "app", OTHER_KEY).await,
        sdk_exchange(&server, &code, REDIRECT, "app", "not-the-key-0123456789abcdef").await,
        sdk_exchange(&server, &code, REDIRECT, "nobody", KEY).await,
        exchange(
            &server,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", "app"),
            ],
            &[],
        )
        .await,
    ] {
        assert_oauth_error(&reply, 401, "invalid_client");
    }
    let basic = format!("Basic {}", STANDARD.encode("app:wrong"));
    let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)];
    let reply = exchange(&server, &form, &[("Authorization", &basic)]).await;
    assert_oauth_error(&reply, 401, "invalid_client");
    assert!(reply.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")));

    let unsupported = [("grant_type", "password"), ("code", &code), ("redirect_uri", REDIRECT)];
    assert_oauth_error(&exchange(&server, &unsupported, &[]).await, 400, "unsupported_grant_type");
    let no_code = [
        ("grant_type", "authorization_code"),
        ("redirect_uri", REDIRECT),
        ("client_id", "app"),
        ("client_secret", KEY),
    ];
    assert_oauth_error(&exchange(&server, &no_code, &[]).await, 400, "invalid_request");

    assert_eq!(
        sdk_exchange(&server, &code, REDIRECT, "app", KEY).await.status,
        200,
        "the code is still good"
    );
    server.stop().await;
}

#[tokio::test]
async fn pkce_binds_the_code_to_its_verifier() {
    let server = start().await;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let cb = "http://localhost:3000/cb";
    let exchange_as_spa = |code: String, verifier: Option<&'static str>| {
        let server = &server;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", cb),
                ("client_id", "spa"),
            ];
            form.extend(verifier.map(|v| ("code_verifier", v)));
            exchange(server, &form, &[]).await
        }
    };

    // A public app: PKCE, no secret.
    let code = code_for(&server, &authorize_params("spa", cb, &pkce), cb).await;
    let reply = exchange_as_spa(code, Some(VERIFIER)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for verifier in [None, Some(OTHER_VERIFIER)] {
        let code = code_for(&server, &authorize_params("spa", cb, &pkce), cb).await;
        assert_oauth_error(&exchange_as_spa(code, verifier).await, 400, "invalid_grant");
    }

    // An app with a secret may use PKCE too; a verifier without a challenge is refused.
    let code = code_for(&server, &authorize_params("app", REDIRECT, &pkce), REDIRECT).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("client_id", "app"),
        ("client_secret", KEY),
        ("code_verifier", OTHER_VERIFIER),
    ];
    assert_oauth_error(&exchange(&server, &form, &[]).await, 400, "invalid_grant");
    let code = code_for(&server, &authorize_params("app", REDIRECT, &[]), REDIRECT).await;
    let form = [form[0], ("code", &code), form[2], form[3], form[4], ("code_verifier", VERIFIER)];
    assert_oauth_error(&exchange(&server, &form, &[]).await, 400, "invalid_grant");

    // Only S256, and a well-formed challenge: else back to the redirect URI with the error.
    for bad in [
        [("code_challenge", VERIFIER), ("code_challenge_method", "plain")],
        [("code_challenge", "short"), ("code_challenge_method", "S256")],
    ] {
        let pairs = redirected(&authorize(&server, &authorize_params("spa", cb, &bad)).await, cb);
        assert_eq!(value(&pairs, "error"), Some("invalid_request"));
        assert!(
            value(&pairs, "error_description").is_some_and(|d| d.contains("code_challenge")),
            "{pairs:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn an_exchange_is_a_form_with_each_parameter_once() {
    let server = start().await;
    let twice = [("grant_type", "authorization_code"), ("grant_type", "authorization_code")];
    assert_oauth_error(&exchange(&server, &twice, &[]).await, 400, "invalid_request");
    server.stop().await;
}

#[tokio::test]
async fn an_upstream_sign_in_goes_through_the_broker_and_back_to_the_redirect_uri() {
    // An OAuth 2.0 provider never called: the user denies at its sign-in page.
    let server = start_with(
        "[[providers]]\nid = \"acme\"\nkind = \"oauth2\"\nname = \"Acme\"\ncategory = \"storage\"\n\
         client_id = \"our-app\"\nclient_secret = \"s3cr3t-value\"\n\
         authorization_url = \"http://127.0.0.1:1/auth\"\ntoken_url = \"http://127.0.0.1:1/token\"\n\
         identity_url = \"http://127.0.0.1:1/me\"\n",
    )
    .await;
    let mut params = authorize_params("app", REDIRECT, &[]);
    params.retain(|(key, _)| *key != "scope");
    params.push(("scope", "acme"));
    let to_upstream = authorize(&server, &params).await;
    assert_eq!(to_upstream.status, 302, "{}", to_upstream.body);
    let location = url::Url::parse(&to_upstream.location().unwrap()).unwrap();
    assert_eq!(location.as_str().split('?').next(), Some("http://127.0.0.1:1/auth"));
    let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();

    let back =
        Reply::of(server.get(&format!("/v1/oauth/callback/acme?state={state}&error=access_denied"))).await;
    let pairs = redirected(&back, REDIRECT);
    assert_eq!(value(&pairs, "error"), Some("access_denied"));
    assert_eq!(value(&pairs, "state"), Some("st8 of the app"), "the app's state, not ours");
    assert_eq!(value(&pairs, "code"), None);
    server.stop().await;
}

#[tokio::test]
async fn a_sign_in_token_admits_a_code_flow_for_its_user() {
    let server = start_with(&format!(
        "[[apps]]\nclient_id = \"signed\"\ntrusted_domains = []\napi_key = \"key-of-signed-0123456789abcdef\"\n\
         require_sign_in_token = true\nredirect_uris = [\"{REDIRECT}\"]\n"
    ))
    .await;
    let minted = Reply::of(
        server
            .http()
            .post(server.url("/v1/sign_in_tokens"))
            .header("Authorization", "APIKey key-of-signed-0123456789abcdef")
            .header("Content-Type", "application/json")
            .body(r#"{"user_id": "user-42"}"#),
    )
    .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.json()["token"].as_str().unwrap().to_owned();

    let params = authorize_params("signed", REDIRECT, &[("sign_in_token", &token)]);
    let code = code_for(&server, &params, REDIRECT).await;
    let reply = sdk_exchange(&server, &code, REDIRECT, "signed", "key-of-signed-0123456789abcdef").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let access_token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let me = Reply::of(server.http().get(server.url("/v1/accounts/me/")).bearer_auth(&access_token)).await;
    assert_eq!(me.json()["user_id"], "user-42");

    // Without one (or with the used one), the flow ends at once back at the app, with the error.
    let without = authorize_params("signed", REDIRECT, &[]);
    for (params, error) in [(without, "sign_in_token_required"), (params, "invalid_sign_in_token")] {
        let pairs = redirected(&authorize(&server, &params).await, REDIRECT);
        assert_eq!(value(&pairs, "error"), Some(error));
        assert_eq!(value(&pairs, "state"), Some("st8 of the app"));
    }
    server.stop().await;
}

#[tokio::test]
async fn a_code_flows_forms_may_lead_to_its_redirect_uri_and_nowhere_else() {
    // A browser applies the form page's form-action to the 303 after its form (Chromium blocks
    // it otherwise): the code flow's pages allow the registered redirect URI's origin.
    let server = start().await;
    let csp = |reply: &Reply| reply.header("content-security-policy").unwrap_or_default().to_owned();
    let chooser = authorize(&server, &authorize_params("app", REDIRECT, &[])).await;
    assert!(csp(&chooser).contains("form-action 'self' https://app.test;"), "{}", csp(&chooser));
    let single = authorize_params("app", "http://localhost:3000/cb", &[("service", "box")]);
    let connect = authorize(&server, &single).await;
    assert!(connect.body.contains("name=\"account\""), "the connect form: {}", connect.body);
    assert!(csp(&connect).contains("form-action 'self' http://localhost:3000;"), "{}", csp(&connect));
    server.stop().await;
}

#[tokio::test]
async fn exchanges_racing_for_one_code_leave_no_valid_token() {
    // Every exchange but the first is a second use, which revokes the token: the first may
    // still have read it (200) or find it revoked already (invalid_grant), never more than one.
    let server = start().await;
    for _ in 0..3 {
        let code = code_for(&server, &authorize_params("app", REDIRECT, &[]), REDIRECT).await;
        let racing = (0..8).map(|_| sdk_exchange(&server, &code, REDIRECT, "app", KEY));
        let replies = futures_util::future::join_all(racing).await;
        let (won, lost): (Vec<&Reply>, Vec<&Reply>) = replies.iter().partition(|reply| reply.status == 200);
        assert!(
            won.len() <= 1 && lost.len() >= 7,
            "{:?}",
            replies.iter().map(|r| &r.body).collect::<Vec<_>>()
        );
        for reply in lost {
            assert_oauth_error(reply, 400, "invalid_grant");
        }
        for reply in won {
            let token = reply.json()["access_token"].as_str().unwrap().to_owned();
            assert_eq!(verify(&server, &token).await.status, 401, "a second use revoked it");
        }
    }
    server.stop().await;
}
