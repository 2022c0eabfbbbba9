//! The browser, as `js/host.js` offers it to the module: a few plain functions over numbers
//! and UTF-8 strings in the module's memory, with JS values held in the host's table and
//! named here by [`Handle`]s.
//!
//! The host calls back into the module through the exports of [`super::events`] and
//! [`super`] (`kl_*`), handing over strings it allocated with [`kl_alloc`].

use alloc::string::String;
use alloc::vec::Vec;

#[link(wasm_import_module = "host")]
unsafe extern "C" {
    /// Forgets the JS value under a handle.
    safe fn release(handle: u32);
    /// A second handle of the same value.
    safe fn dup(handle: u32) -> u32;
    /// The value's [`Kind`] flags (0 for `undefined`, handle 0).
    safe fn kind(handle: u32) -> u32;
    /// `value[key]` as a new handle (0 for `undefined`, or when reading throws).
    fn prop(handle: u32, key: *const u8, key_len: usize) -> u32;
    /// The value if it is a number, else NaN.
    safe fn number(handle: u32) -> f64;
    /// `String(value)` into `out`; 0 when that throws.
    fn text(handle: u32, out: *mut usize) -> u32;
    /// The options object's entries as JSON (see [`crate::options::Options::parse`]) into
    /// `out`; 0 when reading them throws.
    fn entries(handle: u32, out: *mut usize) -> u32;
    /// Whether the two handles hold the same value (`===`).
    safe fn same(a: u32, b: u32) -> u32;
    /// Fills the bytes with `crypto.getRandomValues`; 0 when there is no such source.
    fn random(bytes: *mut u8, len: usize) -> u32;
    /// The page's `location.protocol + '//' + location.host` into `out`; 0 outside a window.
    fn page_origin(out: *mut usize) -> u32;
    /// The page's `location.href` without its fragment into `out`; 0 outside a window.
    fn page_url(out: *mut usize) -> u32;
    /// The origin of an absolute http(s) URL into `out` (as `new URL(url)` reads it); 0 for any
    /// other text.
    fn url_origin(url: *const u8, url_len: usize, out: *mut usize) -> u32;
    /// `screen.height` (or `screen.width` for 0); 0 when unknown.
    safe fn screen(height: u32) -> i32;
    /// `window.open(url, name, features)`: the pop-up, or 0 when blocked.
    fn open(
        url: *const u8,
        url_len: usize,
        name: *const u8,
        name_len: usize,
        features: *const u8,
        features_len: usize,
    ) -> u32;
    /// Focuses a window.
    safe fn focus(window: u32);
    /// Whether a window reads as closed (an unreadable answer reads as open).
    safe fn closed(window: u32) -> u32;
    /// Closes a window.
    safe fn close(window: u32);
    /// A hidden iframe of `url` appended to the page's body; 0 when there is no body.
    fn relay(url: *const u8, url_len: usize) -> u32;
    /// An iframe's window.
    safe fn content_window(iframe: u32) -> u32;
    /// Removes an element from the page.
    safe fn remove(element: u32);
    /// Listens for clicks on an element (or, for 0, for string `message`s on the window), each
    /// sent to the event handler `id`; returns the handle that [`undo`] removes the listener with.
    safe fn listen(element: u32, id: u32) -> u32;
    /// Listens for strings handed over on the page's own origin on the channel `name` (a
    /// `BroadcastChannel`, or `storage` events for that key where there is none), each sent to
    /// the event handler `id` as a message; returns the handle that [`undo`] stops it with.
    fn listen_returns(name: *const u8, name_len: usize, id: u32) -> u32;
    /// Whether the message being delivered comes from a window.
    safe fn from(window: u32) -> u32;
    /// The data of the message being delivered into `out`; 0 when it is longer than `max`
    /// UTF-16 code units, or when no message is being delivered.
    fn message_data(max: u32, out: *mut usize) -> u32;
    /// `setInterval` (or `setTimeout`) firing the event handler `id`; returns the handle that
    /// [`undo`] clears it with.
    safe fn timer(id: u32, ms: i32, repeat: u32) -> u32;
    /// Fires the event handler `id` once in a later task (`setTimeout(…, 0)`).
    pub safe fn later(id: u32);
    /// Starts a `fetch` whose reply goes to the event handler `id`: a [`GET`] (or an
    /// [`OPTIONS`]) with the bearer token `value`, or a [`POST`] of the form `value`. Returns the
    /// handle that [`undo`] aborts it with.
    fn request(
        url: *const u8,
        url_len: usize,
        value: *const u8,
        value_len: usize,
        method: u32,
        id: u32,
    ) -> u32;
    /// Undoes (and releases) what a handle from [`listen`], [`timer`] or [`request`] stands for.
    safe fn undo(handle: u32);
    /// Calls a function with `JSON.parse(json)`; what it throws is logged.
    fn call(function: u32, json: *const u8, json_len: usize);
    /// `console.log` (or `console.error` for level 1) of the text, and of the data of the
    /// message being delivered when `with_data` is 1.
    fn log(level: u32, text: *const u8, text_len: usize, with_data: u32);
    /// Hands a string to the JS call under way: its result, or the message of what it throws.
    fn give(text: *const u8, text_len: usize);
}

