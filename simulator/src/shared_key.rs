//! Azure Storage's Shared Key checked as the Blob service checks it: the `Authorization` header
//! names the account and a signature, which must equal the base64 HMAC-SHA256, keyed with the
//! known secret ([`crate::CLIENT_SECRET`]'s bytes: the account key typed is their base64), of
//! the request's string-to-sign, built here from the request received as Microsoft documents it
//! (<https://learn.microsoft.com/en-us/rest/api/storageservices/authorize-with-shared-key>).
//! Azurite (Microsoft's emulator) checks the server's signer against the service's own rules
//! in `server/tests/keyed_storage.rs`; this check lets the conformance matrix run the entry too.

use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

/// The standard headers signed, in order, after the method.
const SIGNED: [&str; 11] = [
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

/// Whether the request carries `x-ms-date` and a valid Shared Key signature by the known key.
pub fn verify(method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_owned();
    let Some((account, signature)) = header("authorization")
        .strip_prefix("SharedKey ")
        .and_then(|rest| rest.split_once(':'))
        .map(|(account, signature)| (account.to_owned(), signature.to_owned()))
    else {
        return false;
    };
    if header("x-ms-date").is_empty() {
        return false;
    }
    let mut text = method.as_str().to_owned();
    for name in SIGNED {
        let value = header(name);
        text.push('\n');
        text.push_str(if name == "content-length" && value == "0" { "" } else { &value });
    }
    text.push('\n');
    let ms: BTreeMap<&str, String> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("x-ms-"))
        .map(|name| (name.as_str(), header(name.as_str())))
        .collect();
    for (name, value) in ms {
        text.push_str(&format!("{name}:{value}\n"));
    }
    text.push_str(&format!("/{account}{}", uri.path()));
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        params.entry(name.to_lowercase()).or_default().push(value.into_owned());
    }
    for (name, mut values) in params {
        values.sort();
        text.push_str(&format!("\n{name}:{}", values.join(",")));
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(crate::CLIENT_SECRET.as_bytes()) else { return false };
    mac.update(text.as_bytes());
    STANDARD.decode(signature).is_ok_and(|given| mac.verify_slice(&given).is_ok())
}
