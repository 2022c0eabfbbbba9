//! The configuration's unit tests: flags, defaults and every key's checks.

use super::*;
use crate::accounts::settings::Refresh;
use crate::providers::upstream::Secret;

fn args(list: &[&str]) -> Result<Command, String> {
    Config::from_args(list.iter().map(|s| s.to_string())).map_err(|e| e.to_string())
}

fn from_toml(text: &str, listen: SocketAddr, database: Database) -> Result<Config, String> {
    Config::from_toml(text, listen, database).map_err(|e| e.to_string())
}

#[test]
fn defaults() {
    let Ok(Command::Run(config)) = args(&[]) else { panic!("defaults must parse") };
    assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(config.database, Database::Sqlite("data/authenticator.sqlite".into()));
    assert_eq!(
        config.apps,
        vec![App {
            client_id: "demo".into(),
            trusted_domains: [
                "localhost:8080",
                "127.0.0.1:8080",
                "localhost:8000",
                "localhost:5173",
                "localhost:4173"
            ]
            .map(|entry| TrustedDomain::LocalDev {
                host: entry.split_once(':').unwrap().0.into(),
                port: Some(entry.split_once(':').unwrap().1.parse().unwrap()),
            })
            .to_vec(),
            #[cfg(feature = "test-support")]
            fault: None,
            api_key: None,
            allow_credentials: false,
            require_sign_in_token: false,
            return_urls: vec![url::Url::parse("http://localhost:8080/").unwrap()],
            redirect_uris: vec![],
            public: false,
            webhook: None,
            branding: Default::default(),
        }]
    );
    assert_eq!(config.sign_in.token_ttl, sign_in::DEFAULT_TOKEN_TTL);
}

#[test]
fn flags_and_errors() {
    let Ok(Command::Run(config)) = args(&["--listen", "127.0.0.1:0", "--database", "x.db"]) else { panic!() };
    assert_eq!(config.listen.port(), 0);
    assert_eq!(config.database, Database::Sqlite("x.db".into()));
    assert_eq!(args(&["--help"]), Ok(Command::Help));
    assert!(args(&["--listen"]).unwrap_err().contains("a value is required for '--listen <ADDR>'"));
    assert!(args(&["--listen", "nowhere"]).unwrap_err().contains("not an address"));
    assert!(args(&["--verbose"]).unwrap_err().contains("unexpected argument '--verbose'"));
    assert!(args(&["--config", "/nonexistent.toml"]).unwrap_err().contains("cannot read"));
}

#[cfg(feature = "test-support")]
#[test]
fn latency_flag() {
    let Ok(Command::Run(config)) = args(&[]) else { panic!() };
    assert_eq!(config.latency, Duration::ZERO, "off by default");
    let Ok(Command::Run(config)) = args(&["--latency-ms", "50"]) else { panic!() };
    assert_eq!(config.latency, Duration::from_millis(50));
    for bad in ["-1", "fast", "1.5", "60001", ""] {
        assert!(
            args(&["--latency-ms", bad])
                .unwrap_err()
                .contains(&format!("invalid value '{bad}' for '--latency-ms")),
            "{bad}"
        );
    }
    assert!(args(&["--latency-ms"]).unwrap_err().contains("a value is required for '--latency-ms"));
}

#[test]
fn connection_flags() {
    let Ok(Command::Run(config)) = args(&[]) else { panic!() };
    assert_eq!(config.connections.header_timeout, Duration::from_secs(10));
    assert_eq!(config.connections.idle_timeout, Duration::from_secs(60));
    assert_eq!(config.connections.write_timeout, Duration::from_secs(30));
    assert_eq!(config.connections.max_connections, serve::default_max_connections());
    let Ok(Command::Run(config)) = args(&[
        "--header-timeout-secs",
        "2",
        "--idle-timeout-secs",
        "3",
        "--write-timeout-secs",
        "4",
        "--max-connections",
        "50",
    ]) else {
        panic!()
    };
    assert_eq!(
        config.connections.check(),
        Ok(serve::Limits {
            header_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(3),
            write_timeout: Duration::from_secs(4),
            max_connections: 50,
        })
    );
    let Ok(Command::Run(config)) = args(&["--header-timeout-secs", "5", "--idle-timeout-secs", "5"]) else {
        panic!("equal timeouts are fine")
    };
    assert_eq!(config.connections.idle_timeout, Duration::from_secs(5));
    for flag in ["--header-timeout-secs", "--idle-timeout-secs", "--write-timeout-secs"] {
        for bad in ["0", "-1", "1.5", "ten", "", "3601"] {
            let error = args(&[flag, bad]).unwrap_err();
            assert!(error.contains(&format!("invalid value '{bad}' for '{flag} <S>'")), "{error}");
        }
        assert!(args(&[flag]).unwrap_err().contains(&format!("a value is required for '{flag} <S>'")));
    }
    for bad in ["0", "-1", "many", "", "1000001"] {
        let error = args(&["--max-connections", bad]).unwrap_err();
        assert!(error.contains(&format!("invalid value '{bad}' for '--max-connections <N>'")), "{error}");
    }
    assert!(args(&["--max-connections"]).unwrap_err().contains("a value is required for '--max-connections"));
    // The default idle timeout (60 s) is shorter than this header timeout.
    let error = args(&["--header-timeout-secs", "61"]).unwrap_err();
    assert!(
        error.contains("--idle-timeout-secs (60s) must be at least --header-timeout-secs (61s)"),
        "{error}"
    );
}

