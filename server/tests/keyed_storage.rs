//! Keyed storage entries against the real servers, through the pop-up's form and the
//! pass-through API: Azure Blob Storage (Shared Key) against Azurite, Microsoft's emulator, which
//! checks every signature as the service does (its well-known account `devstoreaccount1`,
//! path-style at `http://127.0.0.1:PORT/devstoreaccount1`); WebDAV against npm webdav-server
//! mounted under a path, as Nextcloud's is.

mod common;

use authenticator_server::config::Config;
use authenticator_server::providers::catalogue::Entry;
use authenticator_server::providers::services::Connect;
use authenticator_server::testing::rehost::rehost;
use common::npm::NpmServer;
use common::{Reply, TestServer};
use std::sync::Arc;

const KEY: &str = "key-of-app-a-0123456789abcdef";
/// The binding cookie of the browser every pop-up request comes from (the public URL is https).
const BROWSER: &str =
    "__Host-kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// Azurite's well-known development account and its key
/// (<https://learn.microsoft.com/en-us/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key>).
const ACCOUNT: &str = "devstoreaccount1";
const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Where the WebDAV server's root is mounted.
const MOUNT: &str = "/remote.php/dav/files/ann";

/// A server with app `a` and the catalogue entry `id`, `tune` pointing its URLs at a local
/// server (private addresses allowed, as for every local test upstream).
async fn server(id: &str, tune: impl FnOnce(&mut Config)) -> TestServer {
    let toml = format!(
        "public_url = \"https://auth.example.test\"\nallow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY}\"\n\
         [[providers]]\nid = \"{id}\"\n"
    );
    TestServer::with(&toml).browser(BROWSER).tune(tune).start().await
}

/// The (only) enabled entry of `config`, to change.
fn entry_of(config: &mut Config) -> &mut Entry {
    let Connect::Credentials(entry) = &mut config.services[0].connect else { panic!("a keyed entry") };
    Arc::get_mut(entry).unwrap()
}

/// The credentials form of `id` posted with `fields`, in `locale`: its status and page.
async fn post_form(server: &TestServer, id: &str, locale: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut extra = vec![("service", id), ("action", "connect"), ("locale", locale)];
    extra.extend_from_slice(fields);
    let query = common::popup_query("a", "http://localhost:3000", id, &extra);
    let request = server.post("/v1/oauth").header("content-type", "application/x-www-form-urlencoded");
    let reply = Reply::of(request.body(query)).await;
    (reply.status, reply.body)
}

/// The account the result page names, by its token: its id and what the API says of it.
async fn connected(server: &TestServer, page: &str) -> (i64, serde_json::Value) {
    let token = page.split("\"access_token\":\"").nth(1).expect(page).split('"').next().unwrap();
    let accounts = Reply::of(server.get("/v1/accounts/").bearer_auth(token)).await.json();
    let account = accounts["objects"][0].clone();
    (account["id"].as_i64().expect("an account"), account)
}

/// How many accounts the database holds.
async fn accounts(server: &TestServer) -> usize {
    let counts = common::row_counts(server.database()).await;
    counts.into_iter().find(|(table, _)| table == "accounts").map_or(0, |(_, rows)| rows)
}

/// A pass-through call of `account`: `method` on `path`, with `headers` (as the SDKs send them)
/// and `body`: the status and body.
async fn raw(
    server: &TestServer,
    account: i64,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let request = server
        .post(&format!("/v1/accounts/{account}/raw"))
        .header("Authorization", format!("APIKey {KEY}"))
        .header("X-Kloudless-Raw-URI", path)
        .header("X-Kloudless-Raw-Method", method)
        .header("X-Kloudless-Raw-Headers", headers)
        .body(body.to_owned());
    let reply = Reply::of(request).await;
    (reply.status, reply.body)
}

async fn azurite() -> NpmServer {
    let args = ["--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence", "--silent"];
    NpmServer::start("node_modules/azurite/dist/src/blob/main.js", &args, |line| {
        line.split_once("successfully listens on http://127.0.0.1:")?.1.trim().parse().ok()
    })
    .await
}

