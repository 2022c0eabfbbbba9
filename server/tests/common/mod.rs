//! What the integration tests share:
//! - [`TestServer`]: the server started in-process on a fresh database (or a shared one), with a
//!   reqwest client bound to it carrying the browser's binding cookie; stopped gracefully on
//!   [`TestServer::stop`] or drop;
//! - [`TestApp`]: the same router called with no socket (`tower::ServiceExt::oneshot`), and
//!   [`Target`], what both answer, so that a test's helpers drive either;
//! - [`Process`]: the binary, for the tests where a real process is the point;
//! - [`fresh_database`] (the unit tests' too): an SQLite file in the test's folder or, when
//!   `KLOUDLESS_TEST_DATABASE` names a PostgreSQL server (`postgres://user@host:port`, as
//!   `make test` sets it for its PostgreSQL run), a fresh database there;
//! - [`Reply`], a reply read whole, and ways to look into the database;
//! - [`npm::NpmServer`]: a real server from a pinned npm package (Azurite, webdav-server).

#![allow(dead_code)] // each test file uses some of these

pub mod acme;
mod database;
pub mod npm;

use authenticator_server::config::Config;
use authenticator_server::store::{Database, Store};
use authenticator_server::{AppState, Server};
pub use database::fresh_database;
use reqwest::Method;
use reqwest::header::HeaderMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in this test's runtime, on its own port, until [`TestServer::stop`] or drop.
pub struct TestServer {
    addr: SocketAddr,
    database: Database,
    config: Config,
    /// The binding cookie (`name=value`) sent with every request of [`TestServer::request`].
    cookie: Option<String>,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    done: Option<JoinHandle<()>>,
    dir: tempfile::TempDir,
}

/// A change to the configuration before the server starts.
type Tune<'a> = Box<dyn FnOnce(&mut Config) + 'a>;

/// How to start a [`TestServer`]: its configuration and what to change in it first.
pub struct Start<'a> {
    toml: String,
    dir: Option<tempfile::TempDir>,
    database: Option<Database>,
    test_faults: bool,
    cookie: Option<String>,
    tune: Vec<Tune<'a>>,
}

impl<'a> Start<'a> {
    /// Runs in `dir` (files the configuration names, the SQLite database in `dir/data`), kept
    /// for as long as the server; a fresh folder otherwise.
    pub fn in_dir(mut self, dir: tempfile::TempDir) -> Start<'a> {
        self.dir = Some(dir);
        self
    }

    /// Uses `database` (another instance's, or one that outlives this server) rather than a
    /// fresh one.
    pub fn on(mut self, database: &Database) -> Start<'a> {
        self.database = Some(database.clone());
        self
    }

    /// Accepts the apps' test-only `fault` entries (`--test-faults`).
    pub fn test_faults(mut self, on: bool) -> Start<'a> {
        self.test_faults = on;
        self
    }

    /// Sends this binding cookie (`name=value`) with every request of [`TestServer::request`],
    /// as the one browser the test's requests come from.
    pub fn browser(mut self, cookie: &str) -> Start<'a> {
        self.cookie = Some(cookie.to_owned());
        self
    }

    /// Changes the configuration before the server starts (settings that are flags rather than
    /// TOML: timeouts, connection limits, latency, the secret key file).
    pub fn tune(mut self, tune: impl FnOnce(&mut Config) + 'a) -> Start<'a> {
        self.tune.push(Box::new(tune));
        self
    }

    /// Binds the server on a free port of 127.0.0.1 and starts serving.
    pub async fn start(self) -> TestServer {
        let (config, cookie, dir) = self.config();
        TestServer::serve(config, cookie, dir).await
    }

    /// The server's router with no socket: [`TestApp`].
    pub async fn app(self) -> TestApp {
        let (config, cookie, dir) = self.config();
        if let Database::Sqlite(path) = &config.database {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        }
        let store = Store::open(&config.database).await.unwrap();
        let state = AppState::new(config, store, "127.0.0.1:0".parse().unwrap()).unwrap();
        TestApp { router: authenticator_server::router(Arc::new(state)), cookie, _dir: dir }
    }

    /// The configuration, the binding cookie and the folder.
    fn config(self) -> (Config, Option<String>, tempfile::TempDir) {
        let dir = self.dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let database = self.database.unwrap_or_else(|| fresh_database(&dir.path().join("data")));
        let mut config = load(&self.toml, database, self.test_faults);
        for tune in self.tune {
            tune(&mut config);
        }
        (config, self.cookie, dir)
    }
}

