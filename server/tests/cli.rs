//! The binary: flags, config errors (exit code 2), the "listening on" line, and request logs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_authenticator-server");

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

/// The server process, stopped when the test ends (even by a failed assertion).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serves_on_the_printed_address_and_logs_no_query_strings() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("nested/dir/db.sqlite");
    let mut child = Running(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--database", database.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = child.0.stderr.take().unwrap();
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr =
        line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}")).to_owned();
    assert!(!addr.ends_with(":0"), "the actual port is printed: {addr}");
    assert!(database.exists(), "the database and its folders are created");

    let get = |path: &str| {
        let mut stream = TcpStream::connect(&addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    };
    assert!(get("/static/iexd.html").starts_with("HTTP/1.1 200"));
    // The default config: app "demo" trusts localhost:8080 only, so this origin is refused.
    let refused = get("/v1/oauth?client_id=demo&response_type=token&state=SECRET-STATE&request_id=1\
                       &origin=http://localhost:9999");
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    assert!(refused.contains("not a Trusted Domain of app demo"));

    drop(child);
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).unwrap();
    assert!(logs.contains("GET /static/iexd.html 200"), "{logs}");
    assert!(logs.contains("GET /v1/oauth 400"), "{logs}");
    assert!(!logs.contains("SECRET-STATE"), "{logs}");
}

/// Starts the binary with `args` (plus a port and a database in `dir`); returns it and its address.
fn start(dir: &std::path::Path, args: &[&str]) -> (Running, String, BufReader<std::process::ChildStdout>) {
    let database = common::database_arg(&common::fresh_database(dir));
    let mut child = Running(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--database", &database])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr =
        line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}")).to_owned();
    (child, addr, stdout)
}

/// One request over a fresh connection; returns the whole reply.
fn request(addr: &str, head: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

#[test]
fn a_whole_flow_leaves_no_token_state_or_request_id_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[[apps]]\nclient_id = \"cli\"\ntrusted_domains = [\"localhost:3000\"]\n")
        .unwrap();
    let (mut child, addr, mut stdout) = start(dir.path(), &["--config", config.to_str().unwrap()]);
    let (state, request_id) = ("STATE-5f2a9c0e", "REQUEST-ID-81d4b7");
    let query = format!(
        "client_id=cli&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=token&state={state}\
         &request_id={request_id}&origin=http%3A%2F%2Flocalhost%3A3000&scope=box%20dropbox"
    );
    let chooser = request(&addr, &format!("GET /v1/oauth?{query} HTTP/1.1"), "");
    assert!(chooser.starts_with("HTTP/1.1 200") && chooser.contains("data-service=\"box\""), "{chooser}");
    let connect_page = request(&addr, &format!("GET /v1/oauth?{query}&service=box HTTP/1.1"), "");
    assert!(connect_page.contains("data-action=\"connect\""), "{connect_page}");
    let result = request(
        &addr,
        "POST /v1/oauth HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Cookie: kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &format!("{query}&service=box&account=logged.user%40example.com&action=connect"),
    );
    assert!(result.starts_with("HTTP/1.1 200"), "{result}");
    let token = result.split("\"access_token\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(token.len(), 64, "{result}");

    let auth = format!("Authorization: Bearer {token}\r\nOrigin: http://localhost:3000");
    let preflight = request(
        &addr,
        "OPTIONS /v1/oauth/token/ HTTP/1.1\r\nOrigin: http://localhost:3000\r\nAccess-Control-Request-Method: GET",
        "",
    );
    assert!(preflight.starts_with("HTTP/1.1 204"), "{preflight}");
    let info = request(&addr, &format!("GET /v1/oauth/token/ HTTP/1.1\r\n{auth}"), "");
    assert!(info.starts_with("HTTP/1.1 200") && info.contains("\"client_id\":\"cli\""), "{info}");
    let id = info.split("\"account_id\":").nth(1).unwrap().split(',').next().unwrap().to_owned();
    for path in [format!("/v1/accounts/{id}/?retrieve_full=False"), "/v1/accounts/me/".to_owned()] {
        let account = request(&addr, &format!("GET {path} HTTP/1.1\r\n{auth}"), "");
        assert!(
            account.starts_with("HTTP/1.1 200") && account.contains("logged.user@example.com"),
            "{account}"
        );
    }
    // A wrong token and a wrong state are not logged either.
    let refused =
        request(&addr, "GET /v1/oauth/token/ HTTP/1.1\r\nAuthorization: Bearer WRONG-TOKEN-3c9e", "");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    let mut stderr = child.0.stderr.take().unwrap();
    drop(child);
    let (mut logs, mut out) = (String::new(), String::new());
    stderr.read_to_string(&mut logs).unwrap();
    stdout.read_to_string(&mut out).unwrap();
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
#[test]
fn faults_need_the_test_faults_flag() {
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
    let (_child, addr, _) = start(dir.path(), &["--test-faults", "--config", config.to_str().unwrap()]);
    let result = request(
        &addr,
        "POST /v1/oauth HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Cookie: kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "client_id=token-500&response_type=token&state=s&request_id=r&origin=http%3A%2F%2Flocalhost%3A5000\
         &scope=box&service=box&account=a&action=connect",
    );
    let token = result.split("\"access_token\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let reply = request(
        &addr,
        &format!(
            "GET /v1/oauth/token/ HTTP/1.1\r\nAuthorization: Bearer {token}\r\nOrigin: http://localhost:5000"
        ),
        "",
    );
    assert!(reply.starts_with("HTTP/1.1 500"), "{reply}");
    assert!(reply.to_lowercase().contains("access-control-allow-origin: http://localhost:5000"), "{reply}");
}

#[test]
fn trusted_domains_must_name_their_scheme() {
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
    let (_child, addr, _) = start(dir.path(), &["--config", path]);
    let relay = request(&addr, "GET /static/iexd.html HTTP/1.1", "");
    assert!(
        relay.contains(
            "; frame-ancestors https://app.example.com http://intranet.test:8080 http://localhost:3000 \
             https://localhost:3000\r\n"
        ),
        "{relay}"
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
    let mut child = Running(
        Command::new("sh")
            .arg("-c")
            .arg("umask 022 && exec \"$0\" \"$@\"")
            .arg(BIN)
            .args(["--listen", "127.0.0.1:0", "--database", database.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on http://"), "{line:?}");
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
#[test]
fn log_lines_hold_the_request_but_never_its_query_or_headers() {
    let secrets = ["QUERY-TOKEN-7e1d", "HEADER-TOKEN-42ab", "COOKIE-VALUE-9c3f"];
    let head = format!(
        "GET /v1/oauth/token/?access_token={}&client_secret=x HTTP/1.1\r\nAuthorization: Bearer {}\r\n\
         Cookie: kloudless-browser={}",
        secrets[0], secrets[1], secrets[2]
    );
    for format in ["plain", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, addr, _stdout) = start(dir.path(), &["--log-format", format]);
        assert!(request(&addr, &head, "").starts_with("HTTP/1.1 401"));
        let mut stderr = child.0.stderr.take().unwrap();
        drop(child);
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).unwrap();
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