#[test]
fn connection_limits_are_checked_on_the_struct_too() {
    let at = "127.0.0.1:1".parse().unwrap();
    let toml = "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n";
    let config = from_toml(toml, at, "d".into()).unwrap();
    assert_eq!(
        config.connections.header_timeout,
        serve::DEFAULT_HEADER_TIMEOUT,
        "from_toml has the defaults"
    );
    assert_eq!(config.connections.idle_timeout, serve::DEFAULT_IDLE_TIMEOUT);
    assert_eq!(config.connections.write_timeout, serve::DEFAULT_WRITE_TIMEOUT);
    assert!(config.connections.check().is_ok());
    let short = Duration::from_millis(500);
    let ok = serve::Limits { header_timeout: short, idle_timeout: short, ..config.connections };
    assert!(ok.check().is_ok(), "sub-second timeouts are for tests");
    for bad in [
        serve::Limits { header_timeout: Duration::ZERO, ..config.connections },
        serve::Limits { idle_timeout: Duration::from_secs(3601), ..config.connections },
        serve::Limits { write_timeout: Duration::ZERO, ..config.connections },
        serve::Limits { write_timeout: Duration::from_secs(3601), ..config.connections },
        serve::Limits {
            header_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(1),
            ..config.connections
        },
        serve::Limits { max_connections: 0, ..config.connections },
    ] {
        assert!(bad.check().is_err(), "{bad:?}");
    }
}

#[test]
fn return_urls_are_exact_pages_on_a_trusted_domain() {
    let at = "127.0.0.1:1".parse().unwrap();
    let app = |urls: &str| {
        let toml = format!(
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"https://a.test\", \"localhost:3000\"]\n\
             return_urls = [{urls}]\n"
        );
        from_toml(&toml, at, "d".into())
    };
    let config = app("\"https://a.test/return\", \"http://localhost:3000/cb.html\"").unwrap();
    let urls: Vec<String> = config.apps[0].return_urls.iter().map(ToString::to_string).collect();
    assert_eq!(urls, ["https://a.test/return", "http://localhost:3000/cb.html"]);
    assert!(app("").unwrap().apps[0].return_urls.is_empty());
    for (bad, why) in [
        ("/return", "not an absolute URL"),
        ("blob:https://a.test/x", "not an http or https URL"),
        ("https://u:p@a.test/r", "credentials"),
        ("https://a.test/r?next=x", "query or a fragment"),
        ("https://a.test/r?", "query or a fragment"),
        ("https://a.test/r#x", "query or a fragment"),
        ("https://a.test//evil.test/", "starting with //"),
        ("https://b.test/r", "not on a Trusted Domain"),
        ("http://a.test/r", "not on a Trusted Domain"),
    ] {
        let error = app(&format!("{bad:?}")).unwrap_err();
        assert!(error.starts_with("apps[0]: return_urls:") && error.contains(why), "{bad}: {error}");
    }
}