/// What a test sends its requests to: a [`TestServer`] over a socket, or a [`TestApp`]'s router
/// in-process.
pub trait Target {
    /// One request in the test's browser (its binding cookie, if any), with `headers` and
    /// `body`: the reply.
    fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> impl Future<Output = Reply>;
}

/// `request` with `headers` and `body`, sent; its reply.
async fn send(mut request: reqwest::RequestBuilder, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::of(request.body(body.to_vec())).await
}

impl Target for TestServer {
    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        send(self.request(method, path), headers, body).await
    }
}

impl Target for Process {
    /// (No binding cookie: a test that needs one sends it.)
    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        send(self.request(method, path), headers, body).await
    }
}

/// The server's router called without a socket (`tower::ServiceExt::oneshot`), for the tests
/// of what a route answers to given input: the same routes and layers as [`TestServer`]'s.
pub struct TestApp {
    router: axum::Router,
    cookie: Option<String>,
    _dir: tempfile::TempDir,
}

impl Target for TestApp {
    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        use tower::ServiceExt;
        let mut request = axum::http::Request::builder().method(method).uri(path);
        for (name, value) in self.cookie.iter().map(|c| ("Cookie", c.as_str())).chain(headers.iter().copied())
        {
            request = request.header(name, value);
        }
        let mut request = request.body(axum::body::Body::from(body.to_vec())).unwrap();
        // What the accept loop adds to every request: the client's address.
        let client: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo(client));
        let reply = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = reply.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let body = String::from_utf8_lossy(&body).into_owned();
        Reply { status: parts.status.as_u16(), headers: parts.headers, body }
    }
}

/// The configuration `toml` on `database`, with `--test-faults` or not.
#[cfg(feature = "test-support")]
fn load(toml: &str, database: Database, test_faults: bool) -> Config {
    Config::from_toml_with_faults(toml, "127.0.0.1:0".parse().unwrap(), database, test_faults).unwrap()
}

/// The configuration `toml` on `database` (test faults need the `test-support` feature).
#[cfg(not(feature = "test-support"))]
fn load(toml: &str, database: Database, test_faults: bool) -> Config {
    assert!(!test_faults, "test faults need the test-support feature");
    Config::from_toml(toml, "127.0.0.1:0".parse().unwrap(), database).unwrap()
}

impl TestServer {
    /// A server with the configuration `toml` on a fresh database.
    pub async fn start(toml: &str) -> TestServer {
        TestServer::with(toml).start().await
    }

    /// A server with the configuration `toml`, to be tuned before it [`Start::start`]s.
    pub fn with<'a>(toml: &str) -> Start<'a> {
        Start {
            toml: toml.to_owned(),
            dir: None,
            database: None,
            test_faults: false,
            cookie: None,
            tune: Vec::new(),
        }
    }

    /// Another instance on this one's database, with its configuration and binding cookie.
    pub async fn another(&self) -> TestServer {
        TestServer::serve(self.config.clone(), self.cookie.clone(), tempfile::tempdir().unwrap()).await
    }

    async fn serve(config: Config, cookie: Option<String>, dir: tempfile::TempDir) -> TestServer {
        let database = config.database.clone();
        let server = Server::bind(config.clone()).await.unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server.run_until(async {
            let _ = stopped.await;
        }));
        let http = client(None);
        TestServer { addr, database, config, cookie, http, stop: Some(stop), done: Some(done), dir }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` and its address, then `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// Its database.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The test's folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The HTTP client bound to it (no redirects followed, no binding cookie).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A request to `path_and_query` in the test's browser (its binding cookie, if any).
    pub fn request(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        self.request_in(self.cookie.as_deref(), method, path_and_query)
    }

