//! The pop-up's languages: `Accept-Language` (q-values honoured) chooses the pages' language,
//! the `locale` parameter wins over it and is kept through the flow, and anything unknown falls
//! back to English.

mod common;

use common::{Reply, Target, TestApp, TestServer, popup_query};
use reqwest::Method;

/// The binding cookie of the one browser the requests come from.
const BROWSER: &str = "kloudless-browser=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// The router with the app `app` (trusting `localhost:3000`), branded "Acme".
async fn app() -> TestApp {
    let toml = "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n\
                [apps.branding]\nname = \"Acme\"\n";
    TestServer::with(toml).browser(BROWSER).app().await
}

/// The pop-up's page for `scope` with `extra` parameters, from a browser that sends
/// `Accept-Language: accept` (none when empty).
async fn page(app: &TestApp, scope: &str, extra: &[(&str, &str)], accept: &str) -> Reply {
    let path = format!("/v1/oauth?{}", popup_query("app", "http://localhost:3000", scope, extra));
    let headers: Vec<(&str, &str)> =
        [("Accept-Language", accept)].into_iter().filter(|_| !accept.is_empty()).collect();
    app.send(Method::GET, &path, &headers, b"").await
}

/// The page's `<html lang>`.
fn lang(reply: &Reply) -> &str {
    let start = reply.body.find("<html lang=\"").expect("an html element") + "<html lang=\"".len();
    &reply.body[start..start + reply.body[start..].find('"').unwrap()]
}

#[tokio::test]
async fn accept_language_chooses_the_language_by_its_weights() {
    let app = app().await;
    let german = page(&app, "storage", &[], "de-DE,de;q=0.9,en;q=0.8").await;
    assert_eq!(german.status, 200);
    assert_eq!(lang(&german), "de");
    assert!(german.body.contains("<b>Acme</b> möchte eines Ihrer Konten verbinden"), "{}", german.body);
    assert!(german.body.contains("<title>Konto verbinden</title>"));
    assert!(german.body.contains(">Abbrechen</button>"));
    let japanese = page(&app, "storage", &[], "ko;q=1, fr;q=0.4, ja;q=0.9").await;
    assert_eq!(lang(&japanese), "ja", "the most wanted of ours, by q, an unknown one skipped");
    assert!(japanese.body.contains("<b>Acme</b> があなたのアカウントへの接続を求めています"));
    let english = page(&app, "storage", &[], "").await;
    assert_eq!(lang(&english), "en");
    assert!(english.body.contains("<b>Acme</b> wants to connect one of your accounts"));
}

#[tokio::test]
async fn the_locale_parameter_wins_and_is_kept_through_the_flow() {
    let app = app().await;
    let chooser = page(&app, "storage", &[("locale", "es-MX")], "de-DE").await;
    assert_eq!(lang(&chooser), "es");
    assert!(chooser.body.contains("<input type=\"hidden\" name=\"locale\" value=\"es-MX\">"));
    // The chooser's GET form → the connect page, still in Spanish.
    let form = page(&app, "storage", &[("locale", "es-MX"), ("service", "box")], "de-DE").await;
    assert_eq!(lang(&form), "es");
    assert!(form.body.contains("<h1>Conecta tu cuenta de Box (demo)</h1>"), "{}", form.body);
    // The connect page's POST → the result page, in Spanish though the browser asks for German.
    let body = format!(
        "{}&service=box&account=ann&action=connect",
        popup_query("app", "http://localhost:3000", "storage", &[("locale", "es-MX")],)
    );
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept-Language", "de-DE")];
    let result = app.send(Method::POST, "/v1/oauth", &headers, body.as_bytes()).await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert_eq!(lang(&result), "es");
    assert!(result.body.contains("Cuenta conectada."), "{}", result.body);
}

#[tokio::test]
async fn an_unknown_or_malformed_locale_is_ignored() {
    let app = app().await;
    let malformed = page(&app, "storage", &[("locale", "<script>")], "fr-CA").await;
    assert_eq!(lang(&malformed), "fr", "a malformed tag: Accept-Language");
    assert!(malformed.body.contains("souhaite connecter l’un de vos comptes"));
    let unknown = page(&app, "storage", &[("locale", "ko-KR")], "it-IT").await;
    assert_eq!(lang(&unknown), "en", "neither is ours: English");
}

#[tokio::test]
async fn error_pages_follow_the_request_language() {
    let app = app().await;
    let path =
        format!("/v1/oauth?{}", popup_query("nope", "http://localhost:3000", "storage", &[("locale", "ja")]));
    let refused = app.send(Method::GET, &path, &[("Accept-Language", "de")], b"").await;
    assert_eq!(refused.status, 400);
    assert_eq!(lang(&refused), "ja");
    assert!(refused.body.contains("<h1>この接続を開始できませんでした</h1>"), "{}", refused.body);
    assert!(refused.body.contains("エラーコード <code>invalid_client</code>"), "the code stays marked up");
    assert!(
        refused.body.contains("<p data-why>このアプリはこのサーバーに登録されていません"),
        "the setup error's own sentence"
    );
    let path = format!("/v1/oauth?{}", popup_query("nope", "http://localhost:3000", "storage", &[]));
    let german = app.send(Method::GET, &path, &[("Accept-Language", "de")], b"").await;
    assert!(german.body.contains("<h1>Diese Verbindung konnte nicht starten</h1>"), "{}", german.body);
}

#[tokio::test]
async fn a_password_entrys_form_says_in_each_language_that_the_password_is_not_kept() {
    let toml = "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n\
                [apps.branding]\nname = \"Acme\"\n\
                [[providers]]\nid = \"sugarcrm\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
    let app = TestServer::with(toml).browser(BROWSER).app().await;
    let said = [
        ("en", "in exchange for a token kept sealed on this server: your password is not kept."),
        ("de", "Ihr Passwort wird nicht gespeichert."),
        ("fr", "votre mot de passe n’est pas conservé."),
        ("es", "tu contraseña no se guarda."),
        ("ja", "パスワードは保存されません。"),
    ];
    for (locale, sentence) in said {
        let form = page(&app, "sugarcrm", &[("locale", locale), ("service", "sugarcrm")], "").await;
        assert_eq!((form.status, lang(&form)), (200, locale), "{}", form.body);
        assert!(form.body.contains(sentence), "{locale}: {}", form.body);
        assert!(!form.body.contains("to check it"), "{locale}: not the kept credential's sentence");
    }
}
