//! Azure Storage's Shared Key authorization (the Blob service's): each request carries
//! `x-ms-date` and `x-ms-version`, and `Authorization: SharedKey {account}:{signature}`, the
//! signature being the base64 of an HMAC-SHA256, keyed with the base64-decoded account key, of
//! the request's string-to-sign: its method, standard headers, `x-ms-*` headers and resource
//! canonicalized as Microsoft documents
//! (<https://learn.microsoft.com/en-us/rest/api/storageservices/authorize-with-shared-key>).
//!
//! Written here over `hmac`, `sha2` and `base64` rather than taken from a crate: the only Rust
//! signer Microsoft publishes is inside the legacy `azure_storage` SDK (deprecated, with its own
//! HTTP pipeline and client types), and its successor `azure_storage_blob` takes Entra ID tokens
//! only; the small third-party signers are unmaintained or single-purpose. The body is not read
//! (only its length is signed), so a streamed body stays streamed.

use super::UpstreamError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderValue;
use sha2::Sha256;
use std::time::SystemTime;

/// The REST API version every request names (`x-ms-version`): one the Blob service and the
/// Azurite emulator both serve (<https://learn.microsoft.com/en-us/rest/api/storageservices/versioning-for-the-azure-storage-services>).
pub const API_VERSION: &str = "2025-01-05";

/// The standard headers signed, in the string-to-sign's order (after the method).
const SIGNED_HEADERS: [&str; 11] = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/// Whether `name` is a well-formed storage account name: 3 to 24 lowercase letters and digits
/// (<https://learn.microsoft.com/en-us/azure/storage/common/storage-account-overview#storage-account-name>);
/// it becomes the first label of the account's host.
pub fn is_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Whether `key` is an account key as the portal shows it: base64 (of 64 bytes, for a real
/// account; any length is taken).
pub fn is_key(key: &str) -> bool {
    STANDARD.decode(key.trim()).is_ok_and(|bytes| !bytes.is_empty())
}

/// Signs `request` for `account` with its base64 `key`, now: adds `x-ms-date`, `x-ms-version`
/// and `Authorization`. A key that is not base64 cannot sign.
pub fn sign_request(request: &mut reqwest::Request, account: &str, key: &str) -> Result<(), UpstreamError> {
    let unsigned = || UpstreamError::new("server_error", "The request to the service could not be signed.");
    let key = STANDARD.decode(key.trim()).map_err(|_| {
        UpstreamError::new(
            "access_denied",
            "The account key is not valid: it is base64, as the portal shows it.",
        )
    })?;
    let date = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())).map_err(|_| unsigned())?;
    request.headers_mut().insert("x-ms-date", date);
    request.headers_mut().insert("x-ms-version", HeaderValue::from_static(API_VERSION));
    let body_length = request.body().and_then(|body| body.as_bytes()).map(<[u8]>::len);
    let to_sign =
        string_to_sign(request.method().as_str(), request.headers(), body_length, request.url(), account);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| unsigned())?;
    mac.update(to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let authorization =
        HeaderValue::from_str(&format!("SharedKey {account}:{signature}")).map_err(|_| unsigned())?;
    request.headers_mut().insert(reqwest::header::AUTHORIZATION, authorization);
    Ok(())
}

/// The string-to-sign of a request (Shared Key, version 2009-09-19 and later): the method, the
/// [`SIGNED_HEADERS`]' values (`Content-Length` from `body_length` when the header is not set,
/// and empty when zero, as since version 2015-02-21), the canonicalized `x-ms-*` headers and the
/// canonicalized resource, each on its own line.
fn string_to_sign(
    method: &str,
    headers: &reqwest::header::HeaderMap,
    body_length: Option<usize>,
    url: &url::Url,
    account: &str,
) -> String {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut lines = vec![method.to_owned()];
    for name in SIGNED_HEADERS {
        let line = match name {
            "content-length" => match value(name) {
                given if !given.is_empty() => given,
                _ => body_length.map(|len| len.to_string()).unwrap_or_default(),
            },
            _ => value(name),
        };
        lines.push(if name == "content-length" && line == "0" { String::new() } else { line });
    }
    let mut ms: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-ms-"))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    ms.sort();
    let mut text = lines.join("\n");
    text.push('\n');
    for (name, value) in ms {
        // The value as sent (HTTP takes off the white space around it), inner spaces kept: as
        // Microsoft's SDKs sign it and the service (and Azurite) check it.
        text.push_str(&format!("{name}:{}\n", value.trim()));
    }
    text.push_str(&canonicalized_resource(url, account));
    text
}

