//! The API server's relay page (`iexd.html`) in a hidden iframe: a second window the result
//! message may come from, owned RAII-style by the pending flow.

use super::release;
use crate::popup;
use kloudless_protocol::RELAY_PATH;
use wasm_bindgen::JsCast;
use web_sys::{HtmlIFrameElement, Window};

/// The API server's relay page in a hidden iframe, removed from the page when dropped.
pub struct Relay {
    iframe: HtmlIFrameElement,
    /// The iframe's window, which its messages come from.
    pub window: Option<Window>,
}

impl Relay {
    /// Loads the relay page of the API server at `base_url`; `None` if the page has no body.
    pub fn load(window: &Window, base_url: &str) -> Option<Relay> {
        let document = window.document()?;
        let iframe: HtmlIFrameElement = document.create_element("iframe").ok()?.dyn_into().ok()?;
        iframe.set_src(&popup::api_url(base_url, RELAY_PATH));
        iframe.set_attribute("style", "display:none").ok()?;
        document.body()?.append_child(&iframe).ok()?;
        Some(Relay { window: iframe.content_window(), iframe })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        release::remove(&self.iframe);
    }
}
