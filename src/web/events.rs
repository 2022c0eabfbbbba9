//! The module's event handlers, by number: what the host's listeners, timers and requests call
//! (through the `kl_fire`, `kl_message` and `kl_reply` exports). A [`Hook`] owns a listener,
//! timer or request and its handler RAII-style, as `gloo-events` does: dropped ⇒ removed,
//! cleared or aborted, and a late event for it is ignored.

use super::host::{self, Handle, Undo, string_from};
use super::{Global, Table};
use alloc::rc::Rc;
use alloc::string::String;

/// What the host delivers to a handler.
pub enum Event {
    /// A click, or a timer firing.
    Fired,
    /// A string `message` posted to the window, from `origin`: while it is delivered,
    /// [`host::data_of_message`] reads its data.
    Message {
        /// `event.origin`.
        origin: String,
    },
    /// A request's reply: its status (0: none came) and body.
    Reply {
        /// The HTTP status; 0 when the request failed.
        status: u16,
        /// The reply's body.
        body: String,
    },
}

type Handler = Rc<dyn Fn(Event)>;

/// The handlers by number, each with whether it runs only once (and is then removed).
static HANDLERS: Global<Table<(Handler, bool)>> = Global(Table::new());

/// A listener, timer or request and its handler: dropping it removes, clears or aborts the
/// first, then removes the second.
pub struct Hook {
    _undo: Undo,
    _handler: Registered,
}

impl Hook {
    /// Hooks `handler` to what `start` starts with the handler's number.
    pub fn new(start: impl FnOnce(u32) -> Undo, handler: impl Fn(Event) + 'static) -> Hook {
        let handler = Registered(HANDLERS.insert((Rc::new(handler), false)));
        Hook { _undo: start(handler.0), _handler: handler }
    }

    /// Clicks on `element` (or, for `None`, string messages to the window) go to `handler`.
    pub fn listen(element: Option<&Handle>, handler: impl Fn(Event) + 'static) -> Hook {
        Hook::new(|id| host::listen_to(element, id), handler)
    }

    /// Strings handed over on the page's origin on the channel `name` go to `handler`.
    pub fn returns(name: &str, handler: impl Fn(Event) + 'static) -> Hook {
        Hook::new(|id| host::listen_to_returns(name, id), handler)
    }

    /// Calls `handler` after `ms` milliseconds, and every `ms` after that if `repeat`.
    pub fn timer(ms: i32, repeat: bool, handler: impl Fn() + 'static) -> Hook {
        Hook::new(|id| host::start_timer(id, ms, repeat), move |_| handler())
    }
}

/// A handler's number in the table, removed from it when dropped.
struct Registered(u32);

impl Drop for Registered {
    fn drop(&mut self) {
        // The handler is dropped after the borrow: dropping it may release what it holds.
        let removed = HANDLERS.remove(self.0);
        drop(removed);
    }
}

/// Runs `handler` once, in a later task.
pub fn later(handler: impl Fn() + 'static) {
    host::later(HANDLERS.insert((Rc::new(move |_| handler()), true)));
}

/// Delivers `event` to handler `id`, if it is still registered.
fn deliver(id: u32, event: Event) {
    let Some((handler, once)) = HANDLERS.get(id) else { return };
    if once {
        HANDLERS.remove(id);
    }
    handler(event);
}

/// A click or timer for handler `id`.
#[unsafe(no_mangle)]
pub extern "C" fn kl_fire(id: u32) {
    deliver(id, Event::Fired);
}

/// A string message from `origin` for handler `id`.
///
/// # Safety
/// As for [`kl_reply`], the origin.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kl_message(id: u32, origin: *mut u8, origin_len: usize) {
    // SAFETY: this function's contract.
    let origin = unsafe { string_from(origin, origin_len) };
    deliver(id, Event::Message { origin });
}

/// A request's reply for handler `id`.
///
/// # Safety
/// The string must be the host's, from `kl_alloc`, holding UTF-8, handed over once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kl_reply(id: u32, status: u16, body: *mut u8, body_len: usize) {
    // SAFETY: this function's contract.
    let body = unsafe { string_from(body, body_len) };
    deliver(id, Event::Reply { status, body });
}
