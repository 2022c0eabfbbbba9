//! The binary: flags, config errors (exit code 2), the "listening on" line, and request logs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_authenticator-server");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
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
        (vec!["--port", "1"], "unknown argument \"--port\""),
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
