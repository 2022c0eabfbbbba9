//! The upstream client's tests.

use super::*;
use crate::providers::catalogue::{self, Entry, IdentityPaths};
use serde_json::json;

/// A catalogue entry (GitHub's: no token path, no default lifetime) changed by `edit`.
fn entry_with(edit: impl FnOnce(&mut Entry)) -> Entry {
    let mut entry = catalogue::catalogue().unwrap().into_iter().find(|e| e.id == "github").unwrap();
    edit(&mut entry);
    entry
}

#[test]
fn a_token_replys_instance_url_is_kept_as_an_origin_only() {
    let reply = |instance_url: &str| -> TokenReply {
        serde_json::from_value(json!({
            "access_token": "a", "token_type": "Bearer", "instance_url": instance_url,
            "id": "https://login.salesforce.com/id/00D/005", "issued_at": "1700000000000"
        }))
        .unwrap()
    };
    let plain_entry = entry_with(|_| {});
    let kept = |url: &str| reply(url).tokens(&plain_entry, true, 0, "").unwrap().instance_url;
    assert_eq!(kept("https://acme.my.salesforce.com").as_deref(), Some("https://acme.my.salesforce.com"));
    assert_eq!(kept("https://acme.my.salesforce.com/").as_deref(), Some("https://acme.my.salesforce.com"));
    for bad in
        ["https://u:p@acme.test", "https://acme.test/path", "https://acme.test/?q", "ftp://acme.test", "x"]
    {
        assert_eq!(kept(bad), None, "{bad}");
    }
    let plain: TokenReply =
        serde_json::from_value(json!({ "access_token": "a", "token_type": "Bearer" })).unwrap();
    assert_eq!(
        plain.tokens(&plain_entry, true, 0, "").unwrap().instance_url,
        None,
        "most providers name none"
    );
    let zoho = entry_with(|e| e.instance_url_field = "api_domain".into());
    let api_domain: TokenReply = serde_json::from_value(json!({
        "access_token": "a", "token_type": "Bearer", "api_domain": "https://www.zohoapis.eu", "expires_in": 3600
    }))
    .unwrap();
    let named = api_domain.tokens(&zoho, true, 0, "").unwrap().instance_url;
    assert_eq!(named.as_deref(), Some("https://www.zohoapis.eu"), "Zoho's data centre's API server");
    assert_eq!(api_domain.tokens(&plain_entry, true, 0, "").unwrap().instance_url, None);
}

#[test]
fn a_reply_without_expires_in_lasts_the_documented_default_lifetime() {
    let reply: TokenReply =
        serde_json::from_value(json!({ "access_token": "a", "token_type": "Bearer" })).unwrap();
    let documented = entry_with(|e| e.default_expires_in = Some(7200));
    assert_eq!(reply.tokens(&documented, true, 1000, "").unwrap().expires_at, Some(8200));
    assert_eq!(
        reply.tokens(&entry_with(|_| {}), true, 1000, "").unwrap().expires_at,
        None,
        "none documented"
    );
    let said: TokenReply =
        serde_json::from_value(json!({ "access_token": "a", "token_type": "Bearer", "expires_in": 60 }))
            .unwrap();
    assert_eq!(said.tokens(&documented, true, 1000, "").unwrap().expires_at, Some(1060), "the reply wins");
}

#[test]
fn a_json_token_body_carries_the_forms_parameters() {
    let json: serde_json::Value =
        serde_json::from_slice(&read::form_as_json(b"grant_type=authorization_code&code=a%2Bb&platform=x"))
            .unwrap();
    assert_eq!(json, json!({ "grant_type": "authorization_code", "code": "a+b", "platform": "x" }));
}

