//! The browser shell in headless Chromium: argument handling, click bindings, pop-up
//! opening, blocked and closed pop-ups, global options. `window.open` is replaced by a
//! recorder here; the end-to-end tests (e2e/) drive the real pop-up against the real server.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Object, Promise, Reflect};
use kloudless_authenticator::web::{self, registry};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const realOpen = window.open;
// mode: 'open' (a fake pop-up), 'closed', 'blocked', or 'real' (a real about:blank window).
export function recordOpen(mode) {
  const calls = [];
  window.open = (url, name, features) => {
    const popup = mode === 'real' ? realOpen.call(window, 'about:blank', name, features)
      : { closed: mode === 'closed', focusCalls: 0, closeCalls: 0,
          focus() { this.focusCalls++; }, close() { this.closeCalls++; this.closed = true; } };
    calls.push({ url, name, features, popup });
    return mode === 'blocked' ? null : popup;
  };
  return calls;
}
export function hostileOptions() {
  const cyclic = {}; cyclic.self = cyclic;
  return [
    { client_id: 'app', extra_data: cyclic },
    { client_id: 'app', raw: { a: Object.create(null) } },
    { client_id: 'app', get boom() { throw new Error('getter'); } },
  ];
}
export function oddButValidOptions() {
  return { client_id: 'app', sym: Symbol('s'), n: 1.5, big: 10n, b: false, f() {}, nothing: null, gone: undefined };
}
export function post(data, origin, source) {
  window.dispatchEvent(new MessageEvent('message', { data, origin, source }));
}
export function options(extra) { return Object.assign({ client_id: 'app' }, extra); }
export function jqueryLike(el) { return { jquery: '3.7.1', 0: el, length: el ? 1 : 0 }; }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = recordOpen)]
    fn record_open(mode: &str) -> Array;
    fn options(extra: JsValue) -> JsValue;
    #[wasm_bindgen(js_name = jqueryLike)]
    fn jquery_like(element: &JsValue) -> JsValue;
    fn post(data: &str, origin: &str, source: &JsValue);
    #[wasm_bindgen(js_name = hostileOptions)]
    fn hostile_options() -> Array;
    #[wasm_bindgen(js_name = oddButValidOptions)]
    fn odd_but_valid_options() -> JsValue;
}

/// A callback that records its results.
fn recorder() -> (JsValue, Rc<RefCell<Vec<JsValue>>>) {
    let results = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&results);
    let callback = Closure::<dyn FnMut(JsValue)>::new(move |r| sink.borrow_mut().push(r));
    (callback.into_js_value(), results)
}

fn button() -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let button: HtmlElement = document.create_element("button").unwrap().dyn_into().unwrap();
    button.set_text_content(Some("Connect"));
    document.body().unwrap().append_child(&button).unwrap();
    button
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