/// What [`Handle::kind`] tells about a value.
pub mod kind {
    /// Truthy.
    pub const TRUTHY: u32 = 1;
    /// `typeof` is `object`, and not `null`.
    pub const OBJECT: u32 = 2;
    /// A function.
    pub const FUNCTION: u32 = 4;
    /// A string.
    pub const STRING: u32 = 8;
    /// A DOM `Element`.
    pub const ELEMENT: u32 = 16;
}

/// A JS value held by the host, released when dropped. Handle 0 is `undefined`.
pub struct Handle(u32);

impl Clone for Handle {
    fn clone(&self) -> Handle {
        Handle(if self.0 == 0 { 0 } else { dup(self.0) })
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.0 != 0 {
            release(self.0);
        }
    }
}

impl Handle {
    /// Takes ownership of a handle the host made.
    pub fn own(handle: u32) -> Handle {
        Handle(handle)
    }

    /// Whether this is `undefined`.
    pub fn is_undefined(&self) -> bool {
        self.0 == 0
    }

    /// The value's [`kind`] flags.
    pub fn kind(&self) -> u32 {
        kind(self.0)
    }

    /// Whether the value has all the [`kind`] flags given.
    pub fn is(&self, flags: u32) -> bool {
        self.kind() & flags == flags
    }

    /// `value[key]`.
    pub fn get(&self, key: &str) -> Handle {
        Handle(unsafe { prop(self.0, key.as_ptr(), key.len()) })
    }

    /// The value if it is a number.
    pub fn number(&self) -> f64 {
        number(self.0)
    }

    /// `String(value)`; `None` where that throws.
    pub fn text(&self) -> Option<String> {
        take(|out| unsafe { text(self.0, out) })
    }

    /// The options object's entries as JSON; `None` where reading them throws.
    pub fn entries(&self) -> Option<String> {
        take(|out| unsafe { entries(self.0, out) })
    }

    /// Whether both hold the same value (`===`).
    pub fn same(&self, other: &Handle) -> bool {
        same(self.0, other.0) != 0
    }

    /// Calls this function with `JSON.parse(json)`; what it throws is logged.
    pub fn call(&self, json: &str) {
        unsafe { call(self.0, json.as_ptr(), json.len()) }
    }

    /// Focuses this window.
    pub fn focus(&self) {
        focus(self.0)
    }

    /// Whether this window reads as closed (a hint only: COOP makes an open pop-up read so too).
    pub fn is_closed(&self) -> bool {
        closed(self.0) != 0
    }

    /// Closes this window.
    pub fn close(&self) {
        close(self.0)
    }

    /// Removes this element from the page.
    pub fn remove(&self) {
        remove(self.0)
    }

    /// This iframe's window.
    pub fn content_window(&self) -> Handle {
        Handle(content_window(self.0))
    }

    /// Whether the message being delivered comes from this window.
    pub fn sent_the_message(&self) -> bool {
        from(self.0) != 0
    }

    /// The raw handle, for a host call.
    pub fn raw(&self) -> u32 {
        self.0
    }
}

/// A listener, timer or request, undone (removed, cleared, aborted) when dropped.
pub struct Undo(u32);

impl Drop for Undo {
    fn drop(&mut self) {
        undo(self.0)
    }
}

/// Clicks on `element` (or string messages to the window, for `None`) go to event handler `id`.
pub fn listen_to(element: Option<&Handle>, id: u32) -> Undo {
    Undo(listen(element.map_or(0, Handle::raw), id))
}

/// Strings handed over on the page's origin on the channel `name` go to event handler `id`.
pub fn listen_to_returns(name: &str, id: u32) -> Undo {
    Undo(unsafe { listen_returns(name.as_ptr(), name.len(), id) })
}