#[test]
fn a_token_reply_is_read_as_its_provider_writes_it() {
    let read = |reply: serde_json::Value, path: Option<&str>| {
        let entry = entry_with(|e| e.token_path = path.map(str::to_owned));
        serde_json::from_value::<TokenReply>(reply).unwrap().tokens(&entry, true, 1000, "refused")
    };
    let string = read(json!({ "access_token": "a", "token_type": "Bearer", "expires_in": "3599" }), None);
    assert_eq!(string.unwrap().expires_at, Some(4599), "expires_in as a string of digits");
    let slack = json!({
        "ok": true, "access_token": "xoxb-bot", "token_type": "bot", "scope": "commands",
        "authed_user": { "id": "U1", "access_token": "xoxp-user", "token_type": "user", "scope": "search:read" }
    });
    let user = read(slack, Some("/authed_user")).unwrap();
    assert_eq!((user.access_token.as_str(), user.scope.as_deref()), ("xoxp-user", Some("search:read")));
    let missing = read(json!({ "ok": true, "access_token": "xoxb-bot" }), Some("/authed_user"));
    assert_eq!(missing.unwrap_err().code, "server_error", "no user token: not the bot's instead");
    let github = read(
        json!({ "error": "bad_verification_code", "error_description": "The code passed is incorrect or expired." }),
        None,
    );
    assert_eq!(
        github.unwrap_err(),
        UpstreamError::new("bad_verification_code", "The code passed is incorrect or expired.")
    );
    let slack_error = read(json!({ "ok": false, "error": "invalid_code" }), Some("/authed_user"));
    assert_eq!(slack_error.unwrap_err(), UpstreamError::new("invalid_code", "refused"));
}

#[test]
fn iss_must_be_the_known_issuer_and_is_required_where_advertised() {
    let endpoints = |issuer: Option<&str>, iss_required| Endpoints {
        authorization: "https://as.test/auth".into(),
        token: "https://as.test/token".into(),
        refresh: "https://as.test/token".into(),
        identity: "https://as.test/me".into(),
        revocation: None,
        issuer: issuer.map(str::to_owned),
        iss_required,
        client_auth: ClientAuth::ClientSecretBasic,
    };
    let google = endpoints(Some("https://accounts.google.com"), false);
    assert_eq!(google.check_iss(Some("https://accounts.google.com")), Ok(()));
    assert_eq!(google.check_iss(None), Ok(()), "not advertised: it may be missing");
    // RFC 9207 compares the strings exactly.
    for other in ["https://evil.test", "https://accounts.google.com/", "HTTPS://accounts.google.com", ""] {
        let refused = google.check_iss(Some(other)).unwrap_err();
        assert_eq!(refused.code, "invalid_request", "{other}");
        assert!(refused.description.contains("another service"), "{other}");
    }
    let advertised = endpoints(Some("https://id.test"), true);
    assert_eq!(advertised.check_iss(Some("https://id.test")), Ok(()));
    assert_eq!(advertised.check_iss(None).unwrap_err().code, "invalid_request");
    let unknown = endpoints(None, false);
    assert_eq!(unknown.check_iss(Some("https://any.test")), Ok(()), "no issuer known: nothing to check");
}

#[test]
fn the_identity_is_read_where_the_paths_point() {
    let openid = IdentityPaths::openid();
    let id = read_identity(&json!({ "sub": "u1", "email": "a@b.test", "name": "A" }), &openid).unwrap();
    assert_eq!(id, Identity { subject: "u1".into(), login: "a@b.test".into(), name: Some("A".into()) });
    let id = read_identity(&json!({ "sub": "u1", "preferred_username": "alice" }), &openid).unwrap();
    assert_eq!(id.login, "alice", "email, else preferred username");
    assert_eq!(read_identity(&json!({ "sub": "u1" }), &openid).unwrap().login, "u1", "else the subject");
    let github = IdentityPaths { id: "/id".into(), login: vec!["/login".into()], name: None };
    assert_eq!(read_identity(&json!({ "id": 42, "login": "octo" }), &github).unwrap().subject, "42");
    let dropbox =
        IdentityPaths { id: "/account_id".into(), login: vec![], name: Some("/name/display_name".into()) };
    let id =
        read_identity(&json!({ "account_id": "dbid:x", "name": { "display_name": "D" } }), &dropbox).unwrap();
    assert_eq!(id.name.as_deref(), Some("D"));
    for bad in [json!({}), json!({ "sub": "" }), json!({ "sub": null }), json!([1])] {
        assert_eq!(
            read_identity(&bad, &openid).unwrap_err().description,
            "The service's reply names no user."
        );
    }
}