/// The Azure entry re-hosted at Azurite (as `--rehost azure_blob=…` does): path-style, the
/// account in the path.
async fn azure_server(azurite: &NpmServer) -> TestServer {
    let base = format!("http://127.0.0.1:{}", azurite.port);
    server("azure_blob", |config| {
        rehost(config, "azure_blob", &base).unwrap();
        let entry = entry_of(config);
        let check = entry.check_url.as_deref();
        assert_eq!(check, Some(format!("{base}/{{account}}/?comp=list&maxresults=1")).as_deref());
        assert_eq!(entry.api_base.as_deref(), Some(format!("{base}/{{account}}")).as_deref());
    })
    .await
}

#[tokio::test]
async fn an_azure_storage_account_connects_with_its_key_and_only_with_it() {
    let azurite = azurite().await;
    let server = azure_server(&azurite).await;
    let wrong = ACCOUNT_KEY.replace("Eby8", "Fby8");
    // A wrong key: Azurite answers 403 AuthenticationFailed; the form again, translated.
    for (locale, says) in [
        ("en", "Azure Blob Storage refused these credentials."),
        ("de", "Azure Blob Storage hat diese Zugangsdaten abgelehnt."),
        ("ja", "Azure Blob Storage はこの認証情報を拒否しました。"),
    ] {
        let (status, page) =
            post_form(&server, "azure_blob", locale, &[("username", ACCOUNT), ("password", &wrong)]).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains(says) && page.contains("data-error=\"credentials\""), "{locale}: {page}");
        assert!(!page.contains(&wrong), "the key is never echoed");
    }
    // Not an account name, not a key: refused before any request.
    for (fields, says) in [
        ([("username", "dev-store"), ("password", ACCOUNT_KEY)], "is not a storage account name"),
        ([("username", "ab"), ("password", ACCOUNT_KEY)], "is not a storage account name"),
        ([("username", ACCOUNT), ("password", "not base64!")], "The account key is not valid"),
    ] {
        let (status, page) = post_form(&server, "azure_blob", "en", &fields).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains(says), "{page}");
    }
    assert_eq!(accounts(&server).await, 0, "nothing stored for a refused key");
    // The right key, the account typed in capitals: connected as the storage account.
    let (status, page) = post_form(
        &server,
        "azure_blob",
        "en",
        &[("username", "DevStoreAccount1"), ("password", ACCOUNT_KEY)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (_, account) = connected(&server, &page).await;
    assert_eq!(account["account"], ACCOUNT);
    assert_eq!(account["service"], "azure_blob");
    assert_eq!(accounts(&server).await, 1);
}

#[tokio::test]
async fn azure_raw_calls_are_signed_with_shared_key() {
    let azurite = azurite().await;
    let server = azure_server(&azurite).await;
    let (status, page) =
        post_form(&server, "azure_blob", "en", &[("username", ACCOUNT), ("password", ACCOUNT_KEY)]).await;
    assert_eq!(status, 200, "{page}");
    let (account, _) = connected(&server, &page).await;
    // Create a container, put a blob with a body, read it back.
    let (status, body) = raw(&server, account, "PUT", "/photos?restype=container", "{}", "").await;
    assert_eq!(status, 201, "{body}");
    let blob = r#"{"x-ms-blob-type": "BlockBlob", "x-ms-meta-Note": "  two   spaces "}"#;
    let (status, body) =
        raw(&server, account, "PUT", "/photos/hello%20world.txt", blob, "Hello, Azure!").await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = raw(&server, account, "GET", "/photos/hello%20world.txt", "{}", "").await;
    assert_eq!((status, body.as_str()), (200, "Hello, Azure!"));
    // A body past what is kept to be sent again is streamed: its declared length is signed.
    let big = "0123456789abcdef".repeat(5 * 1024);
    let (status, body) =
        raw(&server, account, "PUT", "/photos/big.bin", r#"{"x-ms-blob-type": "BlockBlob"}"#, &big).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = raw(&server, account, "GET", "/photos/big.bin", "{}", "").await;
    assert_eq!((status, body.len()), (200, big.len()));
    assert!(body == big);
    // Several query parameters, sorted and decoded in the signature. (A repeated one is signed
    // as Microsoft documents, its values joined, but Azurite keeps only the last: not here.)
    let listing =
        "/photos?restype=container&comp=list&prefix=hello%20w&include=metadata,snapshots&maxresults=5";
    let (status, body) = raw(&server, account, "GET", listing, "{}", "").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<Name>hello world.txt</Name>") && body.contains("<note>two   spaces</note>"),
        "{body}"
    );
    let (status, body) = raw(&server, account, "GET", "/?comp=list", "{}", "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Name>photos</Name>"), "{body}");
    // Nothing outside the account's base.
    let (status, _) = raw(&server, account, "GET", "/../otheraccount/?comp=list", "{}", "").await;
    assert_eq!(status, 400);
}

