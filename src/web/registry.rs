//! Which element launches which instance, by element identity (not `outerHTML`).

use super::events::Listener;
use super::instance::Instance;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use web_sys::Element;

/// A click binding: dropping it removes the listener and releases the instance.
struct Binding {
    _click: Listener,
    element: Element,
    instance: Rc<Instance>,
}

thread_local! {
    static BINDINGS: RefCell<Vec<Binding>> = const { RefCell::new(Vec::new()) };
}

/// Makes a click on `element` launch `instance`, replacing the element's previous binding.
pub fn bind(element: Element, instance: Rc<Instance>) {
    let replaced = unbind(&element);
    drop(replaced);
    let launcher = Rc::clone(&instance);
    let click = Listener::new(&element, "click", move |_| {
        if let Err(error) = launcher.launch() {
            web_sys::console::error_1(&JsValue::from_str(error.description()));
        }
    });
    BINDINGS.with_borrow_mut(|bindings| bindings.push(Binding { _click: click, element, instance }));
}

/// Removes `element`'s binding; returns the instance it launched (`None` if it had none).
pub fn unbind(element: &JsValue) -> Option<Rc<Instance>> {
    take(|binding| AsRef::<JsValue>::as_ref(&binding.element) == element).map(|binding| binding.instance)
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
    BINDINGS.with_borrow_mut(|bindings| {
        let at = bindings.iter().position(matches)?;
        Some(bindings.swap_remove(at))
    })
}
