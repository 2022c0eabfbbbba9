//! A running server whose app `a` (API key [`KEY`]) has a connected account at the OAuth
//! provider `acme`, its upstream tokens sealed as the broker seals them.

use super::TestServer;
use authenticator_server::config::Config;
use authenticator_server::providers::client::Tokens;
use authenticator_server::secrets::{KeySource, SecretKey};
use authenticator_server::store::{Store, UpstreamAccount};

/// App `a`'s API key.
pub const KEY: &str = "key-of-app-a-0123456789abcdef";
/// The key sealing upstream secrets.
pub const HEX: &str = "abababababababababababababababababababababababababababababababab";

/// The server, its database and the account.
pub struct AcmeAccount {
    /// The server (its folder holds the secret key).
    pub server: TestServer,
    /// The server's database, opened a second time.
    pub store: Store,
    /// The `acme` account's id.
    pub account: i64,
}

/// Starts a server with `settings` (top-level TOML lines), app `a`, the `oauth2` provider
/// `acme` (client `our-app` / `s3cr3t-value`, its URLs in `endpoints`, TOML lines of the
/// `[[providers]]` entry) and an `acme` account of app `a` (subject `u1`) holding `tokens`.
pub async fn start(settings: &str, endpoints: &str, tokens: &Tokens) -> AcmeAccount {
    start_tuned(settings, endpoints, tokens, |_| {}).await
}

/// [`start`], with `tune` changing the configuration first (for settings that are flags rather
/// than TOML, e.g. the connection limits).
pub async fn start_tuned(
    settings: &str,
    endpoints: &str,
    tokens: &Tokens,
    tune: impl FnOnce(&mut Config),
) -> AcmeAccount {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("secret.key");
    std::fs::write(&key_file, HEX).unwrap();
    let toml = format!(
        "allow_private_upstreams = true\n{settings}\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n\
         [[providers]]\nid = \"acme\"\nkind = \"oauth2\"\nname = \"Acme\"\ncategory = \"storage\"\n\
         client_id = \"our-app\"\nclient_secret = \"s3cr3t-value\"\n{endpoints}\n"
    );
    let server = TestServer::with(&toml)
        .in_dir(dir)
        .tune(move |config| config.secret_key = KeySource::File(key_file))
        .tune(tune)
        .start()
        .await;
    let store = Store::open(server.database()).await.unwrap();
    let sealed =
        SecretKey::from_hex(HEX).unwrap().seal(&serde_json::to_vec(tokens).unwrap(), b"a\nacme\nu1").unwrap();
    let account = UpstreamAccount {
        client_id: "a",
        service: "acme",
        subject: "u1",
        login: "ann@x.test",
        admin: false,
        sealed: &sealed,
        app: Default::default(),
        refreshable: tokens.refresh_token.is_some(),
    };
    let (account, _) = store.connect_upstream("acme:normal.storage", account).await.unwrap();
    AcmeAccount { server, store, account }
}