/// `/{account}{path}` (the path as sent, percent-encoded), then each query parameter on its own
/// line as `name:value`, names lowercased and sorted, a name's values decoded, sorted and
/// joined by commas.
fn canonicalized_resource(url: &url::Url, account: &str) -> String {
    let mut params: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (name, value) in url.query_pairs() {
        params.entry(name.to_lowercase()).or_default().push(value.into_owned());
    }
    let mut resource = format!("/{account}{}", url.path());
    for (name, mut values) in params {
        values.sort();
        resource.push_str(&format!("\n{name}:{}", values.join(",")));
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        text.parse().unwrap()
    }

    #[test]
    fn the_resource_is_canonicalized_as_microsofts_examples_show() {
        // The examples of "Shared Key format for 2009-09-19 and later" in
        // https://learn.microsoft.com/en-us/rest/api/storageservices/authorize-with-shared-key
        let metadata =
            url("https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata");
        assert_eq!(
            canonicalized_resource(&metadata, "myaccount"),
            "/myaccount/mycontainer\ncomp:metadata\nrestype:container"
        );
        let listed = url(
            "https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=list&include=snapshots&include=metadata&include=uncommittedblobs",
        );
        assert_eq!(
            canonicalized_resource(&listed, "myaccount"),
            "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\nrestype:container"
        );
        // Names lowercased, values decoded; the service's root keeps its slash.
        let root = url("https://myaccount.blob.core.windows.net/?COMP=list&prefix=a%20b");
        assert_eq!(canonicalized_resource(&root, "myaccount"), "/myaccount/\ncomp:list\nprefix:a b");
    }

    #[test]
    fn the_string_to_sign_holds_the_standard_headers_then_the_ms_headers_then_the_resource() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-ms-version", HeaderValue::from_static(API_VERSION));
        headers.insert("x-ms-date", HeaderValue::from_static("Sun, 20 Sep 2009 20:36:40 GMT"));
        headers.insert("x-ms-meta-m2", HeaderValue::from_static("  v2   and  more "));
        headers.insert("content-type", HeaderValue::from_static("text/plain; charset=UTF-8"));
        let put = url("https://myaccount.blob.core.windows.net/mycontainer/hello.txt");
        let signed = string_to_sign("PUT", &headers, Some(11), &put, "myaccount");
        assert_eq!(
            signed,
            "PUT\n\n\n11\n\ntext/plain; charset=UTF-8\n\n\n\n\n\n\n\
             x-ms-date:Sun, 20 Sep 2009 20:36:40 GMT\nx-ms-meta-m2:v2   and  more\nx-ms-version:2025-01-05\n\
             /myaccount/mycontainer/hello.txt"
        );
        let empty = string_to_sign("GET", &Default::default(), Some(0), &put, "myaccount");
        assert!(empty.starts_with("GET\n\n\n\n"), "a zero length is signed empty: {empty:?}");
    }

    #[test]
    fn a_request_is_signed_with_the_decoded_key_and_never_carries_it() {
        let key = STANDARD.encode(b"sixteen byte key");
        let mut request =
            reqwest::Request::new(reqwest::Method::GET, url("https://acct.blob.core.windows.net/?comp=list"));
        sign_request(&mut request, "acct", &key).unwrap();
        let header = |name: &str| request.headers()[name].to_str().unwrap().to_owned();
        let authorization = header("authorization");
        let signature = authorization.strip_prefix("SharedKey acct:").unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"sixteen byte key").unwrap();
        mac.update(string_to_sign("GET", request.headers(), None, request.url(), "acct").as_bytes());
        assert_eq!(signature, STANDARD.encode(mac.finalize().into_bytes()));
        assert!(!authorization.contains(&key));
        assert_eq!(header("x-ms-version"), API_VERSION);
        assert!(header("x-ms-date").ends_with(" GMT"));
        let mut bad = reqwest::Request::new(reqwest::Method::GET, url("https://acct.blob.core.windows.net/"));
        assert_eq!(sign_request(&mut bad, "acct", "not base64!").unwrap_err().code, "access_denied");
    }

    #[test]
    fn account_names_are_three_to_twenty_four_lowercase_letters_and_digits() {
        for good in ["abc", "devstoreaccount1", &"a".repeat(24)] {
            assert!(is_account_name(good), "{good}");
        }
        for bad in ["ab", "Acct", "my-account", "a.b.c", "127.0.0.1", &"a".repeat(25), "acct/x"] {
            assert!(!is_account_name(bad), "{bad}");
        }
    }
}