/// Fires event handler `id` after `ms` milliseconds, and again every `ms` if `repeat`.
pub fn start_timer(id: u32, ms: i32, repeat: bool) -> Undo {
    Undo(timer(id, ms, u32::from(repeat)))
}

/// [`start_request`]'s methods.
pub const GET: u32 = 0;
/// See [`GET`].
pub const POST: u32 = 1;
/// See [`GET`].
pub const OPTIONS: u32 = 2;

/// Starts a request to `url` (a [`GET`] or [`OPTIONS`] with bearer token `value`, or a
/// [`POST`] of form `value`) whose reply goes to event handler `id`.
pub fn start_request(url: &str, value: &str, method: u32, id: u32) -> Undo {
    Undo(unsafe { request(url.as_ptr(), url.len(), value.as_ptr(), value.len(), method, id) })
}

/// Fills `bytes` from the browser's CSPRNG; `false` when there is none.
pub fn fill_random(bytes: &mut [u8]) -> bool {
    unsafe { random(bytes.as_mut_ptr(), bytes.len()) != 0 }
}

/// The page's origin, as `location.protocol + '//' + location.host`; `None` outside a browser
/// window.
pub fn origin_of_page() -> Option<String> {
    take(|out| unsafe { page_origin(out) })
}

/// The page's URL without its fragment; `None` outside a browser window.
pub fn url_of_page() -> Option<String> {
    take(|out| unsafe { page_url(out) })
}

/// The origin of an absolute http(s) URL; `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    take(|out| unsafe { url_origin(url.as_ptr(), url.len(), out) })
}

/// The data of the message being delivered, unless it has more than `max` UTF-16 code units
/// (and so more than `max` UTF-8 bytes): a longer one is not copied into the module's memory,
/// which never shrinks.
pub fn data_of_message(max: u32) -> Option<String> {
    take(|out| unsafe { message_data(max, out) })
}

/// The screen's width and height (0 when unknown).
pub fn screen_size() -> (i32, i32) {
    (screen(0), screen(1))
}

/// Opens the pop-up; `None` when it was blocked.
pub fn open_window(url: &str, name: &str, features: &str) -> Option<Handle> {
    let window = unsafe {
        open(url.as_ptr(), url.len(), name.as_ptr(), name.len(), features.as_ptr(), features.len())
    };
    (window != 0).then_some(Handle(window))
}

/// A hidden iframe of `url`, appended to the page's body.
pub fn add_iframe(url: &str) -> Option<Handle> {
    let iframe = unsafe { relay(url.as_ptr(), url.len()) };
    (iframe != 0).then_some(Handle(iframe))
}

/// `console.log` of `text` (and of the data of the message being delivered, if `with_data`).
pub fn console_log(text: &str, with_data: bool) {
    unsafe { log(0, text.as_ptr(), text.len(), u32::from(with_data)) }
}

/// `console.error` of `text`.
pub fn console_error(text: &str) {
    unsafe { log(1, text.as_ptr(), text.len(), 0) }
}

/// Hands `text` to the JS call under way (its result, or the message it throws).
pub fn hand_over(text: &str) {
    unsafe { give(text.as_ptr(), text.len()) }
}

/// A string the host writes as (pointer, length) of memory from [`kl_alloc`] into `out`,
/// when `write` returns non-zero.
fn take(write: impl FnOnce(*mut usize) -> u32) -> Option<String> {
    let mut out = [0usize; 2];
    if write(out.as_mut_ptr()) == 0 {
        return None;
    }
    Some(unsafe { string_from(out[0] as *mut u8, out[1]) })
}

/// Takes ownership of a string the host wrote into memory from [`kl_alloc`].
///
/// # Safety
/// `ptr` must come from `kl_alloc(len)`, hold `len` bytes of UTF-8 (the host encodes with
/// `TextEncoder`, which writes nothing else), and be taken only once.
pub unsafe fn string_from(ptr: *mut u8, len: usize) -> String {
    unsafe { String::from_utf8_unchecked(Vec::from_raw_parts(ptr, len, len)) }
}

/// Memory for the host to write a `len`-byte string into, taken over by [`string_from`].
#[unsafe(no_mangle)]
pub extern "C" fn kl_alloc(len: usize) -> *mut u8 {
    let mut bytes = Vec::<u8>::with_capacity(len);
    let ptr = bytes.as_mut_ptr();
    core::mem::forget(bytes);
    ptr
}
