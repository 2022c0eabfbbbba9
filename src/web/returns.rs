//! The same-origin channel that the return page a pop-up came back to hands its one-time code
//! over on (see [`crate::progress`]), owned RAII-style by the pending flow.

use super::events::Listener;
use super::release;
use crate::progress;
use wasm_bindgen::prelude::*;
use web_sys::{Event, MessageEvent, StorageEvent, Window};

/// The same-origin channel handed-over codes come on: a `BroadcastChannel`, or `storage`
/// events where there is none. Closed when dropped.
pub enum Returns {
    /// A `BroadcastChannel` and its listener.
    Channel { channel: web_sys::BroadcastChannel, _listener: Listener },
    /// A `storage` listener.
    Storage { _listener: Listener },
    /// Neither could be had.
    None,
}

impl Returns {
    /// Listens on this page's origin, handing each value to `on_data`.
    pub fn listen(window: &Window, on_data: impl Fn(JsValue) + 'static) -> Returns {
        if !js_sys::Reflect::has(window, &"BroadcastChannel".into()).unwrap_or(false) {
            let listener = Listener::new(window, "storage", move |event: Event| {
                let event: StorageEvent = event.unchecked_into();
                if event.key().as_deref() == Some(progress::RETURN_CHANNEL)
                    && let Some(value) = event.new_value()
                {
                    on_data(JsValue::from_str(&value));
                }
            });
            return Returns::Storage { _listener: listener };
        }
        match web_sys::BroadcastChannel::new(progress::RETURN_CHANNEL) {
            Ok(channel) => {
                let listener = Listener::new(&channel, "message", move |event: Event| {
                    on_data(event.unchecked_into::<MessageEvent>().data())
                });
                Returns::Channel { channel, _listener: listener }
            }
            Err(_) => Returns::None,
        }
    }
}

impl Drop for Returns {
    fn drop(&mut self) {
        if let Returns::Channel { channel, .. } = self {
            release::close(channel);
        }
    }
}
