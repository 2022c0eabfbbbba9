//! Single-use sign-in tokens over real HTTP: minted with the app's API key only (for that app),
//! they admit one pop-up flow of that app — its next pages too — until it has its result; a
//! second flow, another app, an expired token and a missing one (where the app requires it)
//! are refused with an `invalid_sign_in_token` result; two flows racing for one token, exactly
//! one wins (on PostgreSQL too, with KLOUDLESS_TEST_DATABASE), and so does one of a flow's
//! results racing to connect with it; the connected account records the end user, and is never
//! reassigned to another; a flow is bound to the browser that started it (its cookie).

mod common;

use common::TestServer;
use serde_json::{Value, json};

const KEY_A: &str = "key-of-app-a-0123456789abcdef";
const KEY_B: &str = "key-of-app-b-0123456789abcdef";
const KEY_OPEN: &str = "key-of-app-open-0123456789ab";
const ORIGIN: &str = "http://localhost:3000";
/// The binding cookies of two browsers (the server's public URL is plain http).
const BROWSER_A: &str = "kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const BROWSER_B: &str = "kloudless-browser=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

struct Running {
    server: TestServer,
}

/// Apps `a` and `b` require sign-in tokens, `open` does not; tokens live `ttl_secs`.
async fn start(ttl_secs: u64) -> Running {
    start_with(ttl_secs, "").await
}

/// [`start`], then `more` TOML (e.g. a `[popup_flows]` table).
async fn start_with(ttl_secs: u64, more: &str) -> Running {
    let app = |id: &str, key: &str, required: bool| {
        format!(
            "[[apps]]\nclient_id = \"{id}\"\ntrusted_domains = [\"localhost:3000\"]\nreturn_urls = [\"{ORIGIN}/app.html\"]\n\
             api_key = \"{key}\"\n\
             require_sign_in_token = {required}\n"
        )
    };
    let toml = format!(
        "sign_in_token_ttl_secs = {ttl_secs}\n{}{}{}{more}",
        app("a", KEY_A, true),
        app("b", KEY_B, true),
        app("open", KEY_OPEN, false)
    );
    Running { server: TestServer::start(&toml).await }
}

impl Running {
    async fn mint(&self, auth: &str, body: &str) -> (u16, Value) {
        let reply = self
            .server
            .http()
            .post(self.server.url("/v1/sign_in_tokens"))
            .header("Authorization", auth)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        (status, serde_json::from_str(&reply.text().await.unwrap()).unwrap_or(Value::Null))
    }

