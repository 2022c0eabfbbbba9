//! The binary: flags, config errors (exit code 2), the "listening on" line, and request logs.

mod common;

use common::{BIN, Process, Target};
use reqwest::Method;
use std::process::{Command, Stdio};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// [`run`] for arguments the binary must refuse: if it is still running after 10 s (it accepted
/// them and serves), it is stopped and the test fails instead of waiting forever.
fn run_refused(args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("db.sqlite");
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--database", database.to_str().unwrap()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} were accepted: the server started");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
fn help_prints_usage() {
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("Usage: authenticator-server [--config FILE] [--database FILE] [--listen ADDR]")
    );
}

#[test]
fn bad_arguments_and_configs_exit_with_2_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(&bad_toml, "[[apps]\nclient_id = \"x\"\n").unwrap();
    let unknown_key = dir.path().join("unknown.toml");
    std::fs::write(&unknown_key, "[[apps]]\nclient_id = \"x\"\ntrusted_domains = []\nsecret = 1\n").unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["--config", bad_toml.to_str().unwrap()], "bad.toml"),
        (vec!["--config", unknown_key.to_str().unwrap()], "unknown field `secret`"),
        (vec!["--config", "/nonexistent/config.toml"], "cannot read /nonexistent/config.toml"),
        (vec!["--listen", "not-an-address"], "not an address"),
        (vec!["--port", "1"], "unexpected argument '--port'"),
    ];
    for (args, expected) in cases {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stdout.contains("listening"), "{args:?}");
    }
}

#[tokio::test]
async fn serves_on_the_printed_address_and_logs_no_query_strings() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("nested/dir/db.sqlite");
    let child = Process::start("true", database.to_str().unwrap(), &[]);
    let addr = child.addr.clone();
    assert!(!addr.ends_with(":0"), "the actual port is printed: {addr}");
    assert!(database.exists(), "the database and its folders are created");

    let get = |path: &'static str| child.send(Method::GET, path, &[], b"");
    assert_eq!(get("/static/iexd.html").await.status, 200);
    // The default config: app "demo" trusts localhost:8080 only, so this origin is refused.
    let refused = get("/v1/oauth?client_id=demo&response_type=token&state=SECRET-STATE&request_id=1\
                       &origin=http://localhost:9999")
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("not a Trusted Domain of app demo"));

    let (_, logs) = child.kill();
    assert!(logs.contains("GET /static/iexd.html 200"), "{logs}");
    assert!(logs.contains("GET /v1/oauth 400"), "{logs}");
    assert!(!logs.contains("SECRET-STATE"), "{logs}");
}

/// A form's content type and the binding cookie of the browser the pop-up runs in.
const POPUP_FORM: [(&str, &str); 2] = [
    ("Content-Type", "application/x-www-form-urlencoded"),
    ("Cookie", "kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
];

#[tokio::test]
async fn a_whole_flow_leaves_no_token_state_or_request_id_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[[apps]]\nclient_id = \"cli\"\ntrusted_domains = [\"localhost:3000\"]\n")
        .unwrap();
    let child = Process::start_in(dir.path(), "true", &["--config", config.to_str().unwrap()]);
    let (state, request_id) = ("STATE-5f2a9c0e", "REQUEST-ID-81d4b7");
    let query = format!(
        "client_id=cli&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=token&state={state}\
         &request_id={request_id}&origin=http%3A%2F%2Flocalhost%3A3000&scope=box%20dropbox"
    );
    let chooser = child.send(Method::GET, &format!("/v1/oauth?{query}"), &[], b"").await;
    assert!(chooser.status == 200 && chooser.body.contains("data-service=\"box\""), "{}", chooser.body);
    let connect_page = child.send(Method::GET, &format!("/v1/oauth?{query}&service=box"), &[], b"").await;
    assert!(connect_page.body.contains("data-action=\"connect\""), "{}", connect_page.body);
    let form = format!("{query}&service=box&account=logged.user%40example.com&action=connect");
    let result = child.send(Method::POST, "/v1/oauth", &POPUP_FORM, form.as_bytes()).await;
    assert_eq!(result.status, 200, "{}", result.body);
    let token =
        result.body.split("\"access_token\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(token.len(), 64, "{}", result.body);

    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str()), ("Origin", "http://localhost:3000")];
    let asks = [("Origin", "http://localhost:3000"), ("Access-Control-Request-Method", "GET")];
    let preflight = child.send(Method::OPTIONS, "/v1/oauth/token/", &asks, b"").await;
    assert_eq!(preflight.status, 204, "{}", preflight.body);
    let info = child.send(Method::GET, "/v1/oauth/token/", &auth, b"").await;
    assert!(info.status == 200 && info.body.contains("\"client_id\":\"cli\""), "{}", info.body);
    let id = info.body.split("\"account_id\":").nth(1).unwrap().split(',').next().unwrap().to_owned();
    for path in [format!("/v1/accounts/{id}/?retrieve_full=False"), "/v1/accounts/me/".to_owned()] {
        let account = child.send(Method::GET, &path, &auth, b"").await;
        assert!(
            account.status == 200 && account.body.contains("logged.user@example.com"),
            "{}",
            account.body
        );
    }
    // A wrong token and a wrong state are not logged either.
    let wrong = [("Authorization", "Bearer WRONG-TOKEN-3c9e")];
    let refused = child.send(Method::GET, "/v1/oauth/token/", &wrong, b"").await;
    assert_eq!(refused.status, 401, "{}", refused.body);

    let (out, logs) = child.kill();
    for expected in [
        "GET /v1/oauth 200",
        "POST /v1/oauth 200",
        "OPTIONS /v1/oauth/token/ 204",
        "GET /v1/oauth/token/ 200",
        "GET /v1/accounts/me/ 200",
        &format!("GET /v1/accounts/{id}/ 200"),
        "GET /v1/oauth/token/ 401",
    ] {
        assert!(logs.contains(expected), "{expected:?} in {logs}");
    }
    for secret in [token.as_str(), state, request_id, "WRONG-TOKEN-3c9e", "logged.user", "retrieve_full"] {
        assert!(!logs.contains(secret), "{secret:?} in stderr: {logs}");
        assert!(!out.contains(secret), "{secret:?} in stdout: {out}");
    }
}

