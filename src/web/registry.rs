//! Which element launches which instance, by element identity (not `outerHTML`).

use super::events::Hook;
use super::host::{self, Handle};
use super::instance::Instance;
use super::{Global, Shared};
use alloc::rc::Rc;
use alloc::vec::Vec;

/// A click binding: dropping it removes the listener and releases the instance.
struct Binding {
    _click: Hook,
    element: Handle,
    instance: Rc<Instance>,
}

static BINDINGS: Global<Shared<Vec<Binding>>> = Global(Shared::new(Vec::new()));

/// Makes a click on `element` launch `instance`, replacing the element's previous binding.
pub fn bind(element: Handle, instance: Rc<Instance>) {
    let replaced = unbind(&element);
    drop(replaced);
    let launcher = Rc::clone(&instance);
    let click = Hook::listen(Some(&element), move |_| {
        if let Err(error) = launcher.launch() {
            host::console_error(error.description());
        }
    });
    BINDINGS.borrow_mut().push(Binding { _click: click, element, instance });
}

/// Removes `element`'s binding; returns the instance it launched (`None` if it had none).
pub fn unbind(element: &Handle) -> Option<Rc<Instance>> {
    take(|binding| binding.element.same(element)).map(|binding| binding.instance)
}

/// Removes every binding that launches `instance`.
pub fn unbind_instance(instance: &Rc<Instance>) {
    while let Some(binding) = take(|binding| Rc::ptr_eq(&binding.instance, instance)) {
        drop(binding);
    }
}

/// Takes out the first binding that `matches`. The caller drops it outside the borrow: removing
/// its listener runs page code (a patched `removeEventListener`) that may call the registry again.
fn take(matches: impl Fn(&Binding) -> bool) -> Option<Binding> {
    let mut bindings = BINDINGS.borrow_mut();
    let at = bindings.iter().position(matches)?;
    Some(bindings.swap_remove(at))
}
