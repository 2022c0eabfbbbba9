//! An app's branding over real HTTP: its logo file served by this server under a policy that
//! runs nothing, and its pages' policy allowing images from where its logo is, and only there.

mod common;

use common::{Reply, TestServer};

/// The pop-up's first page for the app `client_id`, as a browser asks for it.
async fn chooser(server: &TestServer, client_id: &str) -> Reply {
    let query = [
        ("client_id", client_id),
        ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
        ("response_type", "token"),
        ("state", "s"),
        ("request_id", "r"),
        ("origin", "http://localhost:3000"),
    ];
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
    Reply::of(server.get(&format!("/v1/oauth?{query}"))).await
}

#[tokio::test]
async fn a_logo_file_is_served_sandboxed_and_only_its_apps_pages_load_images() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(&logo, "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>")
        .unwrap();
    let toml = format!(
        "[[apps]]\nclient_id = \"filed\"\ntrusted_domains = [\"localhost:3000\"]\n\
         [apps.branding]\nlogo_file = {:?}\n\
         [[apps]]\nclient_id = \"linked\"\ntrusted_domains = [\"localhost:3000\", \"https://app.test\"]\n\
         [apps.branding]\nlogo_url = \"https://app.test/logo.png\"\n\
         [[apps]]\nclient_id = \"plain\"\ntrusted_domains = [\"localhost:3000\"]\n",
        logo.display().to_string()
    );
    let server = TestServer::start(&toml).await;

    let served = Reply::of(server.get("/v1/oauth/logo?client_id=filed")).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type"), Some("image/svg+xml"));
    let csp = served.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'") && csp.ends_with("sandbox"), "{csp}");
    assert!(served.body.contains("<script>"), "the file as given");
    for missing in ["/v1/oauth/logo?client_id=linked", "/v1/oauth/logo?client_id=nope", "/v1/oauth/logo"] {
        assert_eq!(Reply::of(server.get(missing)).await.status, 404, "{missing}");
    }

    let page = chooser(&server, "filed").await;
    assert!(page.body.contains("src=\"/v1/oauth/logo?client_id=filed\""), "{}", page.body);
    assert!(page.header("content-security-policy").unwrap().contains("; img-src 'self'; "));
    let page = chooser(&server, "linked").await;
    assert!(page.body.contains("src=\"https://app.test/logo.png\""), "{}", page.body);
    assert!(page.header("content-security-policy").unwrap().contains("; img-src https://app.test; "));
    let page = chooser(&server, "plain").await;
    assert!(!page.body.contains("<img"));
    assert!(
        !page.header("content-security-policy").unwrap().contains("img-src"),
        "default-src 'none' applies"
    );
    server.stop().await;
}