#[cfg(feature = "test-support")]
#[tokio::test]
async fn faults_need_the_test_faults_flag() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("faults.toml");
    std::fs::write(
        &config,
        "[[apps]]\nclient_id = \"token-500\"\ntrusted_domains = [\"localhost:5000\"]\n\
         fault = { endpoint = \"token\", kind = \"status_500\" }\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("apps[0]: fault is a test-only setting: start the server with --test-faults"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage:"), "{stderr}");
    assert!(!stdout.contains("listening"));
    let (code, _, stderr) =
        run(&["--test-faults", "--config", config.to_str().unwrap(), "--listen", "nowhere"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not an address"), "the config was accepted: {stderr}");
    std::fs::write(
        &config,
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\nfault = { endpoint = \"x\", kind = \"drop\" }\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&["--test-faults", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown variant `x`"), "{stderr}");

    // With the flag, the fault applies to the app's tokens.
    std::fs::write(
        &config,
        "[[apps]]\nclient_id = \"token-500\"\ntrusted_domains = [\"localhost:5000\"]\n\
         fault = { endpoint = \"token\", kind = \"status_500\" }\n",
    )
    .unwrap();
    let child =
        Process::start_in(dir.path(), "true", &["--test-faults", "--config", config.to_str().unwrap()]);
    let form = "client_id=token-500&response_type=token&state=s&request_id=r&origin=http%3A%2F%2Flocalhost%3A5000\
                &scope=box&service=box&account=a&action=connect";
    let result = child.send(Method::POST, "/v1/oauth", &POPUP_FORM, form.as_bytes()).await;
    let token =
        result.body.split("\"access_token\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str()), ("Origin", "http://localhost:5000")];
    let reply = child.send(Method::GET, "/v1/oauth/token/", &auth, b"").await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    let allowed = reply.header("access-control-allow-origin");
    assert_eq!(allowed, Some("http://localhost:5000"), "{:?}", reply.headers);
}

#[tokio::test]
async fn trusted_domains_must_name_their_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let path = config.to_str().unwrap();
    for entry in ["app.example.com", "app.example.com:443"] {
        std::fs::write(
            &config,
            format!("[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"https://ok.test\", \"{entry}\"]\n"),
        )
        .unwrap();
        let (code, stdout, stderr) = run_refused(&["--config", path]);
        assert_eq!(code, 2, "{entry}: {stderr}");
        let message = format!(
            "authenticator-server: {path}: apps[0]: trusted domain \"{entry}\" has no scheme: write \
             \"https://{entry}\" (bare host:port entries are only for localhost, 127.0.0.1 and [::1])\n"
        );
        assert!(stderr.starts_with(&message), "{stderr}");
        assert!(!stdout.contains("listening"), "{entry}");
    }
    // Written with their scheme, or bare for localhost, they are accepted, and the relay may be
    // framed by exactly the origins they trust.
    std::fs::write(
        &config,
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = \
         [\"https://app.example.com:443\", \"http://intranet.test:8080\", \"localhost:3000\"]\n",
    )
    .unwrap();
    let child = Process::start_in(dir.path(), "true", &["--config", path]);
    let relay = child.send(Method::GET, "/static/iexd.html", &[], b"").await;
    let policy = relay.header("content-security-policy").unwrap_or_default();
    assert!(
        policy.ends_with(
            "; frame-ancestors https://app.example.com http://intranet.test:8080 http://localhost:3000 \
             https://localhost:3000"
        ),
        "{:?}",
        relay.headers
    );
}

#[cfg(feature = "test-support")]
#[test]
fn usage_documents_the_test_faults_flag() {
    let (_, stdout, _) = run(&["--help"]);
    assert!(stdout.contains("--test-faults"));
    assert!(stdout.contains("fault = { endpoint = \"token\", kind = \"status_500\" }"));
}

/// The release binary (built without the `test-support` feature) has no test knob: it refuses
/// `--test-faults` and `--latency-ms` as unknown arguments, and an app's `fault` entry.
#[cfg(not(feature = "test-support"))]
#[test]
fn without_the_test_support_feature_the_test_knobs_are_refused() {
    for args in [&["--test-faults"][..], &["--latency-ms", "50"]] {
        let (code, stdout, stderr) = run_refused(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("unexpected argument '{}'", args[0])), "{args:?}: {stderr}");
        assert!(!stdout.contains("listening"), "{args:?}");
    }
    let (_, help, _) = run(&["--help"]);
    assert!(!help.contains("--test-faults") && !help.contains("--latency-ms"), "{help}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("faults.toml");
    std::fs::write(
        &config,
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\nfault = { endpoint = \"token\", kind = \"drop\" }\n",
    )
    .unwrap();
    let (code, _, stderr) = run_refused(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("apps[0]: fault is a test-only setting"), "{stderr}");
}

/// The SQLite database and its WAL and shared-memory files are created readable and writable
/// by their owner only (0600), whatever the umask lets through: they hold hashed tokens and
/// sealed upstream secrets.
#[cfg(unix)]
#[test]
fn the_sqlite_files_are_created_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("data/db.sqlite");
    // Started: it printed its "listening on" line (which `Process::start` waits for and checks).
    let _child = Process::start("umask 022", database.to_str().unwrap(), &[]);
    let mut modes: Vec<(String, u32)> = std::fs::read_dir(database.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("db.sqlite"))
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.metadata().unwrap().permissions().mode() & 0o777,
            )
        })
        .collect();
    modes.sort();
    let names: Vec<&str> = modes.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["db.sqlite", "db.sqlite-shm", "db.sqlite-wal"],
        "the migrations wrote through the WAL"
    );
    let shown: Vec<String> = modes.iter().map(|(name, mode)| format!("{name} {mode:o}")).collect();
    assert!(modes.iter().all(|(_, mode)| *mode == 0o600), "{shown:?}");
}