#[test]
fn redirect_uris_are_exact_https_urls_and_need_a_secret_or_pkce() {
    let at = "127.0.0.1:1".parse().unwrap();
    let app = |extra: &str| {
        let toml = format!("[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n{extra}\n");
        from_toml(&toml, at, "d".into())
    };
    let key = "api_key = \"k-0123456789abcdef0123456789\"\n";
    let good = "\"https://a.test/cb?x=1\", \"http://localhost:3000/cb\", \"http://127.0.0.1/\", \"http://[::1]:8/c\"";
    let config = app(&format!("{key}redirect_uris = [{good}]")).unwrap();
    assert_eq!(
        config.apps[0].redirect_uris,
        ["https://a.test/cb?x=1", "http://localhost:3000/cb", "http://127.0.0.1/", "http://[::1]:8/c"]
    );
    assert!(!config.apps[0].public);
    assert!(app("public = true\nredirect_uris = [\"https://a.test/cb\"]").unwrap().apps[0].public);
    let error = app("redirect_uris = [\"https://a.test/cb\"]").unwrap_err();
    assert!(error.starts_with("apps[0]: redirect_uris needs an api_key"), "{error}");
    for (bad, why) in [
        ("/cb", "not an absolute URL"),
        ("http://a.test/cb", "not an https URL"),
        ("http://localhost.evil.test/cb", "not an https URL"),
        ("ftp://localhost/cb", "not an https URL"),
        ("https://u:p@a.test/cb", "credentials"),
        ("https://a.test/cb#x", "fragment"),
        ("https://a.test", "exact URL \"https://a.test/\""),
        ("HTTPS://a.test/cb", "exact URL"),
    ] {
        let error = app(&format!("{key}redirect_uris = [{bad:?}]")).unwrap_err();
        assert!(error.starts_with("apps[0]: redirect_uris:") && error.contains(why), "{bad}: {error}");
    }
}

#[test]
fn a_webhook_takes_its_secret_inline_from_the_environment_or_a_file_and_needs_a_url() {
    let at = "127.0.0.1:1".parse().unwrap();
    let app = |extra: &str| {
        let toml = format!("[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n{extra}\n");
        from_toml(&toml, at, "d".into())
    };
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let url = "webhook_url = \"https://hooks.example.com/in\"\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webhook.secret");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    // SAFETY: this test alone reads or writes this variable.
    unsafe { std::env::set_var("CONFIG_TEST_WEBHOOK_SECRET", secret) };
    for given in [
        format!("webhook_secret = {secret:?}"),
        "webhook_secret_env = \"CONFIG_TEST_WEBHOOK_SECRET\"".to_owned(),
        format!("webhook_secret_file = {:?}", file.to_str().unwrap()),
    ] {
        let config = app(&format!("{url}{given}\nwebhook_events = [\"account.inactive\"]")).unwrap();
        let webhook = config.apps[0].webhook.as_ref().unwrap();
        assert_eq!((webhook.url.as_str(), webhook.secret.expose()), ("https://hooks.example.com/in", secret));
        assert!(webhook.wants("account.inactive") && !webhook.wants("account.connected"), "{given}");
    }
    for (extra, why) in [
        (url.to_owned(), "webhook_url needs webhook_secret"),
        (format!("webhook_secret = {secret:?}"), "need a webhook_url"),
        ("webhook_events = []".to_owned(), "need a webhook_url"),
        (
            format!("{url}webhook_secret_env = \"CONFIG_TEST_UNSET_VARIABLE\""),
            "CONFIG_TEST_UNSET_VARIABLE is not set",
        ),
        (
            format!("{url}webhook_secret = {secret:?}\nwebhook_events = [\"account.gone\"]"),
            "not an event type",
        ),
    ] {
        let error = app(&extra).unwrap_err();
        assert!(error.starts_with("apps[0]: ") && error.contains(why), "{extra}: {error}");
    }
}

#[test]
fn the_raw_apis_body_limit_defaults_to_100_mib_and_is_at_least_one_byte() {
    let at = "127.0.0.1:1".parse().unwrap();
    let app = "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\n";
    let config = from_toml(app, at, "d".into()).unwrap();
    assert_eq!(config.accounts.raw_max_body, 100 * 1024 * 1024);
    let config = from_toml(&format!("raw_max_body_bytes = 5000000000\n{app}"), at, "d".into());
    assert_eq!(config.unwrap().accounts.raw_max_body, 5_000_000_000, "more than 4 GiB may be allowed");
    for bad in ["raw_max_body_bytes = 0", "raw_max_body_bytes = -1", "raw_max_body_bytes = \"1M\""] {
        let error = from_toml(&format!("{bad}\n{app}"), at, "d".into()).unwrap_err();
        assert!(error.contains("raw_max_body_bytes"), "{bad}: {error}");
    }
}

