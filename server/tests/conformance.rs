//! The conformance matrix (issue 23): every catalogue entry, configured as an operator would
//! (its id, a client id and secret), re-hosted on the quirk simulator running the entry's own
//! profile — the provider's documented behaviour — and put through what a real account goes
//! through: connect (HTTP-driven, the hostname form for a per-server entry), a raw API call, an
//! expired token (the upstream's 401) refreshed exactly once, an `expires_in` refreshed before
//! use, the rotated refresh token kept, 20 concurrent calls sharing one refresh, a grant revoked
//! upstream making the account inactive, and disconnecting revoking the grant (RFC 7009) where
//! the entry has a revocation URL. Each check is `pass`, `n/a` (with why) or a failure; the
//! matrix is printed (`--nocapture`) and any failure fails the test. It runs on SQLite, or on
//! PostgreSQL when `KLOUDLESS_TEST_DATABASE` names one.

mod common;

use authenticator_server::accounts::cooldown;
use authenticator_server::accounts::refresh::MARGIN;
use authenticator_server::providers::catalogue::{self, Entry, Kind, Placement};
use authenticator_server::providers::client::read_identity;
use authenticator_server::providers::services::Connect;
use authenticator_server::testing::rehost::rehost;
use base64::Engine;
use common::{Reply, TestServer};
use quirk_simulator::profile::{ExpiresIn, Refresh};
use quirk_simulator::{CLIENT_ID, CLIENT_SECRET, Counts, PASSWORD, Profile, Simulator, USERNAME};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

const PUBLIC: &str = "https://auth.example.test";
const KEY: &str = "key-of-app-a-0123456789abcdef";
/// The binding cookie of the browser every pop-up request comes from (the public URL is https).
const BROWSER: &str =
    "__Host-kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// How many concurrent calls must share one refresh.
const CONCURRENT: usize = 20;

/// The checks, in the order they run (the matrix's columns).
const CHECKS: [&str; 11] = [
    "connect",
    "bad code/password→its error",
    "other iss→refused",
    "other server→refused",
    "raw",
    "401→1 refresh",
    "expiry→1 refresh",
    "rotation",
    "20→1 refresh",
    "revoked→inactive",
    "delete→revoke",
];

/// One check's outcome.
type Outcome = Result<Option<&'static str>, String>;

/// The catalogue's entries, each with its profile.
fn entries() -> Vec<(Entry, Result<Profile, String>)> {
    catalogue::catalogue()
        .unwrap()
        .into_iter()
        // Organisation-wide entries have no user sign-in to simulate: tests/org_accounts.rs.
        .filter(|entry| entry.kind != Kind::ServiceAccount)
        .map(|entry| {
            let profile = profile_of(&entry);
            (entry, profile)
        })
        .collect()
}

/// The entry's profile, read and checked.
fn profile_of(entry: &Entry) -> Result<Profile, String> {
    let table = entry.profile.clone().ok_or("no [provider.profile]")?;
    let profile: Profile = toml::Value::Table(table).try_into().map_err(|e| format!("{e}"))?;
    profile.check()?;
    Ok(profile)
}

/// An entry's run: its server, the simulator and the account connected.
struct Run {
    server: TestServer,
    sim: Simulator,
    entry: Entry,
    profile: Profile,
    account: i64,
}

/// A server with app `a` and the catalogue entry enabled, re-hosted on a simulator in `profile`.
async fn start(entry: &Entry, profile: &Profile) -> (TestServer, Simulator) {
    let sim = Simulator::start(profile.clone()).await.unwrap();
    let app = match entry.kind {
        Kind::Oauth2 | Kind::Password => {
            format!("client_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n")
        }
        Kind::ApiKey | Kind::Basic | Kind::ServiceAccount => String::new(),
    };
    let toml = format!(
        "public_url = \"{PUBLIC}\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n\
         [[providers]]\nid = \"{}\"\n{app}",
        entry.id
    );
    let (id, base) = (entry.id.clone(), sim.base().to_owned());
    let server = TestServer::with(&toml)
        .browser(BROWSER)
        .tune(move |config| {
            rehost(config, &id, &base).unwrap();
            shorten_default_lifetime(config, &id);
        })
        .start()
        .await;
    (server, sim)
}