fn text(value: &JsValue, key: &str) -> String {
    get(value, key).as_string().unwrap_or_default()
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Waits (up to 10 s, timers may be slow on a loaded machine) for `count` results.
async fn wait_for(results: &RefCell<Vec<JsValue>>, count: usize) {
    for _ in 0..100 {
        if results.borrow().len() >= count {
            return;
        }
        sleep(100).await;
    }
}

fn thrown_message(result: Result<web::Authenticator, JsError>) -> String {
    let error = JsValue::from(result.err().expect("must throw"));
    text(&error, "message")
}

#[wasm_bindgen_test]
fn bad_arguments_throw_clear_errors() {
    let (callback, _) = recorder();
    let no_id = web::authenticator(button().into(), Object::new().into(), callback.clone());
    assert_eq!(thrown_message(no_id), "An App ID is required.");
    let not_element = web::authenticator("#button".into(), options(JsValue::UNDEFINED), callback.clone());
    assert_eq!(thrown_message(not_element), "'element' must be an Element or jQuery object.");
    let no_callback = web::authenticator(button().into(), options(JsValue::UNDEFINED), JsValue::UNDEFINED);
    assert_eq!(thrown_message(no_callback), "'callback' must be a function.");
    let shifted_no_callback = web::authenticator(options(JsValue::UNDEFINED), 42.into(), JsValue::UNDEFINED);
    assert_eq!(thrown_message(shifted_no_callback), "'callback' must be a function.");
    assert!(web::set_global_options(options_with_base("ftp://api.test")).is_err());
    assert!(web::set_global_options(options_with_base("not a url")).is_err());
}

#[wasm_bindgen_test]
fn a_click_opens_the_popup_with_the_protocol_url() {
    let calls = record_open("open");
    web::set_global_options(options_with_base("http://api.test:9/")).unwrap();
    let (callback, results) = recorder();
    let element = button();
    let raw = Object::new();
    Reflect::set(&raw, &"a".into(), &"1".into()).unwrap();
    let extra = Object::new();
    Reflect::set(&extra, &"scope".into(), &Array::of2(&"box".into(), &"gdrive".into())).unwrap();
    Reflect::set(&extra, &"raw".into(), &raw).unwrap();
    Reflect::set(&extra, &"state".into(), &"mine".into()).unwrap();
    web::authenticator(element.clone().into(), options(extra.into()), callback).unwrap();
    element.click();
    assert_eq!(calls.length(), 1);
    let call = calls.get(0);
    let url = text(&call, "url");
    assert!(url.starts_with("http://api.test:9/v1/oauth?redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=token&state="), "{url}");
    assert!(url.contains("&client_id=app&scope=box%20gdrive&raw%5Ba%5D=1&request_id="), "{url}");
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    let mut encoded_origin = String::new();
    kloudless_authenticator::popup::encode_component(&origin, &mut encoded_origin);
    assert!(url.contains(&["&origin=", &encoded_origin, "&rendezvous="].concat()), "{url}");
    let challenge = url.split("&rendezvous=").nth(1).unwrap();
    assert!(challenge.len() == 64 && challenge.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
    assert!(!url.contains("mine"), "the user's state is dropped: {url}");
    let state = url.split("&state=").nth(1).unwrap().split('&').next().unwrap();
    assert_eq!(state.len(), 32);
    assert!(state.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(text(&call, "name"), "kPOPUP");
    assert!(text(&call, "features").starts_with("resizable,scrollbars,status,height=600,width=1000,top="));
    assert_eq!(get(&get(&call, "popup"), "focusCalls"), JsValue::from(1));
    // A second click while the flow is pending focuses the pop-up instead of a second flow.
    element.click();
    assert_eq!(calls.length(), 1);
    assert_eq!(get(&get(&call, "popup"), "focusCalls"), JsValue::from(2));
    assert!(results.borrow().is_empty());
    web::stop(element.into());
}

fn options_with_base(base: &str) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"baseUrl".into(), &base.into()).unwrap();
    o.into()
}

#[wasm_bindgen_test]
fn stop_removes_the_binding_by_element_identity() {
    let calls = record_open("open");
    let (callback, _) = recorder();
    // Two buttons with identical outerHTML must not collide (the original keyed on outerHTML).
    let (first, second) = (button(), button());
    let before = registry::len();
    web::authenticator(first.clone().into(), options(JsValue::UNDEFINED), callback.clone()).unwrap();
    web::authenticator(jquery_like(&second), options(JsValue::UNDEFINED), callback).unwrap();
    assert_eq!(registry::len(), before + 2);
    web::stop(jquery_like(&first));
    assert_eq!(registry::len(), before + 1);
    first.click();
    assert_eq!(calls.length(), 0, "a stopped element no longer launches");
    second.click();
    assert_eq!(calls.length(), 1, "the identical twin still launches");
    web::stop(second.into());
    assert_eq!(registry::len(), before);
}

#[wasm_bindgen_test]
fn binding_an_element_again_replaces_its_binding() {
    let calls = record_open("open");
    let element = button();
    let before = registry::len();
    let (first_cb, _) = recorder();
    let (second_cb, _) = recorder();
    web::authenticator(element.clone().into(), options(JsValue::UNDEFINED), first_cb).unwrap();
    web::authenticator(element.clone().into(), options(JsValue::UNDEFINED), second_cb).unwrap();
    assert_eq!(registry::len(), before + 1);
    element.click();
    assert_eq!(calls.length(), 1, "one click, one pop-up");
    web::stop(element.into());
}

#[wasm_bindgen_test]
async fn a_blocked_popup_calls_back_once_with_popup_blocked() {
    record_open("blocked");
    let (callback, results) = recorder();
    let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
    auth.launch().unwrap();
    assert!(results.borrow().is_empty(), "never called back inside launch()");
    sleep(50).await;
    let results = results.borrow();
    assert_eq!(results.len(), 1);
    assert_eq!(text(&results[0], "error"), "popup_blocked");
    assert_eq!(text(&results[0], "state").len(), 32);
}

#[wasm_bindgen_test]
async fn a_closed_popup_calls_back_once_after_the_grace_period() {
    // Nothing listens there: each collection attempt at the rendezvous fails at once.
    web::set_global_options(options_with_base("http://127.0.0.1:9")).unwrap();
    let calls = record_open("closed");
    let (callback, results) = recorder();
    let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
    auth.launch().unwrap();
    let launched = js_sys::Date::now();
    sleep(kloudless_authenticator::flow::POPUP_POLL_MS + 100).await;
    // Only meaningful if the timer woke on time (a loaded machine can delay it past the grace).
    if js_sys::Date::now() - launched < f64::from(kloudless_authenticator::flow::POPUP_CLOSED_GRACE_MS) {
        assert!(results.borrow().is_empty(), "a closed pop-up is only a hint until the grace period ends");
    }
    wait_for(&results, 1).await;
    assert_eq!(results.borrow().len(), 1);
    assert_eq!(text(&results.borrow()[0], "error"), "popup_closed");
    sleep(600).await;
    assert_eq!(results.borrow().len(), 1, "exactly one callback");
    // The flow is over: a new launch opens a new pop-up.
    auth.launch().unwrap();
    assert_eq!(calls.length(), 2);
}

#[wasm_bindgen_test]
fn global_options_round_trip_and_debug_switches_off() {
    let o = Object::new();
    Reflect::set(&o, &"debug".into(), &true.into()).unwrap();
    web::set_global_options(o.into()).unwrap();
    assert_eq!(get(&web::get_global_options(), "debug"), JsValue::TRUE);
    let o = Object::new();
    Reflect::set(&o, &"debug".into(), &false.into()).unwrap();
    web::set_global_options(o.into()).unwrap();
    assert_eq!(get(&web::get_global_options(), "debug"), JsValue::FALSE);
    web::set_global_options(options_with_base("https://api.example.test")).unwrap();
    assert_eq!(text(&web::get_global_options(), "baseUrl"), "https://api.example.test");
}

/// The `request_id` and `state` of a recorded pop-up URL.
fn ids_of(url: &str) -> (String, String) {
    let param = |name: &str| {
        url.split(&["&", name, "="].concat()).nth(1).unwrap().split('&').next().unwrap().to_owned()
    };
    (param("request_id"), param("state"))
}

#[wasm_bindgen_test]
async fn only_messages_from_the_api_origin_and_this_flows_popup_count() {
    const API: &str = "http://127.0.0.1:9";
    web::set_global_options(options_with_base(&[API, "/"].concat())).unwrap();
    let calls = record_open("real");
    let (callback, results) = recorder();
    let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
    auth.launch().unwrap();
    let popup = get(&calls.get(0), "popup");
    let (request_id, state) = ids_of(&text(&calls.get(0), "url"));
    let message = |state: &str| token_result(&request_id, state);
    let window = JsValue::from(web_sys::window().unwrap());
    post(&message("forged"), API, &window); // right origin, but from the page, not the pop-up
    post(&message("forged"), "http://127.0.0.1:10", &popup); // the pop-up, but another origin
    post(&message("forged"), "http://127.0.0.1:9/", &popup); // origins have no trailing slash
    sleep(50).await;
    assert!(results.borrow().is_empty(), "forged messages are dropped");
    assert_eq!(get(&popup, "closed"), JsValue::FALSE);

    post(&message("forged"), API, &popup); // ours, with a wrong state
    sleep(50).await;
    assert_eq!(results.borrow().len(), 1);
    assert_eq!(text(&results.borrow()[0], "error"), "invalid_state");
    assert_eq!(text(&results.borrow()[0], "state"), state);
    assert_eq!(get(&popup, "closed"), JsValue::TRUE, "the library closes the pop-up");
    post(&message(&state), API, &popup);
    sleep(50).await;
    assert_eq!(results.borrow().len(), 1, "nothing after the flow has finished");

    // A valid result whose token cannot be verified (nothing listens on port 9): network_error.
    auth.launch().unwrap();
    let popup = get(&calls.get(1), "popup");
    let (request_id2, state2) = ids_of(&text(&calls.get(1), "url"));
    assert_ne!(state2, state, "a fresh state per launch");
    let valid = token_result(&request_id2, &state2);
    post(&valid, API, &popup);
    post(&valid, API, &popup); // delivered twice
    wait_for(&results, 2).await;
    sleep(200).await;
    let results = results.borrow();
    assert_eq!(results.len(), 2, "one callback per flow");
    assert_eq!(text(&results[1], "error"), "network_error");
    assert_eq!(get(&results[1], "access_token"), JsValue::UNDEFINED, "no token in an error");
}

#[wasm_bindgen_test]
fn hostile_option_values_throw_and_leave_the_module_working() {
    let calls = record_open("open");
    web::set_global_options(options_with_base("http://api.test")).unwrap();
    let (callback, _) = recorder();
    for options in hostile_options() {
        let error = thrown_message(web::authenticator(options, callback.clone(), JsValue::UNDEFINED));
        assert!(error.starts_with("Each option must be"), "{error}");
    }
    // Values the original turned into strings still work, null/undefined are dropped.
    let auth = web::authenticator(odd_but_valid_options(), callback, JsValue::UNDEFINED).unwrap();
    auth.launch().unwrap();
    let url = text(&calls.get(0), "url");
    assert!(url.contains("&sym=Symbol(s)&n=1.5&big=10&b=false&f="), "{url}");
    assert!(!url.contains("nothing") && !url.contains("gone"), "{url}");
}

#[wasm_bindgen_test]
async fn destroy_ends_a_pending_flow_without_a_callback_and_unbinds_the_element() {
    web::set_global_options(options_with_base("http://127.0.0.1:9")).unwrap();
    let calls = record_open("closed");
    let (callback, results) = recorder();
    let element = button();
    let before = registry::len();
    let auth = web::authenticator(element.clone().into(), options(JsValue::UNDEFINED), callback).unwrap();
    element.click();
    assert_eq!(calls.length(), 1);
    let popup = get(&calls.get(0), "popup");
    auth.destroy();
    assert_eq!(get(&popup, "closeCalls"), JsValue::from(1), "the pop-up is closed");
    assert_eq!(registry::len(), before, "the element is unbound");
    element.click();
    assert_eq!(calls.length(), 1, "a click no longer launches");
    // The pop-up reads as closed: without destroy, popup_closed would follow the grace period.
    sleep(
        kloudless_authenticator::flow::POPUP_CLOSED_GRACE_MS
            + 2 * kloudless_authenticator::flow::POPUP_POLL_MS,
    )
    .await;
    assert!(results.borrow().is_empty(), "no callback after destroy");
}

#[wasm_bindgen_test]
async fn destroy_right_after_a_blocked_launch_suppresses_its_callback() {
    record_open("blocked");
    let (callback, results) = recorder();
    let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
    auth.launch().unwrap();
    auth.destroy();
    sleep(50).await;
    assert!(results.borrow().is_empty(), "the queued popup_blocked is dropped");
}

fn timeouts(request: JsValue, flow: JsValue) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"requestTimeout".into(), &request).unwrap();
    Reflect::set(&o, &"flowTimeout".into(), &flow).unwrap();
    o.into()
}

