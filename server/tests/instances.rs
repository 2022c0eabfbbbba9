//! More than one instance on one database: any instance serves any step of a flow, the quotas
//! hold across instances (even for pop-ups opened at the same moment), and a restart in the
//! middle of a flow loses nothing. On SQLite by default; on PostgreSQL with
//! `KLOUDLESS_TEST_DATABASE` (see `common`).

mod common;

use authenticator_server::store::Database;
use common::{Reply, TestServer};
use reqwest::Method;
use std::net::IpAddr;

const APP_ORIGIN: &str = "http://localhost:3000";

/// An instance on `database` with the app `app` and this `[popup_flows]` table.
async fn instance(database: &Database, popup_flows: &str) -> TestServer {
    let toml = format!(
        "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\nreturn_urls = [\"http://localhost:3000/accounts\"]\n[popup_flows]\n{popup_flows}\n"
    );
    TestServer::with(&toml).on(database).start().await
}

/// The binding cookie of the one browser every request of these tests comes from.
const BROWSER: &str = "kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// One request from `from` (any 127.0.0.0/8 address), in the browser [`BROWSER`], from the
/// app's page; `head` is the method and the path, `content_type` the body's if any: status and
/// body.
async fn send(
    server: &TestServer,
    from: IpAddr,
    (method, path): (Method, &str),
    content_type: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut request =
        server.request_from(from, method, path).header("Origin", APP_ORIGIN).header("Cookie", BROWSER);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    let reply = Reply::of(request.body(body.to_owned())).await;
    (reply.status, reply.body)
}

/// A form's content type.
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn flow_params(request_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", "app".into()),
        ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob".into()),
        ("response_type", "token".into()),
        ("state", "st8".into()),
        ("request_id", request_id.into()),
        ("origin", APP_ORIGIN.into()),
        ("scope", "box".into()),
        ("return_to", format!("{APP_ORIGIN}/accounts")),
    ]
}

fn encode(params: &[(&str, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

/// Opens the pop-up of flow `request_id` from `from`: its status.
async fn open(server: &TestServer, from: IpAddr, request_id: &str) -> u16 {
    let path = format!("/v1/oauth?{}", encode(&flow_params(request_id)));
    send(server, from, (Method::GET, &path), None, "").await.0
}

/// Connects an account in the pop-up of flow `request_id`: the token on its result page.
async fn connect(server: &TestServer, request_id: &str) -> String {
    let mut form = flow_params(request_id);
    form.extend([
        ("service", "box".into()),
        ("account", "ann@example.com".into()),
        ("action", "connect".into()),
    ]);
    let (status, page) = send(server, HOME, (Method::POST, "/v1/oauth"), FORM, &encode(&form)).await;
    assert_eq!(status, 200, "{page}");
    let start = page.find("\"access_token\":\"").expect("a token") + "\"access_token\":\"".len();
    page[start..start + 64].to_owned()
}

/// The progress check's status for flow `request_id`.
async fn progress(server: &TestServer, request_id: &str) -> u16 {
    let form = format!("client_id=app&request_id={request_id}");
    send(server, HOME, (Method::POST, "/v1/oauth/progress"), FORM, &form).await.0
}

/// The token endpoint's status and body for `token`.
async fn verify(server: &TestServer, token: &str) -> (u16, String) {
    let request = server.request_from(HOME, Method::GET, "/v1/oauth/token/");
    let reply =
        Reply::of(request.header("Origin", APP_ORIGIN).header("Cookie", BROWSER).bearer_auth(token)).await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn a_flow_opened_through_one_instance_is_finished_and_verified_through_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::fresh_database(dir.path());
    let a = instance(&database, "").await;
    let b = instance(&database, "").await;
    assert_eq!(progress(&b, "r1").await, 204, "nothing yet");
    assert_eq!(open(&a, HOME, "r1").await, 200);
    assert_eq!(progress(&b, "r1").await, 202, "B knows the flow A opened");
    let token = connect(&b, "r1").await;
    assert_eq!(progress(&a, "r1").await, 202, "A knows its result is on its way back");
    for instance in [&a, &b] {
        let (status, body) = verify(instance, &token).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"client_id\":\"app\""), "{body}");
    }
    // Abandoned through one, closed through the other.
    assert_eq!(open(&b, HOME, "r2").await, 200);
    let beacon = (Method::POST, "/v1/oauth/progress/abandon");
    assert_eq!(send(&a, HOME, beacon, Some("text/plain"), "r2").await.0, 204);
    assert_eq!(progress(&b, "r2").await, 205);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn quotas_hold_across_instances_for_pop_ups_opened_at_the_same_moment() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::fresh_database(dir.path());
    let a = instance(&database, "max_per_client = 5\nmax_per_app = 8").await;
    let b = instance(&database, "max_per_client = 5\nmax_per_app = 8").await;
    let flooder: IpAddr = "127.0.0.2".parse().unwrap();
    // 24 pop-ups from one client at once, alternating between the instances.
    let opening = (0..24).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        async move { open(server, flooder, &format!("flood{i}")).await }
    });
    let statuses = futures_util::future::join_all(opening).await;
    let admitted = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(admitted, 5, "exactly the client's quota, over both instances: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 19, "{statuses:?}");
    // The app's quota (8) the same way, from other clients: 3 places are left; the others are
    // served untracked.
    let opening = (0..12).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        let from: IpAddr = format!("127.0.1.{}", i + 1).parse().unwrap();
        async move { open(server, from, &format!("other{i}")).await }
    });
    let statuses = futures_util::future::join_all(opening).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let mut tracked = 0;
    for i in 0..12 {
        tracked += usize::from(progress(&a, &format!("other{i}")).await == 202);
    }
    assert_eq!(tracked, 3, "exactly the places left in the app's quota, over both instances");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_server_restarted_mid_flow_still_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::fresh_database(dir.path());
    let before = instance(&database, "").await;
    assert_eq!(open(&before, HOME, "r1").await, 200);
    before.stop().await;
    let after = instance(&database, "").await;
    assert_eq!(progress(&after, "r1").await, 202, "the flow survived the restart");
    let token = connect(&after, "r1").await;
    assert_eq!(verify(&after, &token).await.0, 200);
    after.stop().await;
    let again = instance(&database, "").await;
    assert_eq!(verify(&again, &token).await.0, 200, "and so did the token");
    assert_eq!(progress(&again, "r1").await, 202);
    again.stop().await;
}

#[tokio::test]
async fn healthz_says_whether_the_database_answers() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::fresh_database(dir.path());
    let server = instance(&database, "").await;
    let (status, body) = send(&server, HOME, (Method::GET, "/healthz"), None, "").await;
    assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}"));
    if let Database::Postgres(url) = &database {
        // The database goes away under the running server (its connections are cut).
        let name = url.rsplit('/').next().unwrap();
        let mut admin = url::Url::parse(url).unwrap();
        admin.set_path("/postgres");
        let pool = sqlx::PgPool::connect(admin.as_str()).await.unwrap();
        let drop = format!("DROP DATABASE \"{name}\" WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await.unwrap();
        let (status, body) = send(&server, HOME, (Method::GET, "/healthz"), None, "").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("database unreachable"), "{body}");
        // Every route that needs the database is a fast 503 the client may retry, never a 500.
        let reply =
            server.request(Method::GET, "/v1/accounts/me/").bearer_auth("anything").send().await.unwrap();
        assert_eq!(reply.status(), 503);
        assert_eq!(reply.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
    }
    server.stop().await;
}