/// How long after it is issued a token whose lifetime is the entry's `default_expires_in`
/// becomes due for a refresh in these tests (the documented lifetime shortened, as the
/// simulator's is for `expires_in`).
const DUE_AFTER: Duration = Duration::from_secs(8);

/// An entry's documented default lifetime (for replies without `expires_in`) shortened to
/// [`DUE_AFTER`] past the refresh margin.
fn shorten_default_lifetime(config: &mut authenticator_server::config::Config, id: &str) {
    let Some(service) = config.services.iter_mut().find(|service| service.id == id) else { return };
    let Connect::Upstream(upstream) = &mut service.connect else { return };
    let upstream = std::sync::Arc::get_mut(upstream).unwrap();
    if upstream.entry.default_expires_in.is_some() {
        upstream.entry.default_expires_in = Some((MARGIN + DUE_AFTER).as_secs());
    }
}

/// The pop-up request of app `a` (from `http://localhost:3000`) for `scope`, with `extra`.
fn popup_query(scope: &str, extra: &[(&str, &str)]) -> String {
    common::popup_query("a", "http://localhost:3000", scope, extra)
}

/// Starts a pop-up flow and follows it to the simulator, which approves: the path (and query)
/// it sends the browser back to on this server.
async fn approved(server: &TestServer, sim: &Simulator, entry: &Entry) -> Result<String, String> {
    let mut query = popup_query(&entry.id, &[]);
    if entry.hostname_pattern.is_some() && entry.callback_hostname.is_none() {
        let host = sim.base().trim_start_matches("http://");
        query = popup_query(&entry.id, &[("service", &entry.id), ("hostname", host)]);
    }
    sent_back(server, &query).await
}

/// The pop-up request `query` followed to its provider, which approves: the path (and query)
/// the provider sends the browser back to on this server.
async fn sent_back(server: &TestServer, query: &str) -> Result<String, String> {
    let reply = Reply::of(server.get(&format!("/v1/oauth?{query}"))).await;
    let authorize = match (reply.location(), reply.header("refresh")) {
        (Some(location), _) => location,
        (None, Some(refresh)) => refresh.trim_start_matches("0;url=").to_owned(),
        _ => return Err(format!("no redirect to the provider ({}): {}", reply.status, said(&reply.body))),
    };
    let approved = Reply::of(server.http().get(&authorize)).await;
    let back = approved
        .location()
        .ok_or_else(|| format!("the provider refused ({}): {}", approved.status, approved.body))?;
    back.strip_prefix(PUBLIC).map(str::to_owned).ok_or_else(|| format!("came back to {back}"))
}

/// Follows the pop-up to the simulator and back (HTTP-driven): the account connected.
async fn connect(
    server: &TestServer,
    sim: &Simulator,
    entry: &Entry,
    profile: &Profile,
) -> Result<i64, String> {
    let path = approved(server, sim, entry).await?;
    let asked: Vec<(String, String)> = sim.last_authorization();
    let asked = |name: &str| asked.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let scopes: Vec<String> = asked(&profile.scope_param)
        .unwrap_or_default()
        .split(&profile.scope_separator)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let host = sim.base().trim_start_matches("http://");
    let own: Vec<String> = entry.scopes.iter().map(|scope| scope.replace("{hostname}", host)).collect();
    if scopes != own {
        return Err(format!("scopes sent {scopes:?}, not the entry's {own:?}"));
    }
    if asked("code_challenge").is_some() != entry.pkce {
        return Err("PKCE challenge sent where the entry says otherwise".to_owned());
    }
    let result = Reply::of(server.get(&path)).await;
    account_of(server, entry, profile, &result.body).await
}