/// Both log formats: one line per request with its method, path, status and latency, and never
/// the token a request carries in its query string or its Authorization header.
#[tokio::test]
async fn log_lines_hold_the_request_but_never_its_query_or_headers() {
    let secrets = ["QUERY-TOKEN-7e1d", "HEADER-TOKEN-42ab", "COOKIE-VALUE-9c3f"];
    let path = format!("/v1/oauth/token/?access_token={}&client_secret=x", secrets[0]);
    let bearer = format!("Bearer {}", secrets[1]);
    let cookie = format!("kloudless-browser={}", secrets[2]);
    for format in ["plain", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let child = Process::start_in(dir.path(), "true", &["--log-format", format]);
        let headers = [("Authorization", bearer.as_str()), ("Cookie", cookie.as_str())];
        assert_eq!(child.send(Method::GET, &path, &headers, b"").await.status, 401);
        let (_, logs) = child.kill();
        for secret in secrets.iter().chain(&["access_token", "client_secret", "Bearer"]) {
            assert!(!logs.contains(secret), "{format}: {secret:?} in {logs}");
        }
        let lines: Vec<&str> = logs.lines().filter(|line| line.contains("/v1/oauth/token/")).collect();
        assert_eq!(lines.len(), 1, "{format}: one line per request: {logs}");
        if format == "plain" {
            let latency =
                lines[0].strip_prefix("GET /v1/oauth/token/ 401 ").and_then(|l| l.strip_suffix(" ms"));
            assert!(latency.is_some_and(|ms| ms.parse::<f64>().is_ok()), "{logs}");
        } else {
            let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
            assert_eq!(line["span"]["method"], "GET", "{line}");
            assert_eq!(line["span"]["path"], "/v1/oauth/token/", "{line}");
            assert_eq!(line["status"], 401, "{line}");
            assert!(line["latency_ms"].is_f64(), "{line}");
        }
    }
}
