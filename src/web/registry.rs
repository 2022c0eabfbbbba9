//! Which element launches which instance, by element identity (not `outerHTML`).

use super::Global;
use super::instance::Instance;
use super::listener::EventListener;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use web_sys::Element;

/// A click binding: dropping it removes the listener and releases the instance.
struct Binding {
    element: Element,
    instance: Rc<Instance>,
    _click: EventListener,
}

static BINDINGS: Global<RefCell<Vec<Binding>>> = Global(RefCell::new(Vec::new()));

/// Makes a click on `element` launch `instance`, replacing the element's previous binding.
pub fn bind(element: Element, instance: Rc<Instance>) {
    unbind(&element);
    let launcher = Rc::clone(&instance);
    let click = EventListener::new(&element, "click", move |_| {
        if let Err(error) = launcher.launch() {
            web_sys::console::error_1(&error.description().into());
        }
    });
    BINDINGS.borrow_mut().push(Binding { element, instance, _click: click });
}

/// Removes `element`'s binding; returns the instance it launched (`None` if it had none).
pub fn unbind(element: &Element) -> Option<Rc<Instance>> {
    let removed = {
        let mut bindings = BINDINGS.borrow_mut();
        let at = bindings.iter().position(|binding| binding.element == *element)?;
        bindings.swap_remove(at)
    };
    // Dropped outside the borrow: releasing the instance must not re-enter the registry.
    Some(removed.instance)
}

/// Removes every binding that launches `instance`.
pub fn unbind_instance(instance: &Rc<Instance>) {
    // Dropping a binding only removes a listener and a reference: safe inside the borrow.
    BINDINGS.borrow_mut().retain(|binding| !Rc::ptr_eq(&binding.instance, instance));
}

/// How many elements are bound (for tests).
pub fn len() -> usize {
    BINDINGS.borrow().len()
}