    /// A request to `path_and_query` in the browser with the binding cookie `cookie` (none: a
    /// browser without one).
    pub fn request_in(
        &self,
        cookie: Option<&str>,
        method: Method,
        path_and_query: &str,
    ) -> reqwest::RequestBuilder {
        with_cookie(self.http.request(method, self.url(path_and_query)), cookie)
    }

    /// [`TestServer::request`] from the local address `from` (any of 127.0.0.0/8 works on
    /// loopback: another client, as far as the server's per-client quotas go).
    pub fn request_from(
        &self,
        from: IpAddr,
        method: Method,
        path_and_query: &str,
    ) -> reqwest::RequestBuilder {
        with_cookie(client(Some(from)).request(method, self.url(path_and_query)), self.cookie.as_deref())
    }

    /// A GET of `path_and_query` in the test's browser.
    pub fn get(&self, path_and_query: &str) -> reqwest::RequestBuilder {
        self.request(Method::GET, path_and_query)
    }

    /// A POST to `path` in the test's browser.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::POST, path)
    }

    /// Stops it gracefully, as on SIGTERM: no new connection, the requests in progress finish,
    /// then the database is closed.
    pub async fn stop(mut self) {
        if let (Some(stop), Some(done)) = (self.stop.take(), self.done.take()) {
            let _ = stop.send(());
            done.await.unwrap();
        }
    }
}

impl Drop for TestServer {
    /// Asks it to stop gracefully (the test's runtime ends the rest when the test returns).
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The tests' HTTP client, connecting from `from` if given: redirects are the tests' to see,
/// and no connection is kept for a later request, as each of a browser's requests could come
/// on a new one.
fn client(from: Option<IpAddr>) -> reqwest::Client {
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(0);
    client.local_address(from).build().unwrap()
}

/// `request` carrying the binding cookie `cookie`, if any.
fn with_cookie(request: reqwest::RequestBuilder, cookie: Option<&str>) -> reqwest::RequestBuilder {
    match cookie {
        Some(cookie) => request.header("Cookie", cookie),
        None => request,
    }
}

/// A reply read whole: its status, headers and body as text.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (invalid UTF-8 replaced).
    pub body: String,
}

impl Reply {
    /// Sends `request` and reads its reply.
    pub async fn of(request: reqwest::RequestBuilder) -> Reply {
        let reply = request.send().await.unwrap();
        let status = reply.status().as_u16();
        let headers = reply.headers().clone();
        let body = String::from_utf8_lossy(&reply.bytes().await.unwrap()).into_owned();
        Reply { status, headers, body }
    }

    /// The first value of the header `name`, if any (and text).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<String> {
        self.header("location").map(str::to_owned)
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json_or_null(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as JSON; panics when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

/// The query of a pop-up request (`/v1/oauth?…`) of app `client_id` from the page at `origin`
/// for `scope` (state `page-state`, request `req1`, out-of-band), with `extra` parameters
/// appended.
pub fn popup_query(client_id: &str, origin: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("client_id", client_id),
        ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
        ("response_type", "token"),
        ("state", "page-state"),
        ("request_id", "req1"),
        ("origin", origin),
        ("scope", scope),
    ];
    params.extend_from_slice(extra);
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

/// The server binary, for the tests where a real process is the point (its flags, output,
/// exit code, signals, its own open-file limit).
pub const BIN: &str = env!("CARGO_BIN_EXE_authenticator-server");

/// The server binary running, killed when the test ends (even by a failed assertion).
pub struct Process {
    /// The process.
    pub child: std::process::Child,
    /// Where it listens, as it printed it (`127.0.0.1:PORT`).
    pub addr: String,
    /// The rest of its standard output.
    pub stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Process {
    /// Starts the binary through `sh` with `shell_setup` run first (e.g. `umask 022`), on port
    /// 0 with `database` (a `--database` value), then `args`; waits for its "listening on" line.
    pub fn start(shell_setup: &str, database: &str, args: &[&str]) -> Process {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{shell_setup} && exec \"$0\" \"$@\""))
            .arg(BIN)
            .args(["--listen", "127.0.0.1:0", "--database", database])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut process = Process { child, addr: String::new(), stdout };
        let mut line = String::new();
        process.stdout.read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}"));
        process.addr = addr.to_owned();
        process
    }

