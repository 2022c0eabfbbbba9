//! The shell's own tests, in headless Chromium through wasm-bindgen-test (`make test-wasm`):
//! what it reads off JS values, its RAII listeners, and the exports' errors. The flow as the
//! page meets it is tested end to end by `e2e/shell.test.mjs` and the other Playwright tests.

use super::events::Listener;
use super::{authenticator, get_global_options, option_entries, read, set_global_options};
use crate::message::Dropped;
use crate::options::Options;
use js_sys::{Function, JSON, Object, Reflect};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

fn thrown(result: Result<impl Sized, JsValue>) -> String {
    match result {
        Ok(_) => "no error".into(),
        Err(error) => {
            Reflect::get(&error, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default()
        }
    }
}

#[wasm_bindgen_test]
fn a_dropped_listener_is_removed() {
    let target = web_sys::EventTarget::new().unwrap();
    let heard = Rc::new(Cell::new(0));
    let counter = Rc::clone(&heard);
    let listener = Listener::new(&target, "ping", move |_| counter.set(counter.get() + 1));
    let ping = || target.dispatch_event(&web_sys::Event::new("ping").unwrap()).unwrap();
    ping();
    assert_eq!(heard.get(), 1);
    drop(listener);
    ping();
    assert_eq!(heard.get(), 1, "no event after the drop");
}

#[wasm_bindgen_test]
fn options_are_read_by_the_original_rules() {
    let options = json(
        r#"{"client_id":"app","scope":["box","gdrive:admin"],"raw":{"a":1,"b":"x y"},"extra_data":{"k":true},
            "state":"mine","n":null,"flag":false,"count":7}"#,
    );
    let options = Options::new(option_entries(&options).unwrap()).unwrap();
    let pairs: Vec<(&str, &str)> = options.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("client_id", "app"),
            ("scope", "box gdrive:admin"),
            ("raw[a]", "1"),
            ("raw[b]", "x y"),
            ("extra_data", r#"{"k":true}"#),
            ("flag", "false"),
            ("count", "7"),
        ]
    );
}

