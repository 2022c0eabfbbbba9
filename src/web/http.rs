//! The two authenticated GETs of a flow, with `fetch`.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, RequestMode, Response};

/// GETs `url` with the protocol's headers; `None` when the request did not complete
/// (network failure, CORS refusal, unreadable body).
pub async fn get(url: &str, token: &str) -> Option<(u16, String)> {
    let headers = Headers::new().ok()?;
    headers.set("Authorization", &["Bearer ", token].concat()).ok()?;
    headers.set("X-Kloudless-Source", "authenticator").ok()?;
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    let request = Request::new_with_str_and_init(url, &init).ok()?;
    let response: Response =
        JsFuture::from(web_sys::window()?.fetch_with_request(&request)).await.ok()?.dyn_into().ok()?;
    let body = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
    Some((response.status(), body))
}