#[test]
fn toml_is_checked() {
    let at = "127.0.0.1:1".parse().unwrap();
    let ok = "www_dir = \"/w\"\n[[apps]]\nclient_id = \"a\"\n\
              trusted_domains = [\"https://x.test\", \"http://y.test:8080\", \"localhost:3000\"]\n";
    let config = from_toml(ok, at, "d".into()).unwrap();
    assert_eq!(config.pages.www_dir, PathBuf::from("/w"));
    assert_eq!(
        config.app("a").unwrap().trusted_domains,
        ["https://x.test", "http://y.test:8080", "localhost:3000"].map(|e| e.parse().unwrap())
    );
    for bad in [
        "[[apps]]\nclient_id = \"a\"\n",
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\ncolour = 1\n",
        "[[apps]]\nclient_id = \"\"\ntrusted_domains = []\n",
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n",
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"a.test; script-src *\"]\n",
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"https://a.test/\"]\n",
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"a.test\"]\n",
        "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\nfault = { endpoint = \"token\", kind = \"drop\" }\n",
        "apps = 3",
        "not toml at all [",
    ] {
        assert!(from_toml(bad, at, "d".into()).is_err(), "{bad}");
    }
}

#[test]
fn the_refresh_table_has_defaults_can_turn_the_sweep_off_and_is_checked() {
    let at = "127.0.0.1:1".parse().unwrap();
    let apps = "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n";
    let load = |extra: &str| from_toml(&format!("{apps}{extra}"), at, "d".into());
    assert_eq!(load("").unwrap().accounts.refresh, Refresh::default());
    let set = load("[refresh]\nsweep_interval_secs = 60\nidle_refresh_after_secs = 600\n").unwrap();
    assert_eq!(set.accounts.refresh, Refresh { sweep_interval_secs: 60, idle_refresh_after_secs: 600 });
    let off = load("[refresh]\nsweep_interval_secs = 0\n").unwrap();
    assert_eq!(
        (off.accounts.refresh.interval(), off.accounts.refresh.idle_after()),
        (None, Duration::from_secs(86_400))
    );
    for (bad, error) in [
        (
            "[refresh]\nsweep_interval_secs = 86401\n",
            "sweep_interval_secs 86401 is not from 0 (off) to 86400",
        ),
        ("[refresh]\nidle_refresh_after_secs = 60\n", "idle_refresh_after_secs 60 is not from 300 to"),
        ("[refresh]\nsweep_interval_secs = -1\n", "sweep_interval_secs"),
        ("[refresh]\nmargin_secs = 10\n", "unknown field"),
    ] {
        let text = load(bad).unwrap_err();
        assert!(text.contains(error), "{bad}: {text}");
    }
}

#[test]
fn an_apps_api_key_comes_from_the_file_a_variable_or_a_file_and_is_never_printed() {
    let at = "127.0.0.1:1".parse().unwrap();
    let app = |extra: &str| format!("[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n{extra}\n");
    let key = "k".repeat(MIN_API_KEY_LEN);
    let config = from_toml(&app(&format!("api_key = \"{key}\"")), at, "d".into()).unwrap();
    assert_eq!(config.apps[0].api_key.as_ref().map(Secret::expose), Some(key.as_str()));
    assert!(!format!("{config:?}").contains(&key), "never in Debug output");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{key}\nignored\n")).unwrap();
    let from_file = app(&format!("api_key_file = \"{}\"", file.display()));
    let config = from_toml(&from_file, at, "d".into()).unwrap();
    assert_eq!(config.apps[0].api_key.as_ref().map(Secret::expose), Some(key.as_str()));
    assert_eq!(from_toml(&app(""), at, "d".into()).unwrap().apps[0].api_key, None);
    for (extra, error) in [
        ("api_key = \"short\"".to_owned(), "at least 24 characters"),
        (format!("api_key = \"{key}\"\napi_key_env = \"X\""), "only one of"),
        ("api_key_env = \"KLOUDLESS_TEST_UNSET_VARIABLE\"".to_owned(), "is not set"),
    ] {
        let error_text = from_toml(&app(&extra), at, "d".into()).unwrap_err();
        assert!(error_text.contains(error) && !error_text.contains(&key), "{error_text}");
    }
    let twice = format!(
        "{}[[apps]]\nclient_id = \"b\"\ntrusted_domains = []\napi_key = \"{key}\"\n",
        app(&format!("api_key = \"{key}\""))
    );
    assert!(from_toml(&twice, at, "d".into()).unwrap_err().contains("the same as another app's"));
}

