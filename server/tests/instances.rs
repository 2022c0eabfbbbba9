//! More than one instance on one database: any instance serves any step of a flow, the quotas
//! hold across instances (even for pop-ups opened at the same moment), and a restart in the
//! middle of a flow loses nothing. On SQLite by default; on PostgreSQL with
//! `KLOUDLESS_TEST_DATABASE` (see `common`).

mod common;

use authenticator_server::Server;
use authenticator_server::config::Config;
use authenticator_server::store::Database;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const APP_ORIGIN: &str = "http://localhost:3000";

/// One running instance: its address, and how to stop it (gracefully, as on SIGTERM).
struct Instance {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    done: JoinHandle<()>,
}

impl Instance {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap();
    }
}

/// An instance on `database` with the app `app` and this `[popup_flows]` table.
async fn instance(database: &Database, popup_flows: &str) -> Instance {
    let toml = format!(
        "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\nreturn_urls = [\"http://localhost:3000/accounts\"]\n[popup_flows]\n{popup_flows}\n"
    );
    let config = Config::from_toml(&toml, "127.0.0.1:0".parse().unwrap(), database.clone()).unwrap();
    let server = Server::bind(config).await.unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    Instance { addr, stop, done }
}

/// The binding cookie of the one browser every request of these tests comes from.
const BROWSER: &str = "kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// One request on a fresh connection from `from` (any 127.0.0.0/8 address), in the browser
/// [`BROWSER`]; status and body.
async fn send(addr: SocketAddr, from: IpAddr, head: &str, body: &str) -> (u16, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut stream: TcpStream = socket.connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nOrigin: {APP_ORIGIN}\r\nCookie: {BROWSER}\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    (status, raw.split_once("\r\n\r\n").unwrap().1.to_owned())
}

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
async fn open(addr: SocketAddr, from: IpAddr, request_id: &str) -> u16 {
    send(addr, from, &format!("GET /v1/oauth?{} HTTP/1.1", encode(&flow_params(request_id))), "").await.0
}

/// Connects an account in the pop-up of flow `request_id`: the token on its result page.
async fn connect(addr: SocketAddr, request_id: &str) -> String {
    let mut form = flow_params(request_id);
    form.extend([
        ("service", "box".into()),
        ("account", "ann@example.com".into()),
        ("action", "connect".into()),
    ]);
    let head = "POST /v1/oauth HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded";
    let (status, page) = send(addr, HOME, head, &encode(&form)).await;
    assert_eq!(status, 200, "{page}");
    let start = page.find("\"access_token\":\"").expect("a token") + "\"access_token\":\"".len();
    page[start..start + 64].to_owned()
}

/// The progress check's status for flow `request_id`.
async fn progress(addr: SocketAddr, request_id: &str) -> u16 {
    let head = "POST /v1/oauth/progress HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded";
    send(addr, HOME, head, &format!("client_id=app&request_id={request_id}")).await.0
}

/// The token endpoint's status and body for `token`.
async fn verify(addr: SocketAddr, token: &str) -> (u16, String) {
    send(addr, HOME, &format!("GET /v1/oauth/token/ HTTP/1.1\r\nAuthorization: Bearer {token}"), "").await
}

#[tokio::test]
async fn a_flow_opened_through_one_instance_is_finished_and_verified_through_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::fresh_database(dir.path());
    let a = instance(&database, "").await;
    let b = instance(&database, "").await;
    assert_eq!(progress(b.addr, "r1").await, 404, "nothing yet");
    assert_eq!(open(a.addr, HOME, "r1").await, 200);
    assert_eq!(progress(b.addr, "r1").await, 202, "B knows the flow A opened");
    let token = connect(b.addr, "r1").await;
    assert_eq!(progress(a.addr, "r1").await, 202, "A knows its result is on its way back");
    for instance in [&a, &b] {
        let (status, body) = verify(instance.addr, &token).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"client_id\":\"app\""), "{body}");
    }
    // Abandoned through one, unknown through the other.
    assert_eq!(open(b.addr, HOME, "r2").await, 200);
    let beacon = "POST /v1/oauth/progress/abandon HTTP/1.1\r\nContent-Type: text/plain";
    assert_eq!(send(a.addr, HOME, beacon, "r2").await.0, 204);
    assert_eq!(progress(b.addr, "r2").await, 404);
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
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..24 {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        opening.spawn(async move { open(addr, flooder, &format!("flood{i}")).await });
    }
    let statuses = opening.join_all().await;
    let admitted = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(admitted, 5, "exactly the client's quota, over both instances: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 19, "{statuses:?}");
    // The app's quota (8) the same way, from other clients: 3 places are left; the others are
    // served untracked.
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..12 {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        let from: IpAddr = format!("127.0.1.{}", i + 1).parse().unwrap();
        opening.spawn(async move { open(addr, from, &format!("other{i}")).await });
    }
    let statuses = opening.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let mut tracked = 0;
    for i in 0..12 {
        tracked += usize::from(progress(a.addr, &format!("other{i}")).await == 202);
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
    assert_eq!(open(before.addr, HOME, "r1").await, 200);
    before.stop().await;
    let after = instance(&database, "").await;
    assert_eq!(progress(after.addr, "r1").await, 202, "the flow survived the restart");
    let token = connect(after.addr, "r1").await;
    assert_eq!(verify(after.addr, &token).await.0, 200);
    after.stop().await;
    let again = instance(&database, "").await;
    assert_eq!(verify(again.addr, &token).await.0, 200, "and so did the token");
    assert_eq!(progress(again.addr, "r1").await, 202);
    again.stop().await;
}

#[tokio::test]
async fn healthz_says_whether_the_database_answers() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::fresh_database(dir.path());
    let server = instance(&database, "").await;
    let (status, body) = send(server.addr, HOME, "GET /healthz HTTP/1.1", "").await;
    assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}"));
    if let Database::Postgres(url) = &database {
        // The database goes away under the running server (its connections are cut).
        let name = url.rsplit('/').next().unwrap();
        let mut admin = url::Url::parse(url).unwrap();
        admin.set_path("/postgres");
        let pool = sqlx::PgPool::connect(admin.as_str()).await.unwrap();
        let drop = format!("DROP DATABASE \"{name}\" WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await.unwrap();
        let (status, body) = send(server.addr, HOME, "GET /healthz HTTP/1.1", "").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("database unreachable"), "{body}");
    }
    server.stop().await;
}
