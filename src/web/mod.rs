//! The browser shell: the module's exports behind the JS API (`authenticator`, `stop`,
//! `setGlobalOptions`, `getGlobalOptions` in `js/api.js`), over the core, with every listener,
//! timer and request owned RAII-style. It reaches the browser only through `js/host.js`
//! ([`host`]), which calls the exports here and in [`events`].
//!
//! Nothing here runs until the API is called, so loading the module touches no browser global.

mod events;
mod globals;
mod host;
mod http;
mod instance;
mod registry;

use crate::error::Error;
use crate::options::Options;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, Ref, RefCell, RefMut};
use host::{Handle, kind};
use instance::Instance;

/// A global of the browser shell. The shell runs on wasm32 without threads (the build has no
/// `atomics`), so a plain static with interior mutability is what `thread_local!` would be
/// there, without needing std.
struct Global<T>(T);

// SAFETY: there is one thread (see above), so the value is never shared between threads.
unsafe impl<T> Sync for Global<T> {}

impl<T> core::ops::Deref for Global<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(target_feature = "atomics")]
compile_error!("the browser shell's globals assume a single thread (no `atomics`)");

/// The shell's `RefCell`: a borrow that `RefCell` would refuse with a panic (a bug: no borrow
/// is held across a call that can run page code) traps instead. That is what a panic does here
/// anyway (see `tiny-panic`), without a panic message and a caller location in the build for
/// every place that borrows.
struct Shared<T>(RefCell<T>);

impl<T> Shared<T> {
    const fn new(value: T) -> Shared<T> {
        Shared(RefCell::new(value))
    }

    fn borrow(&self) -> Ref<'_, T> {
        self.0.try_borrow().unwrap_or_else(|_| core::arch::wasm32::unreachable())
    }

    fn borrow_mut(&self) -> RefMut<'_, T> {
        self.0.try_borrow_mut().unwrap_or_else(|_| core::arch::wasm32::unreachable())
    }

    /// Puts `value` in; returns what was there.
    fn replace(&self, value: T) -> T {
        core::mem::replace(&mut *self.borrow_mut(), value)
    }
}

/// Values by number, for the host to name them by: numbers are not reused (until they wrap,
/// after 4 billion).
struct Table<T> {
    items: Shared<Vec<(u32, T)>>,
    last: Cell<u32>,
}

impl<T: Clone> Table<T> {
    const fn new() -> Table<T> {
        Table { items: Shared::new(Vec::new()), last: Cell::new(0) }
    }

    /// Adds `value`; returns its number (never 0, which the host reads as none).
    fn insert(&self, value: T) -> u32 {
        let id = self.last.get().checked_add(1).unwrap_or(1);
        self.last.set(id);
        self.items.borrow_mut().push((id, value));
        id
    }

    /// The value numbered `id`, if it is there.
    fn get(&self, id: u32) -> Option<T> {
        self.items.borrow().iter().find(|(i, _)| *i == id).map(|(_, value)| value.clone())
    }

    /// Takes out the value numbered `id` (dropping it is the caller's, outside the borrow).
    fn remove(&self, id: u32) -> Option<T> {
        let mut items = self.items.borrow_mut();
        let at = items.iter().position(|(i, _)| *i == id)?;
        Some(items.swap_remove(at).1)
    }
}

/// The authenticators the page holds, by number (what `authenticator()` returns names one).
static INSTANCES: Global<Table<Rc<Instance>>> = Global(Table::new());

/// The value of `result`, or `failed` with the error's description handed over to the JS
/// call, which throws it.
fn or_thrown<T>(result: Result<T, Error>, failed: T) -> T {
    result.unwrap_or_else(|error| {
        host::hand_over(error.description());
        failed
    })
}

/// A jQuery object stands for its first node (an empty one for no element); anything else is itself.
fn unwrap_jquery(value: Handle) -> Handle {
    if value.is(kind::OBJECT) && value.get("jquery").is(kind::STRING) { value.get("0") } else { value }
}