#[test]
fn sign_in_tokens_are_required_per_app_with_an_api_key_and_their_lifetime_is_bounded() {
    let at = "127.0.0.1:1".parse().unwrap();
    let key = "k".repeat(MIN_API_KEY_LEN);
    let load = |top: &str, extra: &str| {
        let toml = format!("{top}\n[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n{extra}\n");
        from_toml(&toml, at, "d".into())
    };
    let config =
        load("sign_in_token_ttl_secs = 2", &format!("api_key = \"{key}\"\nrequire_sign_in_token = true"))
            .unwrap();
    assert!(config.apps[0].require_sign_in_token);
    assert_eq!(config.sign_in.token_ttl, Duration::from_secs(2));
    assert!(load("", "require_sign_in_token = true").unwrap_err().contains("needs an api_key"));
    for bad in ["sign_in_token_ttl_secs = 0", "sign_in_token_ttl_secs = 3601"] {
        assert!(load(bad, "").unwrap_err().contains("is not from 1 to 3600"), "{bad}");
    }
}

#[test]
fn bare_entries_other_than_loopback_are_refused() {
    let at = "127.0.0.1:1".parse().unwrap();
    let load = |entries: &str| {
        let toml = format!(
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\n\
             [[apps]]\nclient_id = \"b\"\ntrusted_domains = [{entries}]\n"
        );
        from_toml(&toml, at, "d".into())
    };
    for (entry, suggestion) in [
        ("app.example.com", "https://app.example.com"),
        ("app.example.com:443", "https://app.example.com:443"),
    ] {
        assert_eq!(
            load(&format!("\"https://ok.test\", \"{entry}\"")).unwrap_err(),
            format!(
                "apps[1]: trusted domain \"{entry}\" has no scheme: write \"{suggestion}\" (bare \
                 host:port entries are only for localhost, 127.0.0.1 and [::1])"
            )
        );
    }
    let loopback = load("\"127.0.0.1\", \"[::1]:8080\", \"LOCALHOST:5173\"").unwrap();
    assert_eq!(
        loopback.apps[1].trusted_domains.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["127.0.0.1", "[::1]:8080", "localhost:5173"]
    );
    for bad in [
        "\"https://a.test/x\"",
        "\"*\"",
        "\"https://u@a.test\"",
        "\"https://a.test?q\"",
        "\"ftp://a.test\"",
        "\"https://a.test:0\"",
    ] {
        assert!(load(bad).unwrap_err().starts_with("apps[1]: trusted domain "), "{bad}");
    }
}

/// Without the `test-support` feature (the release binary), the test knobs do not exist.
#[cfg(not(feature = "test-support"))]
#[test]
fn the_test_knobs_are_unknown_without_the_test_support_feature() {
    for flag in [&["--test-faults"][..], &["--latency-ms", "50"]] {
        let error = args(flag).unwrap_err();
        assert!(error.contains(&format!("unexpected argument '{}'", flag[0])), "{error}");
    }
    let at = "127.0.0.1:1".parse().unwrap();
    let toml = "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n\
                fault = { endpoint = \"token\", kind = \"drop\" }\n";
    let error = from_toml(toml, at, "d".into()).unwrap_err();
    assert!(error.starts_with("apps[0]: fault is a test-only setting"), "{error}");
}

#[test]
fn errors_name_the_key_at_fault() {
    let at = "127.0.0.1:1".parse().unwrap();
    let app =
        |name: &str, extra: &str| format!("[[apps]]\nclient_id = \"{name}\"\ntrusted_domains = []\n{extra}");
    let key_of = |toml: &str| match Config::from_toml(toml, at, "d".into()) {
        Err(ConfigError::Value { key, .. }) => key,
        other => panic!("{toml}: {other:?}"),
    };
    let two = format!("{}{}", app("a", ""), app("b", "return_urls = [\"/r\"]\n"));
    assert_eq!(key_of(&two), "apps[1]");
    assert_eq!(key_of(&format!("upstream_timeout_secs = 0\n{}", app("a", ""))), "upstream_timeout_secs");
    assert_eq!(key_of(&format!("public_url = \"https://a.test/x\"\n{}", app("a", ""))), "public_url");
    assert_eq!(key_of(&format!("{}[popup_flows]\nmax_per_app = 0\n", app("a", ""))), "popup_flows");
    assert!(matches!(Config::from_toml("apps = 3", at, "d".into()), Err(ConfigError::Syntax(_))));
}