    /// [`Process::start`] on a fresh database ([`fresh_database`] in `dir/data`).
    pub fn start_in(dir: &Path, shell_setup: &str, args: &[&str]) -> Process {
        let database = match fresh_database(&dir.join("data")) {
            Database::Sqlite(path) => path.to_str().unwrap().to_owned(),
            Database::Postgres(url) => url,
        };
        Process::start(shell_setup, &database, args)
    }

    /// Kills it; returns the rest of its standard output, and its standard error unless a
    /// test took it.
    pub fn kill(mut self) -> (String, String) {
        use std::io::Read;
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (mut out, mut err) = (String::new(), String::new());
        self.stdout.read_to_string(&mut out).unwrap();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut err).unwrap();
        }
        (out, err)
    }

    /// A request to `path_and_query` with the tests' HTTP client.
    pub fn request(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        client(None).request(method, format!("http://{}{path_and_query}", self.addr))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tables of the database (the migrations' bookkeeping left out) and their rows, each row
/// as text.
pub async fn tables(database: &Database) -> Vec<(String, Vec<String>)> {
    let (list, row) = match database {
        Database::Sqlite(_) => (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'
             AND name NOT LIKE 'sqlite%' ORDER BY name",
            "SELECT * FROM \"{table}\"",
        ),
        Database::Postgres(_) => (
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'
             AND tablename NOT LIKE '\\_%' ORDER BY 1",
            "SELECT t::text FROM \"{table}\" t",
        ),
    };
    let mut out = Vec::new();
    match database {
        Database::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            let names: Vec<(String,)> = sqlx::query_as(list).fetch_all(&pool).await.unwrap();
            for (table,) in names {
                let sql = row.replace("{table}", &table);
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
                let rows = rows.iter().map(sqlite_row_text).collect();
                out.push((table, rows));
            }
            pool.close().await;
        }
        Database::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let names: Vec<(String,)> = sqlx::query_as(list).fetch_all(&pool).await.unwrap();
            for (table,) in names {
                let sql = row.replace("{table}", &table);
                let rows: Vec<(String,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
                out.push((table, rows.into_iter().map(|(r,)| r).collect()));
            }
            pool.close().await;
        }
    }
    out
}

fn sqlite_row_text(row: &sqlx::sqlite::SqliteRow) -> String {
    use sqlx::{Column, Row, ValueRef};
    let mut text = String::new();
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).unwrap();
        let value = if raw.is_null() {
            "NULL".to_owned()
        } else if let Ok(v) = row.try_get::<i64, _>(i) {
            v.to_string()
        } else {
            row.try_get::<String, _>(i).unwrap_or_default()
        };
        text.push_str(&format!("{}={value},", column.name()));
    }
    text
}

/// The number of rows of every table.
pub async fn row_counts(database: &Database) -> Vec<(String, usize)> {
    tables(database).await.into_iter().map(|(table, rows)| (table, rows.len())).collect()
}

/// Everything the database holds, as text: the SQLite files' bytes (the WAL too), or every row
/// of every table on PostgreSQL.
pub async fn everything(database: &Database) -> String {
    match database {
        Database::Sqlite(path) => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
                bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Database::Postgres(_) => {
            tables(database).await.into_iter().flat_map(|(_, rows)| rows).collect::<Vec<_>>().join("\n")
        }
    }
}

/// Runs one SQL statement on the database (for a test to set up what time alone would do).
pub async fn execute(database: &Database, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match database {
        Database::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Database::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}