    /// A token of app `key`'s for `user`.
    async fn token(&self, key: &str, user: &str) -> String {
        let (status, body) =
            self.mint(&format!("APIKey {key}"), &json!({ "user_id": user }).to_string()).await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// The pop-up's first page for flow `request_id` of `client_id` (the demo's `box`, so its
    /// connect page), with `token` if given, in browser A: its status and body.
    async fn open(&self, client_id: &str, request_id: &str, token: Option<&str>) -> (u16, String) {
        self.open_in(Some(BROWSER_A), client_id, request_id, token).await
    }

    /// [`Running::open`] in the browser with the binding cookie `cookie` (none: a new browser).
    async fn open_in(
        &self,
        cookie: Option<&str>,
        client_id: &str,
        request_id: &str,
        token: Option<&str>,
    ) -> (u16, String) {
        let mut params = flow(client_id, request_id);
        params.extend(token.map(|t| ("sign_in_token", t.to_owned())));
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        let request = self.server.request_in(cookie, reqwest::Method::GET, &format!("/v1/oauth?{query}"));
        let reply = request.send().await.unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    }

    /// Submits the connect page of flow `request_id` with `token` in browser A: the result's data.
    async fn connect(&self, client_id: &str, request_id: &str, token: &str, account: &str) -> Value {
        let page = self.submit_in(Some(BROWSER_A), client_id, request_id, Some(token), account).await;
        assert_eq!(page.0, 200);
        result(&page.1).expect("a result page")
    }

    /// Submits the connect page of flow `request_id` (with `token` if given) for the demo
    /// account `account`, in the browser with the binding cookie `cookie`: status and body.
    async fn submit_in(
        &self,
        cookie: Option<&str>,
        client_id: &str,
        request_id: &str,
        token: Option<&str>,
        account: &str,
    ) -> (u16, String) {
        let mut form = flow(client_id, request_id);
        form.extend(token.map(|t| ("sign_in_token", t.to_owned())));
        form.extend([
            ("service", "box".to_owned()),
            ("account", account.to_owned()),
            ("action", "connect".to_owned()),
        ]);
        let request = self.server.request_in(cookie, reqwest::Method::POST, "/v1/oauth").form(&form);
        let reply = request.send().await.unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    }

    /// The first page of a tracked flow (with `return_to`) `request_id` of `client_id`, from the
    /// local address `from`, in browser A: status and body.
    async fn open_tracked_from(
        &self,
        from: &str,
        client_id: &str,
        request_id: &str,
        token: Option<&str>,
    ) -> (u16, String) {
        let mut params = flow(client_id, request_id);
        params.push(("return_to", format!("{ORIGIN}/app.html")));
        params.extend(token.map(|t| ("sign_in_token", t.to_owned())));
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        let reply = self
            .server
            .request_from(from.parse().unwrap(), reqwest::Method::GET, &format!("/v1/oauth?{query}"))
            .header("Cookie", BROWSER_A)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    }

    /// The status `POST /v1/oauth/progress` answers for the flow: 202 tracked, 204 unknown.
    async fn progress(&self, client_id: &str, request_id: &str) -> u16 {
        let form = [("client_id", client_id), ("request_id", request_id)];
        let reply =
            self.server.http().post(self.server.url("/v1/oauth/progress")).form(&form).send().await.unwrap();
        reply.status().as_u16()
    }

    /// App `key`'s accounts, as the account API lists them (with their `user_id`).
    async fn accounts(&self, key: &str) -> Vec<Value> {
        let reply = self
            .server
            .http()
            .get(self.server.url("/v1/accounts/"))
            .header("Authorization", format!("APIKey {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200);
        reply.json::<Value>().await.unwrap()["objects"].as_array().unwrap().clone()
    }
}

fn flow(client_id: &str, request_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", client_id.to_owned()),
        ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob".to_owned()),
        ("response_type", "token".to_owned()),
        ("state", "st8".to_owned()),
        ("request_id", request_id.to_owned()),
        ("origin", ORIGIN.to_owned()),
        ("scope", "box".to_owned()),
    ]
}

/// The result a result page posts (its `data`), if it is one.
fn result(html: &str) -> Option<Value> {
    let marker = "id=\"kloudless-result\">";
    let start = html.find(marker)? + marker.len();
    let end = start + html[start..].find("</script>")?;
    serde_json::from_str::<Value>(&html[start..end]).ok().map(|embedded| embedded["data"].clone())
}

/// The page is the connect page (the flow was admitted).
fn admitted(page: &(u16, String)) -> bool {
    page.0 == 200 && page.1.contains("data-action=\"connect\"")
}

/// The page is a result page with `invalid_sign_in_token` and the page's state.
fn refused(page: &(u16, String)) -> bool {
    result(&page.1).is_some_and(|data| data["error"] == "invalid_sign_in_token" && data["state"] == "st8")
}

#[tokio::test]
async fn minting_needs_the_apps_api_key_and_mints_for_that_app_only() {
    let running = start(300).await;
    let body = r#"{"user_id": "user-42"}"#;
    let (status, minted) = running.mint(&format!("APIKey {KEY_A}"), body).await;
    assert_eq!(status, 201, "{minted}");
    assert_eq!((minted["user_id"].as_str(), minted["expires_in"].as_u64()), (Some("user-42"), Some(300)));
    assert!(minted["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(minted["token"].as_str().unwrap().len(), 64);
    for bad in ["", "APIKey ", "APIKey wrong-key-0123456789abcdefgh", "Bearer not-a-token"] {
        let (status, error) = running.mint(bad, body).await;
        assert_eq!((status, error["error"].as_str()), (401, Some("invalid_token")), "{bad:?}");
    }
    for bad in [
        "",
        "{}",
        "[]",
        r#"{"user_id": ""}"#,
        r#"{"user_id": 7}"#,
        r#"{"user_id": "a\nb"}"#,
        r#"{"user_id": "u", "client_id": "b"}"#,
    ] {
        let (status, error) = running.mint(&format!("APIKey {KEY_A}"), bad).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_request")), "{bad:?}");
    }
    let too_long = json!({ "user_id": "u".repeat(257) }).to_string();
    assert_eq!(running.mint(&format!("APIKey {KEY_A}"), &too_long).await.0, 400);

    // Minted by b: good for b's flows, not for a's.
    let of_b = running.token(KEY_B, "user-42").await;
    assert!(refused(&running.open("a", "r1", Some(&of_b)).await), "another app's token");
    assert!(admitted(&running.open("b", "r2", Some(&of_b)).await));
}

#[tokio::test]
async fn a_token_admits_one_flow_whose_pages_pass_and_its_result_ends_it() {
    let running = start(300).await;
    let token = running.token(KEY_A, "user-42").await;
    assert!(admitted(&running.open("a", "r1", Some(&token)).await));
    assert!(admitted(&running.open("a", "r1", Some(&token)).await), "a reload of the flow's page");
    assert!(refused(&running.open("a", "r2", Some(&token)).await), "another pop-up with the used token");
    let data = running.connect("a", "r1", &token, "ann").await;
    let access_token = data["access_token"].as_str().expect("connected").to_owned();
    assert!(refused(&running.open("a", "r1", Some(&token)).await), "the flow has its result");
    let replayed = running.connect("a", "r1", &token, "eve").await;
    assert_eq!(replayed["error"], "invalid_sign_in_token", "no second account with one token");

    // The account records the end user, for the app's backend.
    let info: Value = running
        .server
        .http()
        .get(running.server.url("/v1/accounts/me/"))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, list) = {
        let reply = running
            .server
            .http()
            .get(running.server.url("/v1/accounts/"))
            .header("Authorization", format!("APIKey {KEY_A}"))
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(list["objects"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["objects"][0]["id"], info["id"]);
    assert_eq!(list["objects"][0]["user_id"], "user-42");
}

#[tokio::test]
async fn an_app_that_requires_tokens_refuses_flows_without_one_and_others_check_one_if_given() {
    let running = start(300).await;
    let page = running.open("a", "r1", None).await;
    let data = result(&page.1).unwrap();
    assert_eq!((&data["error"], &data["state"]), (&"sign_in_token_required".into(), &"st8".into()), "{data}");
    assert!(data["error_description"].as_str().unwrap().contains("requires a sign-in token"));
    assert!(refused(&running.open("a", "r1", Some(&"0".repeat(64))).await), "an unknown token");
    let malformed = running.open("a", "r1", Some("not a token!")).await;
    assert_eq!(malformed.0, 400, "a malformed token: the error page");

    assert!(admitted(&running.open("open", "r1", None).await), "not required");
    assert!(refused(&running.open("open", "r1", Some(&"0".repeat(64))).await), "checked when given");
    let token = running.token(KEY_OPEN, "user-7").await;
    assert!(admitted(&running.open("open", "r2", Some(&token)).await));
    assert!(refused(&running.open("open", "r3", Some(&token)).await), "single use when given");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let running = start(1).await;
    let (_, minted) = running.mint(&format!("APIKey {KEY_A}"), r#"{"user_id":"u"}"#).await;
    assert_eq!(minted["expires_in"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(refused(&running.open("a", "r1", Some(minted["token"].as_str().unwrap())).await));
}

#[tokio::test]
async fn of_pop_ups_racing_for_one_token_exactly_one_is_admitted() {
    let running = std::sync::Arc::new(start(300).await);
    for round in 0..5 {
        let token = running.token(KEY_A, "user-42").await;
        let mut racing = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (running, token) = (running.clone(), token.clone());
            racing.spawn(async move { running.open("a", &format!("race{round}-{i}"), Some(&token)).await });
        }
        let pages = racing.join_all().await;
        let admitted_count = pages.iter().filter(|page| admitted(page)).count();
        let refused_count = pages.iter().filter(|page| refused(page)).count();
        assert_eq!((admitted_count, refused_count), (1, 7), "round {round}");
    }
}

#[tokio::test]
async fn a_flow_started_in_one_browser_cannot_be_completed_in_another() {
    let running = start(300).await;
    // The attacker, an ordinary user of app a, starts a pop-up with his own token in browser A.
    let token = running.token(KEY_A, "attacker").await;
    assert!(admitted(&running.open_in(Some(BROWSER_A), "a", "r1", Some(&token)).await));
    // He sends the pop-up's URL (or its form) to the victim, whose browser B has another cookie.
    let (status, page) = running.open_in(Some(BROWSER_B), "a", "r1", Some(&token)).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("started in another browser") && result(&page).is_none(), "{page}");
    let (status, page) = running.open_in(None, "a", "r1", Some(&token)).await;
    assert_eq!(status, 403, "a browser without a cookie is another browser too: {page}");
    let (status, page) = running.submit_in(Some(BROWSER_B), "a", "r1", Some(&token), "victim").await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("started in another browser") && result(&page).is_none(), "{page}");
    let (status, page) = running.submit_in(None, "a", "r1", Some(&token), "victim").await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("needs cookies"), "{page}");
    assert!(running.accounts(KEY_A).await.is_empty(), "nothing saved under the attacker's user_id");
    // The flow is still the attacker's own, in his own browser.
    let data = running.connect("a", "r1", &token, "attacker-account").await;
    assert!(data["access_token"].is_string(), "{data}");
}

#[tokio::test]
async fn the_first_page_gives_a_new_browser_its_binding_cookie() {
    let running = start(300).await;
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&flow("open", "r1")).finish();
    let reply =
        running.server.http().get(running.server.url(&format!("/v1/oauth?{query}"))).send().await.unwrap();
    let cookie = reply.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("kloudless-browser=") && cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    let value = cookie.split(';').next().unwrap();
    assert_eq!(value.len(), "kloudless-browser=".len() + 64);
    let again = running
        .server
        .http()
        .get(running.server.url(&format!("/v1/oauth?{query}")))
        .header("Cookie", value)
        .send()
        .await
        .unwrap();
    assert!(!again.headers().contains_key("set-cookie"), "a browser keeps its cookie");
    let (status, page) = running.submit_in(Some(value), "open", "r1", None, "ann").await;
    assert_eq!(status, 200, "{page}");
    assert!(result(&page).unwrap()["access_token"].is_string());
}

#[tokio::test]
async fn an_account_of_one_user_is_never_reassigned_to_another() {
    let running = start(300).await;
    let victim = running.token(KEY_OPEN, "victim").await;
    assert!(running.connect("open", "v1", &victim, "shared").await["access_token"].is_string());
    // Without a token, the recorded user stays.
    let (status, page) = running.submit_in(Some(BROWSER_A), "open", "n1", None, "shared").await;
    assert_eq!(status, 200, "{page}");
    assert!(result(&page).unwrap()["access_token"].is_string());
    // With another user's token: refused, nothing changed.
    let attacker = running.token(KEY_OPEN, "attacker").await;
    assert!(admitted(&running.open("open", "a1", Some(&attacker)).await));
    let refused = running.connect("open", "a1", &attacker, "shared").await;
    assert_eq!(refused["error"], "account_of_another_user", "{refused}");
    assert_eq!(refused["state"], "st8");
    let accounts = running.accounts(KEY_OPEN).await;
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0]["user_id"], "victim", "not reassigned");
    // The attacker's own account is his.
    let mine = running.token(KEY_OPEN, "attacker").await;
    assert!(running.connect("open", "a2", &mine, "attacker-own").await["access_token"].is_string());
}

#[tokio::test]
async fn of_results_racing_for_one_flow_exactly_one_connects() {
    let running = std::sync::Arc::new(start(300).await);
    for round in 0..5 {
        let token = running.token(KEY_A, &format!("user-{round}")).await;
        let flow_id = format!("flow{round}");
        assert!(admitted(&running.open("a", &flow_id, Some(&token)).await));
        let mut racing = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (running, token, flow_id) = (running.clone(), token.clone(), flow_id.clone());
            racing.spawn(
                async move { running.connect("a", &flow_id, &token, &format!("acct{round}-{i}")).await },
            );
        }
        let results = racing.join_all().await;
        let connected = results.iter().filter(|data| data["access_token"].is_string()).count();
        let refused = results.iter().filter(|data| data["error"] == "invalid_sign_in_token").count();
        assert_eq!((connected, refused), (1, 7), "round {round}: {results:?}");
    }
    assert_eq!(running.accounts(KEY_A).await.len(), 5, "one account per token");
}