#[wasm_bindgen_test]
async fn cancel_ends_a_pending_flow_with_one_cancelled_callback() {
    let calls = record_open("open");
    let (callback, results) = recorder();
    let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
    auth.cancel(); // nothing pending: nothing happens
    auth.launch().unwrap();
    auth.cancel();
    assert!(results.borrow().is_empty(), "the callback comes in a later task");
    assert_eq!(get(&get(&calls.get(0), "popup"), "closeCalls"), JsValue::from(1), "the pop-up is closed");
    auth.cancel();
    wait_for(&results, 1).await;
    sleep(100).await;
    assert_eq!(results.borrow().len(), 1, "exactly one callback");
    assert_eq!(text(&results.borrow()[0], "error"), "cancelled");
    auth.launch().unwrap();
    assert_eq!(calls.length(), 2, "a new flow can start");
    auth.destroy();
}

#[wasm_bindgen_test]
async fn stop_ends_the_elements_pending_flow_as_cancelled() {
    let calls = record_open("open");
    let (callback, results) = recorder();
    let element = button();
    web::authenticator(element.clone().into(), options(JsValue::UNDEFINED), callback).unwrap();
    element.click();
    web::stop(element.clone().into());
    wait_for(&results, 1).await;
    assert_eq!(text(&results.borrow()[0], "error"), "cancelled");
    assert_eq!(get(&get(&calls.get(0), "popup"), "closeCalls"), JsValue::from(1));
    element.click();
    assert_eq!(calls.length(), 1, "stopped");
}