async fn webdav_server() -> NpmServer {
    NpmServer::start("server/tests/fixtures/webdav-under-path.mjs", &["pw d", MOUNT], |line| {
        line.strip_prefix("listening ")?.trim().parse().ok()
    })
    .await
}

/// The WebDAV entry at `dav` (its URLs as the catalogue's, on http: a re-hosted test entry's).
async fn webdav(dav: &NpmServer) -> (TestServer, String) {
    let server = server("webdav", |config| {
        let entry = entry_of(config);
        entry.hostname_pattern = Some("127.0.0.1:*".into());
        entry.check_url = Some("http://{hostname}/".into());
        entry.api_base = Some("http://{hostname}".into());
    })
    .await;
    (server, format!("127.0.0.1:{}", dav.port))
}

/// The WebDAV form posted for `ann` with `password`, on the server `typed`.
async fn connect_dav(server: &TestServer, typed: String, password: &str) -> (u16, String) {
    post_form(server, "webdav", "en", &[("hostname", &typed), ("username", "ann"), ("password", password)])
        .await
}

#[tokio::test]
async fn a_webdav_server_under_a_path_is_reached_under_it() {
    let dav = webdav_server().await;
    let (server, host) = webdav(&dav).await;
    // The form's server field takes a server with its path.
    let query = common::popup_query("a", "http://localhost:3000", "webdav", &[]);
    let form = Reply::of(server.get(&format!("/v1/oauth?{query}"))).await;
    assert!(
        form.body.contains("name=\"hostname\"") && form.body.contains("maxlength=\"1024\""),
        "{}",
        form.body
    );
    // At the host's root there is no DAV collection (404); a wrong password is refused.
    let (status, page) = connect_dav(&server, host.clone(), "pw d").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("status 404"), "{page}");
    let (status, page) = connect_dav(&server, format!("{host}{MOUNT}/"), "wrong").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("WebDAV refused these credentials."), "{page}");
    // Not a server address with a path: refused before any request.
    for typed in [
        format!("https://{host}{MOUNT}"),
        format!("ann@{host}{MOUNT}"),
        format!("{host}{MOUNT}?x=1"),
        format!("{host}{MOUNT}#top"),
        format!("{host}/remote.php/../dav"),
        format!("{host}/remote.php/%2e%2e/dav"),
        format!("{host}/a%2fb"),
    ] {
        let (status, page) = connect_dav(&server, typed.clone(), "pw d").await;
        assert_eq!(status, 400, "{typed}: {page}");
        assert!(page.contains("is not a server address"), "{typed}: {page}");
    }
    assert_eq!(accounts(&server).await, 0);
    // Under the path (as an http:// URL, the test entry's scheme): connected.
    let (status, page) = connect_dav(&server, format!("http://{host}{MOUNT}/"), "pw d").await;
    assert_eq!(status, 200, "{page}");
    let (account, described) = connected(&server, &page).await;
    assert_eq!(described["account"], "ann");
    // Raw calls are relative to the path: put a file, read it back.
    let (status, body) = raw(&server, account, "PUT", "/notes.txt", "{}", "under a path").await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = raw(&server, account, "GET", "/notes.txt", "{}", "").await;
    assert_eq!((status, body.as_str()), (200, "under a path"));
    // A raw path cannot leave the base.
    for path in ["/../ann2/notes.txt", "/%2e%2e/x", "/a/../../x"] {
        let (status, _) = raw(&server, account, "GET", path, "{}", "").await;
        assert_eq!(status, 400, "{path}");
    }
}