/// The account the result page `page` gives a token for, checked to be the provider's user.
async fn account_of(
    server: &TestServer,
    entry: &Entry,
    profile: &Profile,
    page: &str,
) -> Result<i64, String> {
    let token = page
        .split("\"access_token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| format!("no token in the result: {}", said(page)))?
        .to_owned();
    let accounts = Reply::of(server.get("/v1/accounts/").bearer_auth(&token)).await.json();
    let account = &accounts["objects"][0];
    let expected =
        read_identity(&profile.me, &entry.identity).map_err(|e| format!("identity paths: {e:?}"))?;
    if account["account"] != expected.login.as_str() {
        return Err(format!("the account is {}, not {}", account["account"], expected.login));
    }
    account["id"].as_i64().ok_or_else(|| format!("no account: {accounts}"))
}

/// The pop-up's form filled for a password entry with `password` (and the simulator's host,
/// for a per-server one), posted: the reply.
async fn post_password(server: &TestServer, sim: &Simulator, entry: &Entry, password: &str) -> Reply {
    let host = sim.base().trim_start_matches("http://");
    let mut fields = vec![("service", entry.id.as_str()), ("action", "connect"), ("username", USERNAME)];
    fields.push(("password", password));
    if entry.hostname_pattern.is_some() {
        fields.push(("hostname", host));
    }
    let request = server.post("/v1/oauth").header("content-type", "application/x-www-form-urlencoded");
    Reply::of(request.body(popup_query(&entry.id, &fields))).await
}

/// Connects a password entry through the pop-up's form: the user name and password traded at
/// the token endpoint; the account is the provider's user, and what it keeps is not the
/// password.
async fn connect_with_password(
    server: &TestServer,
    sim: &Simulator,
    entry: &Entry,
    profile: &Profile,
) -> Result<i64, String> {
    let reply = post_password(server, sim, entry, PASSWORD).await;
    let account = account_of(server, entry, profile, &reply.body).await?;
    if common::everything(server.database()).await.contains(PASSWORD) {
        return Err("the password is stored".to_owned());
    }
    Ok(account)
}

/// A password the provider refuses: the form again with the provider's reason, no account.
async fn refused_password(run: &Run) -> Outcome {
    let before = run.sim.counts();
    let reply = post_password(&run.server, &run.sim, &run.entry, "wrong password").await;
    let tried = grew(&before, &run.sim.counts(), |c| c.password_grants);
    match (reply.status, tried, reply.body.contains("data-error=\"credentials\"")) {
        (400, 1, true) => Ok(None),
        (status, tried, _) => Err(format!("{status}, {tried} password grants: {}", said(&reply.body))),
    }
}

/// Connects an API-key or basic entry through the pop-up's form (with the simulator's host for
/// a per-server entry, a region for a regional one): a wrong key (or password) is refused with the form again, nothing
/// connected; the one the simulator takes connects the provider's user.
async fn connect_with_key(server: &TestServer, sim: &Simulator, entry: &Entry) -> Result<i64, String> {
    let mut secrets = [format!("{CLIENT_SECRET}-wrong"), CLIENT_SECRET.to_owned()];
    if entry.placement() == Placement::AzureSharedKey {
        // An account key is typed as base64.
        secrets = secrets.map(|secret| base64::engine::general_purpose::STANDARD.encode(secret));
    }
    for (secret, good) in [(secrets[0].as_str(), false), (secrets[1].as_str(), true)] {
        let mut fields = vec![("service", entry.id.as_str()), ("action", "connect")];
        match entry.kind {
            Kind::Basic => fields.extend([("username", "ann"), ("password", secret)]),
            _ => fields.push(("api_key", secret)),
        }
        let host = sim.base().trim_start_matches("http://");
        if entry.hostname_pattern.is_some() {
            fields.push(("hostname", host));
        }
        if entry.needs_region() {
            fields.push(("region", "eu-west-3"));
        }
        let query = popup_query(&entry.id, &fields);
        let request = server.post("/v1/oauth").header("content-type", "application/x-www-form-urlencoded");
        let reply = Reply::of(request.body(query)).await;
        let token = (reply.status == 200).then(|| result_token(&reply.body)).flatten();
        match (token, good) {
            (None, false) => {}
            (Some(token), true) => return account_by_token(server, &token).await,
            _ => {
                let which = if good { "the right" } else { "a wrong" };
                return Err(format!("{which} secret: {}: {}", reply.status, said(&reply.body)));
            }
        }
    }
    Err("no secret was tried".to_owned())
}

/// The token on a result page, if it holds one.
fn result_token(page: &str) -> Option<String> {
    page.split("\"access_token\":\"").nth(1)?.split('"').next().map(str::to_owned)
}

/// The id of the account the result's `token` names.
async fn account_by_token(server: &TestServer, token: &str) -> Result<i64, String> {
    let accounts = Reply::of(server.get("/v1/accounts/").bearer_auth(token)).await.json();
    accounts["objects"][0]["id"].as_i64().ok_or_else(|| format!("no account: {accounts}"))
}

/// What a result page or a form says: its error paragraph.
fn said(page: &str) -> &str {
    let error = page.split("<p class=\"error\"").nth(1).and_then(|rest| rest.split_once('>'));
    error.and_then(|(_, rest)| rest.split("</p>").next()).unwrap_or(page)
}

/// A code the provider refuses (here: one it never issued) ends the flow with the provider's
/// own error code, however the provider answers errors (GitHub and Slack with status 200).
async fn refused_code(run: &Run) -> Outcome {
    let path = approved(&run.server, &run.sim, &run.entry).await?;
    let forged = path.replace("code=CODE-", "code=FORGED-");
    let page = Reply::of(run.server.get(&forged)).await.body;
    match page.contains("\"error\":\"invalid_grant\"") {
        true => Ok(None),
        false => Err(format!("the result: {}", said(&page))),
    }
}

/// RFC 9207 (issue 23, finding 4): where the entry names its provider's issuer, an
/// authorization response whose `iss` names another (an IdP mix-up) ends the flow with
/// `invalid_request`, its code never exchanged.
async fn other_iss_refused(run: &Run) -> Outcome {
    if run.entry.issuer.is_none() {
        return Ok(Some("no iss documented"));
    }
    let path = approved(&run.server, &run.sim, &run.entry).await?;
    let (route, query) = path.split_once('?').unwrap_or((&path, ""));
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().filter(|(k, _)| k != "iss").collect();
    pairs.push(("iss".into(), "https://attacker.example".into()));
    let forged = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let before = run.sim.counts();
    let page = Reply::of(run.server.get(&format!("{route}?{forged}"))).await.body;
    let exchanged = grew(&before, &run.sim.counts(), |c| c.code_grants);
    match (page.contains("\"error\":\"invalid_request\""), exchanged) {
        (true, 0) => Ok(None),
        (_, exchanged) => Err(format!("{exchanged} codes exchanged; the result: {}", said(&page))),
    }
}

/// Where the provider's answer names the account's server (`callback_hostname`: Zoho's data
/// centre, a ShareFile account's host), an answer naming a server outside the provider's own is
/// refused with `invalid_request`, its code never sent anywhere.
async fn other_server_refused(run: &Run) -> Outcome {
    if run.entry.callback_hostname.is_none() {
        return Ok(Some("server not in the answer"));
    }
    let path = approved(&run.server, &run.sim, &run.entry).await?;
    let (route, query) = path.split_once('?').unwrap_or((&path, ""));
    let named = run.profile.callback_params.keys().collect::<Vec<_>>();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .map(|(k, v)| match named.contains(&&k) {
            true => (k, "https://attacker.example".to_owned()),
            false => (k, v),
        })
        .collect();
    let forged = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let before = run.sim.counts();
    let page = Reply::of(run.server.get(&format!("{route}?{forged}"))).await.body;
    let exchanged = grew(&before, &run.sim.counts(), |c| c.code_grants);
    match (page.contains("\"error\":\"invalid_request\""), exchanged) {
        (true, 0) => Ok(None),
        (_, exchanged) => Err(format!("{exchanged} codes exchanged; the result: {}", said(&page))),
    }
}

/// A raw API call of the account: its status and body.
async fn raw(run: &Run) -> (u16, Value) {
    let request = run
        .server
        .post(&format!("/v1/accounts/{}/raw", run.account))
        .header("Authorization", format!("APIKey {KEY}"))
        .header("X-Kloudless-Raw-URI", "/conformance")
        .header("X-Kloudless-Raw-Method", "GET");
    let reply = Reply::of(request).await;
    (reply.status, reply.json_or_null())
}

/// A raw call that must succeed, and what the simulator saw for it.
async fn raw_ok(run: &Run) -> Result<Counts, String> {
    match raw(run).await {
        (200, _) => Ok(run.sim.counts()),
        (status, body) => Err(format!("raw call: {status} {body}")),
    }
}

/// `after - before` of one count, named.
fn grew(before: &Counts, after: &Counts, count: fn(&Counts) -> usize) -> usize {
    count(after) - count(before)
}

fn refreshable(profile: &Profile) -> Outcome {
    match profile.refresh {
        Refresh::None => Ok(Some("no refresh token")),
        _ => Ok(None),
    }
}

/// The upstream answers 401 to the access token: one refresh, the call passes.
async fn refresh_on_401(run: &Run) -> Outcome {
    if let n_a @ Ok(Some(_)) = refreshable(&run.profile) {
        return n_a;
    }
    let before = run.sim.counts();
    run.sim.expire_access_tokens();
    let after = raw_ok(run).await?;
    match grew(&before, &after, |c| c.refreshes) {
        1 => Ok(None),
        n => Err(format!("{n} refreshes")),
    }
}

/// A token issued for less than the server's margin is refreshed before it is used: one
/// refresh, no 401.
async fn refresh_on_expiry(run: &Run) -> Outcome {
    if let n_a @ Ok(Some(_)) = refreshable(&run.profile) {
        return n_a;
    }
    if run.profile.expires_in == ExpiresIn::Absent {
        return match run.entry.default_expires_in {
            None => Ok(Some("no expires_in: on 401")),
            Some(_) => refresh_at_default_lifetime(run).await,
        };
    }
    run.sim.set_lifetime(60);
    run.sim.expire_access_tokens();
    raw_ok(run).await?;
    run.sim.set_lifetime(run.profile.lifetime);
    let before = run.sim.counts();
    let after = raw_ok(run).await?;
    match (grew(&before, &after, |c| c.refreshes), grew(&before, &after, |c| c.api_unauthorized)) {
        (1, 0) => Ok(None),
        (n, unauthorized) => Err(format!("{n} refreshes, {unauthorized} API 401s")),
    }
}

/// A token issued without `expires_in` is refreshed before it is as old as the entry's
/// documented `default_expires_in` (shortened: [`DUE_AFTER`]): one refresh, no 401.
async fn refresh_at_default_lifetime(run: &Run) -> Outcome {
    run.sim.expire_access_tokens();
    raw_ok(run).await?;
    tokio::time::sleep(DUE_AFTER + Duration::from_secs(1)).await;
    let before = run.sim.counts();
    let after = raw_ok(run).await?;
    match (grew(&before, &after, |c| c.refreshes), grew(&before, &after, |c| c.api_unauthorized)) {
        (1, 0) => Ok(None),
        (n, unauthorized) => Err(format!("{n} refreshes, {unauthorized} API 401s at the default lifetime")),
    }
}

/// After the refreshes so far, one more works and no refresh token was presented twice.
async fn rotation_kept(run: &Run) -> Outcome {
    if let n_a @ Ok(Some(_)) = refreshable(&run.profile) {
        return n_a;
    }
    refresh_on_401(run).await?;
    match run.sim.counts().reuses {
        0 => Ok(None),
        n => Err(format!("{n} used refresh tokens presented again")),
    }
}

/// [`CONCURRENT`] calls with an expired token: one refresh.
async fn concurrent_refresh(run: &Run) -> Outcome {
    if let n_a @ Ok(Some(_)) = refreshable(&run.profile) {
        return n_a;
    }
    run.sim.set_token_delay(Duration::from_millis(200));
    run.sim.expire_access_tokens();
    let before = run.sim.counts();
    let calls = (0..CONCURRENT).map(|_| raw(run));
    let statuses: Vec<u16> =
        futures_util::future::join_all(calls).await.into_iter().map(|(s, _)| s).collect();
    run.sim.set_token_delay(Duration::ZERO);
    if statuses.iter().any(|s| *s != 200) {
        return Err(format!("statuses {statuses:?}"));
    }
    match grew(&before, &run.sim.counts(), |c| c.refreshes) {
        1 => Ok(None),
        n => Err(format!("{n} refreshes")),
    }
}

/// The user revokes the grant at the provider: the account becomes inactive.
async fn revoked_inactive(run: &Run) -> Outcome {
    if let n_a @ Ok(Some(_)) = refreshable(&run.profile) {
        return n_a;
    }
    run.sim.revoke_grants();
    let (status, body) = raw(run).await;
    if (status, body["error"].as_str()) != (401, Some("account_inactive")) {
        return Err(format!("raw call: {status} {body}"));
    }
    let account = Reply::of(
        run.server
            .get(&format!("/v1/accounts/{}/", run.account))
            .header("Authorization", format!("APIKey {KEY}")),
    )
    .await
    .json();
    match account["active"].as_bool() {
        Some(false) => Ok(None),
        _ => Err(format!("account: {account}")),
    }
}

/// Deleting the account revokes its grant at the provider (RFC 7009), where the entry has a
/// revocation URL; the profile and the entry agree on whether there is one.
async fn delete_revokes(run: &Run) -> Outcome {
    match (run.entry.revocation_url.is_some(), run.profile.revocation) {
        (false, false) => return Ok(Some("no RFC 7009 endpoint")),
        (true, false) => return Err("the entry has a revocation_url its provider has not".to_owned()),
        (false, true) => {
            return Err("the provider revokes (RFC 7009); the entry has no revocation_url".to_owned());
        }
        (true, true) => {}
    }
    let before = run.sim.counts();
    let path = format!("/v1/accounts/{}/", run.account);
    let reply =
        Reply::of(run.server.request(Method::DELETE, &path).header("Authorization", format!("APIKey {KEY}")))
            .await;
    let after = run.sim.counts();
    match (reply.status, grew(&before, &after, |c| c.revocations), after.bad_client_auth) {
        (204, 1, 0) => Ok(None),
        (status, revocations, bad) => {
            Err(format!("{status}, {revocations} revocations, {bad} refused client auth"))
        }
    }
}

/// Runs every check on `entry`; one cell per check.
async fn matrix_row(entry: Entry, profile: Result<Profile, String>) -> Vec<Outcome> {
    let profile = match profile {
        Ok(profile) => profile,
        Err(error) => return vec![Err(format!("profile: {error}"))],
    };
    let (server, sim) = start(&entry, &profile).await;
    if !entry.has_tokens() {
        let account = match connect_with_key(&server, &sim, &entry).await {
            Ok(account) => account,
            Err(error) => return vec![Err(error)],
        };
        let run = Run { server, sim, entry, profile, account };
        let raw_call = raw_ok(&run).await.map(|_| None);
        let no_grant = || Ok(Some("no OAuth grant"));
        return [Ok(None), no_grant(), no_grant(), no_grant(), raw_call]
            .into_iter()
            .chain(CHECKS[5..].iter().map(|_| no_grant()))
            .collect();
    }
    let connected = match entry.kind {
        Kind::Password => connect_with_password(&server, &sim, &entry, &profile).await,
        _ => connect(&server, &sim, &entry, &profile).await,
    };
    let account = match connected {
        Ok(account) => account,
        Err(error) => return vec![Err(error)],
    };
    let run = Run { server, sim, entry, profile, account };
    let raw_call = raw_ok(&run).await.map(|_| None);
    let refused = match run.entry.kind {
        Kind::Password => refused_password(&run).await,
        _ => refused_code(&run).await,
    };
    let other_iss = other_iss_refused(&run).await;
    let other_server = other_server_refused(&run).await;
    vec![
        Ok(None),
        refused,
        other_iss,
        other_server,
        raw_call,
        refresh_on_401(&run).await,
        refresh_on_expiry(&run).await,
        rotation_kept(&run).await,
        concurrent_refresh(&run).await,
        revoked_inactive(&run).await,
        delete_revokes(&run).await,
    ]
}

#[tokio::test]
async fn every_oauth_entry_carries_a_profile_from_its_documentation() {
    for (entry, profile) in entries() {
        let profile = profile.unwrap_or_else(|e| panic!("{}: {e}", entry.id));
        assert!(!profile.docs.is_empty(), "{}", entry.id);
    }
    let without = Entry { profile: None, ..entries()[0].0.clone() };
    assert!(profile_of(&without).unwrap_err().contains("no [provider.profile]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalogue_entry_passes_the_conformance_matrix() {
    let started = std::time::Instant::now();
    let entries = entries();
    let ids: Vec<String> = entries.iter().map(|(entry, _)| entry.id.clone()).collect();
    let rows = futures_util::future::join_all(entries.into_iter().map(|(e, p)| matrix_row(e, p))).await;
    let mut table = format!("{:<20}", "entry");
    for check in CHECKS {
        table.push_str(&format!(" | {check}"));
    }
    let mut failures = Vec::new();
    for (id, row) in ids.iter().zip(&rows) {
        table.push_str(&format!("\n{id:<20}"));
        for (check, cell) in CHECKS.iter().zip(row) {
            let text = match cell {
                Ok(None) => "pass".to_owned(),
                Ok(Some(why)) => format!("n/a ({why})"),
                Err(error) => {
                    failures.push(format!("{id} · {check}: {error}"));
                    "FAIL".to_owned()
                }
            };
            table.push_str(&format!(" | {text}"));
        }
    }
    println!("{table}\n({} entries in {:.1?})", ids.len(), started.elapsed());
    assert!(failures.is_empty(), "{table}\n\n{}", failures.join("\n"));
}

/// Issue 23, finding 2, over every entry that refreshes: the provider refuses every refresh
/// (401 `invalid_client`), and [`CONCURRENT`] calls with an expired token, then one more, make
/// one refresh attempt (the others share its failure, then its cooldown) — or, on a machine so
/// loaded that the calls outlast the cooldown, one more per cooldown passed ([`attempts_allowed`]).
async fn no_storm(entry: Entry, profile: Profile) -> Result<(), String> {
    let (server, sim) = start(&entry, &profile).await;
    let account = match entry.kind {
        Kind::Password => connect_with_password(&server, &sim, &entry, &profile).await?,
        _ => connect(&server, &sim, &entry, &profile).await?,
    };
    let run = Run { server, sim, entry, profile, account };
    run.sim.refuse_refreshes(Some((401, "invalid_client")));
    run.sim.set_token_delay(Duration::from_millis(200));
    run.sim.expire_access_tokens();
    let before = run.sim.counts();
    let started = std::time::Instant::now();
    let calls = (0..CONCURRENT).map(|_| raw(&run));
    let statuses: Vec<u16> =
        futures_util::future::join_all(calls).await.into_iter().map(|(s, _)| s).collect();
    let again = raw(&run).await.0;
    let (elapsed, attempts) = (started.elapsed(), grew(&before, &run.sim.counts(), |c| c.refresh_attempts));
    if attempts > attempts_allowed(elapsed) || statuses.contains(&200) || again == 200 {
        return Err(format!(
            "{}: {attempts} refresh attempts in {elapsed:.1?}, statuses {statuses:?} then {again}",
            run.entry.id
        ));
    }
    Ok(())
}

/// How many refresh attempts a refusing provider may see within `elapsed` of the first: one,
/// then one more each time the cooldown (from [`cooldown::FIRST`], doubling) has passed — the
/// `n`-th no sooner than `(2^(n-1) - 1) × FIRST` after the first.
fn attempts_allowed(elapsed: Duration) -> usize {
    let cooldowns = elapsed.as_secs_f64() / cooldown::FIRST.as_secs_f64();
    1 + (1.0 + cooldowns).log2().floor() as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_makes_no_storm() {
    let refreshing = entries().into_iter().filter_map(|(entry, profile)| {
        let profile = profile.unwrap();
        (entry.has_tokens() && profile.refresh != Refresh::None).then(|| no_storm(entry, profile))
    });
    let failures: Vec<String> =
        futures_util::future::join_all(refreshing).await.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The profile of an OpenID provider with a discovery document (`discovery`: `iss` or
/// `iss_omitted`), as the simulator plays it.
fn openid_profile(discovery: &str) -> Profile {
    let text = format!(
        "docs = [\"https://www.rfc-editor.org/rfc/rfc9207\", \
         \"https://openid.net/specs/openid-connect-discovery-1_0.html\"]\ndiscovery = \"{discovery}\"\n"
    );
    Profile::from_toml(&text).unwrap()
}

/// The result page's error code, if it is a failure.
fn error_of(page: &str) -> Option<&str> {
    page.split("\"error\":\"").nth(1)?.split('"').next()
}

/// Issue 23, finding 4, on the simulator: two OpenID providers configured at once, `sends`
/// (its authorization responses carry `iss`) and `omits` (it advertises `iss`, RFC 9207, and
/// omits it). An answer of one brought back on the other's callback is refused with nothing
/// exchanged anywhere; an `iss` naming the other provider is refused; a response without the
/// advertised `iss` is refused; the honest answer connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_openid_providers_at_once_are_never_mixed_up() {
    let sends = Simulator::start(openid_profile("iss")).await.unwrap();
    let omits = Simulator::start(openid_profile("iss_omitted")).await.unwrap();
    let provider = |id: &str, sim: &Simulator| {
        format!(
            "[[providers]]\nid = \"{id}\"\nkind = \"oidc\"\nname = \"{id}\"\ncategory = \"storage\"\n\
             issuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n",
            sim.base()
        )
    };
    let toml = format!(
        "public_url = \"{PUBLIC}\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n{}{}",
        provider("sends", &sends),
        provider("omits", &omits)
    );
    let server = TestServer::with(&toml).browser(BROWSER).start().await;
    let flow = |service: &'static str| {
        let query = popup_query("sends omits", &[("service", service)]);
        let server = &server;
        async move { sent_back(server, &query).await.unwrap() }
    };
    let exchanged = || sends.counts().code_grants + omits.counts().code_grants;

    // The answer of `sends` brought back on the callback of `omits`: refused, its state used up.
    let answer = flow("sends").await;
    let query = answer.split_once('?').unwrap().1;
    let crossed = Reply::of(server.get(&format!("/v1/oauth/callback/omits?{query}"))).await;
    assert_eq!(crossed.status, 400, "{}", crossed.body);
    let replayed = Reply::of(server.get(&answer)).await;
    assert_eq!(replayed.status, 400, "the state was used up: {}", replayed.body);

    // `sends`'s answer naming the other provider as its issuer.
    let answer = flow("sends").await;
    let other = form_urlencoded::byte_serialize(omits.base().as_bytes()).collect::<String>();
    let own = form_urlencoded::byte_serialize(sends.base().as_bytes()).collect::<String>();
    assert!(answer.contains(&format!("iss={own}")), "{answer}");
    let page = Reply::of(server.get(&answer.replace(&own, &other))).await.body;
    assert_eq!(error_of(&page), Some("invalid_request"), "{page}");

    // `omits` advertises iss and leaves it out.
    let answer = flow("omits").await;
    assert!(!answer.contains("iss="), "{answer}");
    let page = Reply::of(server.get(&answer)).await.body;
    assert_eq!(error_of(&page), Some("invalid_request"), "{page}");
    assert_eq!(exchanged(), 0, "no code was exchanged");

    // The honest answer connects.
    let page = Reply::of(server.get(&flow("sends").await)).await.body;
    assert!(page.contains("\"access_token\":\""), "{page}");
    assert_eq!((sends.counts().code_grants, omits.counts().code_grants), (1, 0));
}

/// A provider whose refreshes go to an endpoint of their own (`refresh_url`; the simulator's
/// `separate_refresh`, its token endpoint refusing them): an entry naming it refreshes there,
/// once, on the API's 401 — shown on HubSpot's entry given one (Figma's, which documents one, runs
/// in the matrix).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_url_takes_the_refreshes() {
    let (entry, profile) = entries().into_iter().find(|(entry, _)| entry.id == "hubspot").unwrap();
    let profile = Profile { separate_refresh: true, ..profile.unwrap() };
    let sim = Simulator::start(profile.clone()).await.unwrap();
    let toml = format!(
        "public_url = \"{PUBLIC}\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n\
         [[providers]]\nid = \"hubspot\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n"
    );
    let base = sim.base().to_owned();
    let server = TestServer::with(&toml)
        .browser(BROWSER)
        .tune(move |config| {
            let service = config.services.iter_mut().find(|service| service.id == "hubspot").unwrap();
            let Connect::Upstream(upstream) = &mut service.connect else { panic!() };
            std::sync::Arc::get_mut(upstream).unwrap().entry.refresh_url = Some("https://a.test/r".into());
            rehost(config, "hubspot", &base).unwrap();
        })
        .start()
        .await;
    let account = connect(&server, &sim, &entry, &profile).await.unwrap();
    let run = Run { server, sim, entry, profile, account };
    assert_eq!(refresh_on_401(&run).await, Ok(None));
    assert_eq!(run.sim.counts().refreshes, 1);
}