#[wasm_bindgen_test]
async fn launching_again_after_the_popup_was_closed_starts_over() {
    let calls = record_open("closed");
    let (callback, results) = recorder();
    let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
    auth.launch().unwrap();
    auth.launch().unwrap();
    assert_eq!(calls.length(), 2, "a closed pop-up cannot be focused: a new flow opens a new one");
    wait_for(&results, 1).await;
    assert_eq!(text(&results.borrow()[0], "error"), "popup_closed");
    auth.destroy();
    sleep(100).await;
    assert_eq!(results.borrow().len(), 1);
}

#[wasm_bindgen_test]
async fn the_flow_timeout_ends_a_flow_once_and_bad_timeouts_throw() {
    for (request, flow) in [
        (JsValue::from(-1), JsValue::from(0)),
        (1.5.into(), 0.into()),
        ("10".into(), 0.into()),
        (1000.into(), f64::NAN.into()),
    ] {
        assert!(web::set_global_options(timeouts(request, flow)).is_err());
    }
    let defaults = web::get_global_options();
    assert_eq!(get(&defaults, "requestTimeout"), JsValue::from(10_000));
    assert_eq!(get(&defaults, "flowTimeout"), JsValue::from(0));
    web::set_global_options(timeouts(JsValue::UNDEFINED, 300.into())).unwrap();
    let calls = record_open("open");
    let (callback, results) = recorder();
    let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
    auth.launch().unwrap();
    web::set_global_options(timeouts(JsValue::UNDEFINED, 0.into())).unwrap();
    wait_for(&results, 1).await;
    sleep(100).await;
    assert_eq!(results.borrow().len(), 1);
    assert_eq!(text(&results.borrow()[0], "error"), "timeout");
    assert_eq!(get(&get(&calls.get(0), "popup"), "closeCalls"), JsValue::from(1));
}

