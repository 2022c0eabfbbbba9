//! A real server from an npm package the repository pins (package.json: Azurite, webdav-server),
//! run as a child process on a loopback port it picks, ended when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running npm server.
pub struct NpmServer {
    /// The process (killed on drop).
    _child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// The repository's root, where `node_modules` is installed.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl NpmServer {
    /// Runs `program` (relative to the repository's root) with `args` until a line it prints
    /// gives its port (`port_in`); panics when none does within 60 s (a missing `npm ci` says
    /// so).
    pub async fn start(program: &str, args: &[&str], port_in: fn(&str) -> Option<u16>) -> NpmServer {
        let path = root().join(program);
        assert!(path.exists(), "{} is missing: run `npm ci` at the repository's root", path.display());
        let mut child = Command::new("node")
            .arg(&path)
            .args(args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(port) = port_in(&line) {
                    return port;
                }
            }
            panic!("{program} ended before it listened");
        })
        .await
        .unwrap_or_else(|_| panic!("{program} did not listen within 60 s"));
        // The rest of its output is read (and dropped) so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        NpmServer { _child: child, port }
    }
}