#[test]
fn subjects_are_kept_exactly_or_refused_never_cut_or_trimmed() {
    let openid = IdentityPaths::openid();
    let subject = |sub: &str| read_identity(&json!({ "sub": sub }), &openid).map(|id| id.subject);
    // Two users whose ids differ only past the 254th character, or by spaces around them,
    // stay two users.
    let (long_a, long_b) = (format!("{}a", "x".repeat(300)), format!("{}b", "x".repeat(300)));
    assert_eq!(subject(&long_a).as_deref(), Ok(long_a.as_str()));
    assert_eq!(subject(&long_b).as_deref(), Ok(long_b.as_str()));
    assert_eq!(subject(" u1 ").as_deref(), Ok(" u1 "));
    assert_eq!(subject("u1").as_deref(), Ok("u1"));
    let longest = "é".repeat(MAX_SUBJECT_BYTES / 2);
    assert_eq!(subject(&longest).as_deref(), Ok(longest.as_str()), "the limit is in bytes");
    let error = subject(&"x".repeat(MAX_SUBJECT_BYTES + 1)).unwrap_err();
    assert_eq!(
        (error.code.as_str(), error.description.as_str()),
        ("server_error", "The service's user id is longer than 1024 bytes, which this server does not keep.")
    );
    let error = subject("u\u{0}1").unwrap_err();
    assert_eq!(
        error.description, "The service's user id holds control characters.",
        "never stripped into u1"
    );
    // The login and name are only shown: cleaned and cut as before.
    let shown = read_identity(&json!({ "sub": "u1", "email": format!(" a\n{}", "b".repeat(300)) }), &openid);
    assert_eq!(shown.unwrap().login, format!("a{}", "b".repeat(252)));
}

#[test]
fn discovery_chooses_basic_unless_only_post_is_listed() {
    let of = |document: Value| client_auth_of(&document);
    assert_eq!(of(json!({})), Ok(ClientAuth::ClientSecretBasic), "absent: the specification's default");
    let both =
        json!({ "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"] });
    assert_eq!(of(both), Ok(ClientAuth::ClientSecretBasic));
    let post = json!({ "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post"] });
    assert_eq!(of(post), Ok(ClientAuth::ClientSecretPost));
    let neither = json!({ "token_endpoint_auth_methods_supported": ["private_key_jwt", "tls_client_auth"] });
    assert_eq!(of(neither).unwrap_err().code, "server_error");
}

#[tokio::test]
async fn refreshes_go_to_the_refresh_url_where_an_entry_names_one() {
    let upstream = |refresh_url: Option<&str>| Upstream {
        entry: entry_with(|e| {
            e.token_url = Some("https://{hostname}/token".into());
            e.hostname_pattern = Some("*.a.test".into());
            e.refresh_url = refresh_url.map(str::to_owned);
        }),
        client_id: "c".into(),
        client_secret: crate::providers::upstream::Secret::new("s".into()),
        revocation_secret: None,
        issuer: None,
        discover_client_auth: false,
        discovered: tokio::sync::OnceCell::new(),
    };
    let http = Http::new(Duration::from_secs(1), false).unwrap();
    let separate =
        http.endpoints(&upstream(Some("https://{hostname}/refresh")), Some("x.a.test")).await.unwrap();
    assert_eq!(
        (separate.token.as_str(), separate.refresh.as_str()),
        ("https://x.a.test/token", "https://x.a.test/refresh")
    );
    let same = http.endpoints(&upstream(None), Some("x.a.test")).await.unwrap();
    assert_eq!(same.refresh, same.token, "by default, the token endpoint");
    let ftp = entry_with(|e| e.refresh_url = Some("ftp://a.test/r".into()));
    assert!(catalogue::check(&ftp).unwrap_err().contains("not an http(s) URL"));
}