#[wasm_bindgen_test]
fn the_return_url_option_is_read_off_the_object_and_not_sent() {
    let options = json(r#"{"client_id":"app","return_url":"https://app.test/back","scope":"box"}"#);
    let options = Options::new(option_entries(&options).unwrap()).unwrap();
    assert_eq!(options.return_url.as_deref(), Some("https://app.test/back"));
    assert!(options.params.iter().all(|(k, _)| k != "return_url"));
    let bad = json(r#"{"client_id":"app","return_url":["https://app.test/back"]}"#);
    assert!(Options::new(option_entries(&bad).unwrap()).is_err(), "an array is refused");
}

#[wasm_bindgen_test]
fn messages_are_parsed_by_json_parse_and_a_proto_member_stays_own() {
    let message = r#"kloudless:{"type":"authentication","id":42,"data":{"state":"s","access_token":"t","__proto__":{"x":1}}}"#;
    let (fields, data) = read::message(&JsValue::from_str(message)).unwrap();
    assert_eq!(fields.kind.as_deref(), Some("authentication"));
    assert_eq!(fields.id.as_deref(), Some("42"), "a numeric id, as its text");
    let read = fields.data.unwrap();
    assert_eq!((read.state.as_deref(), read.access_token.as_deref()), (Some("s"), Some("t")));
    assert!(
        Reflect::get_own_property_descriptor(data.unchecked_ref::<Object>(), &"__proto__".into())
            .unwrap()
            .is_object()
    );
    assert_eq!(
        Object::get_prototype_of(&data),
        Object::get_prototype_of(&Object::new()),
        "prototype untouched"
    );
}

#[wasm_bindgen_test]
fn other_data_is_dropped_unread() {
    let check = |value: JsValue| read::message(&value).err();
    assert_eq!(check(json(r#"{"type":"authentication"}"#)), Some(Dropped::NotText));
    assert_eq!(check("x".repeat(64 * 1024 + 1).into()), Some(Dropped::TooLong));
    assert_eq!(check("kloudless{}".into()), Some(Dropped::NotProtocol));
    assert_eq!(check("kloudless:{".into()), Some(Dropped::NotJson));
    assert_eq!(check("kloudless:[1]".into()), Some(Dropped::Shape));
}

#[wasm_bindgen_test]
fn bad_arguments_throw_the_original_messages() {
    let callback: JsValue = Function::new_no_args("").into();
    let options = json(r#"{"client_id":"app"}"#);
    assert_eq!(
        thrown(authenticator(JsValue::from(1), options.clone(), callback.clone())),
        "'element' must be an Element or jQuery object."
    );
    assert_eq!(
        thrown(authenticator(json("{}"), callback.clone(), JsValue::UNDEFINED)),
        "An App ID is required."
    );
    assert_eq!(
        thrown(authenticator(options.clone(), JsValue::UNDEFINED, JsValue::UNDEFINED)),
        "'callback' must be a function."
    );
    assert_eq!(
        thrown(authenticator(options, callback, JsValue::UNDEFINED)),
        "no error",
        "no element: the arguments shift"
    );
}

#[wasm_bindgen_test]
fn global_options_change_only_when_all_are_valid() {
    let base_url = || Reflect::get(&get_global_options(), &"baseUrl".into()).unwrap().as_string();
    set_global_options(json(r#"{"baseUrl":"https://api.test/","requestTimeout":500}"#)).unwrap();
    assert_eq!(base_url().as_deref(), Some("https://api.test/"));
    let bad = thrown(set_global_options(json(r#"{"baseUrl":"https://other.test","requestTimeout":1.5}"#)));
    assert_eq!(bad, "'requestTimeout' and 'flowTimeout' must be whole milliseconds, 0 or more.");
    assert_eq!(base_url().as_deref(), Some("https://api.test/"), "nothing changed");
    assert_eq!(
        thrown(set_global_options(json(r#"{"baseUrl":"ftp://x.test"}"#))),
        "'baseUrl' must be an absolute http(s) URL."
    );
}

/// Replaces the page's `fetch` with one whose promise never settles, and counts its calls.
fn stall_fetch() -> Rc<Cell<u32>> {
    let calls = Rc::new(Cell::new(0));
    let counter = Rc::clone(&calls);
    let fetch = Closure::<dyn FnMut() -> js_sys::Promise>::new(move || {
        counter.set(counter.get() + 1);
        js_sys::Promise::new(&mut |_, _| {})
    });
    Reflect::set(&js_sys::global(), &"fetch".into(), fetch.as_ref()).unwrap();
    fetch.forget(); // the test page's fetch for the rest of the run
    calls
}

/// Resolves after `ms` milliseconds.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_request_times_out_once_and_a_dropped_one_never_answers() {
    use super::http::{Failure, Outcome, Send, start};
    let calls = stall_fetch();
    let outcomes: Rc<std::cell::RefCell<Vec<&'static str>>> = Rc::default();
    let record = |tag: &'static str| {
        let outcomes = Rc::clone(&outcomes);
        Rc::new(move |outcome: Outcome| {
            outcomes.borrow_mut().push(match outcome {
                Err(Failure::TimedOut) => tag,
                _ => "other",
            })
        })
    };
    let timing_out = start("http://127.0.0.1:9/a", Send::Form("x=1"), 20, record("timed out"));
    let dropped = start("http://127.0.0.1:9/b", Send::Bearer("t"), 20, record("dropped"));
    drop(dropped);
    sleep(80).await;
    assert_eq!(calls.get(), 2, "both requests went out");
    assert_eq!(*outcomes.borrow(), ["timed out"], "once, and nothing for the dropped request");
    drop(timing_out);
}

/// Makes `Class.prototype.method` throw until the returned guard is dropped.
fn make_throw(class: &str, method: &str) -> impl Drop {
    let prototype =
        Reflect::get(&Reflect::get(&js_sys::global(), &class.into()).unwrap(), &"prototype".into()).unwrap();
    let original = Reflect::get(&prototype, &method.into()).unwrap();
    let thrower = Function::new_no_args("throw new Error('page code threw')");
    Reflect::set(&prototype, &method.into(), &thrower).unwrap();
    struct Restore(JsValue, String, JsValue);
    impl Drop for Restore {
        fn drop(&mut self) {
            Reflect::set(&self.0, &self.1.as_str().into(), &self.2).unwrap();
        }
    }
    Restore(prototype, method.to_owned(), original)
}

#[wasm_bindgen_test]
async fn releasing_goes_on_when_page_code_throws() {
    use super::http::{Send, start};
    use super::release;
    let _abort = make_throw("AbortController", "abort");
    let _remove = make_throw("Element", "remove");
    let _close = make_throw("BroadcastChannel", "close");
    stall_fetch();
    let answered = Rc::new(Cell::new(false));
    let flag = Rc::clone(&answered);
    let request = start("http://127.0.0.1:9/c", Send::Bearer("t"), 20, Rc::new(move |_| flag.set(true)));
    drop(request); // `abort()` throws: the request is still given up and its timeout cleared
    sleep(60).await;
    assert!(!answered.get(), "a dropped request never answers, even when abort() threw");
    let document = web_sys::window().unwrap().document().unwrap();
    release::remove(&document.create_element("div").unwrap());
    release::close(&web_sys::BroadcastChannel::new("release-test").unwrap());
}