#[tokio::test]
async fn flows_refused_for_want_of_a_token_do_not_count_against_the_apps_quota() {
    let running = start_with(300, "[popup_flows]\nmax_per_client = 100\nmax_per_app = 10\n").await;
    // Forty pop-ups without the sign-in token app a requires, from four addresses.
    let mut flood = Vec::new();
    for i in 0..40 {
        let from = format!("127.0.0.{}", 2 + i % 4);
        flood.push(running.open_tracked_from(&from, "a", &format!("flood{i}"), None).await);
    }
    // A user with a valid token still gets the pop-up, tracked.
    let token = running.token(KEY_A, "user-1").await;
    let page = running.open_tracked_from("127.0.0.9", "a", "mine", Some(&token)).await;
    assert!(admitted(&page), "{}", page.1);
    assert_eq!(running.progress("a", "mine").await, 202, "tracked");
    let required =
        |page: &(u16, String)| result(&page.1).is_some_and(|d| d["error"] == "sign_in_token_required");
    assert!(flood.iter().all(required), "each flood pop-up got its sign_in_token_required result");
}

#[tokio::test]
async fn a_full_app_quota_serves_the_pop_up_untracked_and_a_full_client_quota_is_429() {
    let running = start_with(300, "[popup_flows]\nmax_per_client = 2\nmax_per_app = 3\n").await;
    for (from, id) in [("127.0.0.2", "f1"), ("127.0.0.2", "f2"), ("127.0.0.3", "f3")] {
        assert!(admitted(&running.open_tracked_from(from, "open", id, None).await), "{id}");
        assert_eq!(running.progress("open", id).await, 202, "{id} tracked");
    }
    let page = running.open_tracked_from("127.0.0.4", "open", "past", None).await;
    assert!(admitted(&page), "served, not refused: {}", page.1);
    assert!(!page.1.contains("return_to"), "no second channel for an untracked flow");
    assert_eq!(running.progress("open", "past").await, 204, "untracked");
    let (status, _) = running.open_tracked_from("127.0.0.2", "open", "f4", None).await;
    assert_eq!(status, 429, "the client's own quota still holds");
}
