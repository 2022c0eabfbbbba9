//! The JS the library ships copies a few of the protocol's constants (`js/returned.js` runs
//! before, and without, the wasm module): this test fails when a copy differs from the constant.

use kloudless_protocol::{RETURN_CHANNEL, RETURN_FRAGMENT};

/// The string literal of `const {name} = '…';` in `source`, if declared once.
fn js_const<'s>(source: &'s str, name: &str) -> Option<&'s str> {
    let declaration = format!("const {name} = '");
    let mut found = source.match_indices(&declaration).map(|(at, _)| &source[at + declaration.len()..]);
    let rest = found.next().filter(|_| found.next().is_none())?;
    rest.split_once("';").map(|(value, _)| value)
}

#[test]
fn returned_js_has_the_protocols_constants() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../js/returned.js");
    let source = std::fs::read_to_string(path).expect("js/returned.js");
    for (name, expected) in [("FRAGMENT", RETURN_FRAGMENT), ("CHANNEL", RETURN_CHANNEL)] {
        assert_eq!(js_const(&source, name), Some(expected), "js/returned.js's {name}");
    }
}

#[test]
fn reads_a_declaration_once() {
    assert_eq!(js_const("const A = 'x';\nconst B = 'y';", "B"), Some("y"));
    assert_eq!(js_const("const A = 'x';", "B"), None);
    assert_eq!(js_const("const A = 'x';const A = 'x';", "A"), None, "declared twice");
}
