//! `setTimeout` / `setInterval` owned RAII-style: dropped ⇒ cleared.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// A pending timeout or a running interval, cleared (and its closure freed) when dropped.
pub struct Timer {
    id: i32,
    repeats: bool,
    _closure: Closure<dyn FnMut()>,
}

impl Timer {
    /// Calls `handler` every `ms` milliseconds until dropped.
    pub fn interval(ms: i32, handler: impl FnMut() + 'static) -> Option<Timer> {
        Timer::start(ms, true, handler)
    }

    /// Calls `handler` once after `ms` milliseconds, unless dropped first.
    pub fn timeout(ms: i32, handler: impl FnMut() + 'static) -> Option<Timer> {
        Timer::start(ms, false, handler)
    }

    fn start(ms: i32, repeats: bool, handler: impl FnMut() + 'static) -> Option<Timer> {
        let window = web_sys::window()?;
        let closure = Closure::<dyn FnMut()>::new(handler);
        let callback = closure.as_ref().unchecked_ref();
        let id = if repeats {
            window.set_interval_with_callback_and_timeout_and_arguments_0(callback, ms)
        } else {
            window.set_timeout_with_callback_and_timeout_and_arguments_0(callback, ms)
        };
        Some(Timer { id: id.ok()?, repeats, _closure: closure })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            if self.repeats {
                window.clear_interval_with_handle(self.id);
            } else {
                window.clear_timeout_with_handle(self.id);
            }
        }
    }
}