/// `authenticator(element, options, callback)` or `authenticator(options, callback)` (the
/// arguments are the host's handles, owned from here): the new authenticator's number, or 0
/// with the error handed over for a bad `element`, options without `client_id`, or a missing
/// callback.
///
/// `element` is an `Element` or a jQuery object; a click on it launches the pop-up.
#[unsafe(no_mangle)]
pub extern "C" fn kl_authenticator(element: u32, options: u32, callback: u32) -> u32 {
    let (element, options, callback) = (Handle::own(element), Handle::own(options), Handle::own(callback));
    or_thrown(new_instance(unwrap_jquery(element), options, callback), 0)
}

fn new_instance(element: Handle, options: Handle, callback: Handle) -> Result<u32, Error> {
    let (element, options, callback) = if element.is(kind::ELEMENT) {
        (Some(element), options, callback)
    } else if !element.is(kind::TRUTHY) {
        (None, options, callback)
    } else if callback.is(kind::TRUTHY) {
        return Err(Error::InvalidElement);
    } else {
        // No element: the arguments shift left, as in the original.
        (None, element, options)
    };
    // A non-object gives no entries (and so fails for want of a `client_id`).
    let entries =
        if options.is(kind::OBJECT) { options.entries().ok_or(Error::InvalidOptions)? } else { "[]".into() };
    let options = Options::parse(&entries)?;
    if !callback.is(kind::FUNCTION) {
        return Err(Error::InvalidCallback);
    }
    let instance = Rc::new(Instance::new(options, callback));
    if let Some(element) = element {
        registry::bind(element, Rc::clone(&instance));
    }
    Ok(INSTANCES.insert(instance))
}

/// `launch()` of authenticator `id`: opens the pop-up (call it inside a user gesture, e.g. a
/// click handler) and returns 1: a new flow started, its callback will come. While the flow is
/// pending it focuses the open pop-up instead and returns 0. -1: the error was handed over.
#[unsafe(no_mangle)]
pub extern "C" fn kl_launch(id: u32) -> i32 {
    INSTANCES.get(id).map_or(0, |instance| or_thrown(instance.launch().map(i32::from), -1))
}

/// `cancel()` of authenticator `id`: ends the pending flow, if any, with one `cancelled`
/// callback (in a later task): its pop-up closes and everything it holds is released.
#[unsafe(no_mangle)]
pub extern "C" fn kl_cancel(id: u32) {
    if let Some(instance) = INSTANCES.get(id) {
        instance.cancel();
    }
}

/// Releases authenticator `id`, which the page no longer holds; with `destroy` (its
/// `destroy()`) a pending flow also ends without a callback (its pop-up is closed, its
/// listener, timers and relay removed), and a click on its element no longer launches.
#[unsafe(no_mangle)]
pub extern "C" fn kl_release(id: u32, destroy: u32) {
    let removed = INSTANCES.remove(id);
    if let Some(instance) = removed.filter(|_| destroy != 0) {
        instance.destroy();
    }
}

/// Stops a click on `element` (an `Element` or jQuery object, a handle owned from here) from
/// launching the pop-up, and ends its pending flow, if any, with one `cancelled` callback.
#[unsafe(no_mangle)]
pub extern "C" fn kl_stop(element: u32) {
    match registry::unbind(&unwrap_jquery(Handle::own(element))) {
        Some(instance) => instance.cancel(),
        None => host::console_log("No click listener found to remove.", false),
    }
}

/// Sets the global options `{baseUrl, debug, requestTimeout, flowTimeout}` (a handle owned from
/// here); 0, with the error handed over, for a `baseUrl` that is not an http(s) URL or a timeout
/// that is not whole milliseconds ≥ 0.
#[unsafe(no_mangle)]
pub extern "C" fn kl_set_globals(options: u32) -> u32 {
    or_thrown(globals::set(&Handle::own(options)).map(|()| 1), 0)
}

/// Hands over the global options `{baseUrl, debug, requestTimeout, flowTimeout}` as JSON.
#[unsafe(no_mangle)]
pub extern "C" fn kl_get_globals() {
    host::hand_over(&globals::to_json());
}