#[wasm_bindgen(inline_js = r#"
// Replaces fetch: the rendezvous answers 202 ('pending') or never ('hang', until aborted); the
// token endpoint answers after `tokenDelay` ms; the account endpoint at once. Logs every call.
export function stubFetch(collect, tokenDelay) {
  const log = [];
  const realFetch = window.fetch;
  window.fetch = (url, init) => new Promise((resolve, reject) => {
    const entry = { url, at: performance.now() };
    log.push(entry);
    init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    const json = (body) => new Response(JSON.stringify(body), { status: 200 });
    if (url.endsWith('/oauth/rendezvous')) {
      if (collect === 'pending') resolve(new Response('', { status: 202 }));
    } else if (url.includes('/oauth/token')) {
      setTimeout(() => resolve(json({ client_id: 'app', account_id: '42' })), tokenDelay);
    } else {
      resolve(json({ id: '42', service: 'box' }));
    }
  });
  log.restore = () => { window.fetch = realFetch; };
  return log;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = stubFetch)]
    fn stub_fetch(collect: &str, token_delay: i32) -> Array;
}

/// The pop-up reads closed (collection starts), then its result arrives by message after all
/// and takes longer to verify than a collection retry: verified once, and collection stops.
#[wasm_bindgen_test]
async fn a_result_arriving_while_collecting_is_verified_once_and_collection_stops() {
    const API: &str = "http://127.0.0.1:9";
    for collect in ["pending", "hang"] {
        web::set_global_options(options_with_base(API)).unwrap();
        let calls = record_open("real");
        let log = stub_fetch(collect, 3 * kloudless_authenticator::rendezvous::RETRY_MS);
        let (callback, results) = recorder();
        let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
        auth.launch().unwrap();
        let popup = get(&calls.get(0), "popup");
        let (request_id, state) = ids_of(&text(&calls.get(0), "url"));
        let close: js_sys::Function = get(&popup, "close").unchecked_into();
        close.call0(&popup).unwrap();
        sleep(kloudless_authenticator::flow::POPUP_POLL_MS + 150).await;
        let collections = || log.iter().filter(|e| text(e, "url").ends_with("/oauth/rendezvous")).count();
        assert!(collections() >= 1, "{collect}: collecting once the pop-up reads closed");
        post(&token_result(&request_id, &state), API, &popup);
        let collected_before = collections();
        wait_for(&results, 1).await;
        sleep(200).await;
        assert_eq!(results.borrow().len(), 1, "{collect}: exactly one callback");
        assert_eq!(text(&results.borrow()[0], "access_token"), "tok", "{collect}");
        assert_eq!(collections(), collected_before, "{collect}: no collection after the result came");
        let restore: js_sys::Function = get(&log, "restore").unchecked_into();
        restore.call0(&log).unwrap();
    }
}

/// The pop-up's message for this request: `data` is the result's members before `state`.
fn result_message(request_id: &str, data: &str, state: &str) -> String {
    [
        "kloudless:{\"type\":\"authentication\",\"id\":\"",
        request_id,
        "\",\"data\":{",
        data,
        ",\"state\":\"",
        state,
        "\"}}",
    ]
    .concat()
}

/// The pop-up's message with the access token `tok` for this request and state.
fn token_result(request_id: &str, state: &str) -> String {
    result_message(request_id, "\"access_token\":\"tok\"", state)
}

/// Launches with a real pop-up, delivers a valid result from it, and returns the callback's results.
async fn deliver_valid_result(request_timeout: i32) -> Rc<RefCell<Vec<JsValue>>> {
    const API: &str = "http://127.0.0.1:9";
    web::set_global_options(options_with_base(API)).unwrap();
    web::set_global_options(timeouts(request_timeout.into(), JsValue::UNDEFINED)).unwrap();
    let calls = record_open("real");
    let (callback, results) = recorder();
    let auth = web::authenticator(options(JsValue::UNDEFINED), callback, JsValue::UNDEFINED).unwrap();
    assert!(auth.launch().unwrap(), "a new flow started");
    assert!(!auth.launch().unwrap(), "then the pending flow's pop-up is focused");
    let popup = get(&calls.get(0), "popup");
    let (request_id, state) = ids_of(&text(&calls.get(0), "url"));
    post(&token_result(&request_id, &state), API, &popup);
    // While the result is verified (the replies are stubbed, and come in later tasks), a launch
    // neither opens a pop-up nor ends the flow, even once the user has closed its pop-up.
    let close: js_sys::Function = get(&popup, "close").unchecked_into();
    close.call0(&popup).unwrap();
    assert!(!auth.launch().unwrap(), "the flow is being verified");
    assert_eq!(calls.length(), 1, "no new pop-up");
    wait_for(&results, 1).await;
    results
}

#[wasm_bindgen_test]
async fn a_request_slower_than_request_timeout_ends_the_flow_with_timeout_and_0_means_no_limit() {
    let log = stub_fetch("hang", 600);
    let results = deliver_valid_result(200).await;
    assert_eq!(results.borrow().len(), 1);
    assert_eq!(text(&results.borrow()[0], "error"), "timeout");
    assert_eq!(get(&results.borrow()[0], "access_token"), JsValue::UNDEFINED);
    let results = deliver_valid_result(0).await;
    assert_eq!(text(&results.borrow()[0], "access_token"), "tok", "0: no limit, the slow reply is taken");
    web::set_global_options(timeouts(10_000.into(), JsValue::UNDEFINED)).unwrap();
    let restore: js_sys::Function = get(&log, "restore").unchecked_into();
    restore.call0(&log).unwrap();
}

/// A launch from the callback (here of a denied result) keeps its own pop-up: a new pop-up gets
/// the same window name, so the finished flow's pop-up must be closed before the callback, not
/// after it.
#[wasm_bindgen_test]
async fn a_launch_from_the_callback_keeps_its_popup() {
    const API: &str = "http://127.0.0.1:9";
    web::set_global_options(options_with_base(API)).unwrap();
    let calls = record_open("real");
    let auth: Rc<RefCell<Option<web::Authenticator>>> = Rc::new(RefCell::new(None));
    let results = Rc::new(RefCell::new(Vec::new()));
    let callback = Closure::<dyn FnMut(JsValue)>::new({
        let (auth, results) = (Rc::clone(&auth), Rc::clone(&results));
        move |result| {
            results.borrow_mut().push(result);
            if results.borrow().len() == 1 {
                assert!(auth.borrow().as_ref().unwrap().launch().unwrap(), "a new flow from the callback");
            }
        }
    });
    let authenticator =
        web::authenticator(options(JsValue::UNDEFINED), callback.into_js_value(), JsValue::UNDEFINED)
            .unwrap();
    assert!(authenticator.launch().unwrap());
    *auth.borrow_mut() = Some(authenticator);
    let popup = get(&calls.get(0), "popup");
    let (request_id, state) = ids_of(&text(&calls.get(0), "url"));
    post(&result_message(&request_id, "\"error\":\"access_denied\"", &state), API, &popup);
    wait_for(&results, 1).await;
    sleep(100).await;
    assert_eq!(text(&results.borrow()[0], "error"), "access_denied");
    assert_eq!(calls.length(), 2, "the callback launched again");
    assert_eq!(get(&get(&calls.get(1), "popup"), "closed"), JsValue::FALSE, "the new flow's pop-up is open");
    assert_eq!(results.borrow().len(), 1, "the new flow is pending");
    auth.borrow_mut().take().unwrap().destroy();
}
