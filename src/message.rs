//! A postMessage's data → the pop-up's result, or nothing.

use crate::json::Json;

/// Every message of the protocol starts with this namespace.
pub const PREFIX: &str = "kloudless:";

/// Longest message read; anything longer is dropped unparsed.
pub const MAX_LEN: usize = 64 * 1024;

/// The OAuth result (`data`) of a `kloudless:{"type":"authentication","id":…,"data":{…}}`
/// message addressed to `request_id`; `None` for anything else, which the caller ignores.
///
/// The caller has already checked the message's origin and source window.
pub fn authentication_result(message: &str, request_id: &str) -> Option<Json> {
    if message.len() > MAX_LEN {
        return None;
    }
    let mut envelope = Json::parse(message.strip_prefix(PREFIX)?)?;
    let is_ours = envelope.get("type")?.as_str()? == "authentication"
        && envelope.get("id")?.scalar_text()? == request_id;
    match envelope.take("data")? {
        data @ Json::Object(_) if is_ours => Some(data),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_result_for_this_request() {
        let data = authentication_result(
            r#"kloudless:{"type":"authentication","id":"r1","data":{"state":"s"}}"#,
            "r1",
        );
        assert_eq!(data.unwrap().get("state").and_then(Json::as_str), Some("s"));
        // The original sent numeric ids.
        assert!(
            authentication_result(r#"kloudless:{"type":"authentication","id":42,"data":{}}"#, "42").is_some()
        );
    }

    #[test]
    fn ignores_everything_else() {
        for message in [
            r#"{"type":"authentication","id":"r1","data":{}}"#,
            r#"kloudless{"type":"authentication","id":"r1","data":{}}"#,
            r#"kloudless:{"type":"authentication","id":"r2","data":{}}"#,
            r#"kloudless:{"type":"close","id":"r1","data":{}}"#,
            r#"kloudless:{"type":"authentication","data":{}}"#,
            r#"kloudless:{"type":"authentication","id":"r1"}"#,
            r#"kloudless:{"type":"authentication","id":"r1","data":"x"}"#,
            r#"kloudless:{"type":"authentication","id":["r1"],"data":{}}"#,
            r#"kloudless:["authentication"]"#,
            "kloudless:not json",
            "kloudless:",
        ] {
            assert_eq!(authentication_result(message, "r1"), None, "{message}");
        }
    }

    #[test]
    fn drops_results_with_proto_keys() {
        for message in [
            r#"kloudless:{"type":"authentication","id":"r1","data":{"state":"s","__proto__":{"x":1}}}"#,
            r#"kloudless:{"type":"authentication","id":"r1","data":{"state":"s","\u005f_proto__":{}}}"#,
            r#"kloudless:{"type":"authentication","id":"r1","data":{"account":[{"__proto__":{}}]}}"#,
            r#"kloudless:{"__proto__":{},"type":"authentication","id":"r1","data":{}}"#,
        ] {
            assert_eq!(authentication_result(message, "r1"), None, "{message}");
        }
    }

    #[test]
    fn drops_oversized_messages_unparsed() {
        let padding = " ".repeat(MAX_LEN);
        let big = [r#"kloudless:{"type":"authentication","id":"r1","data":{}}"#, &padding].concat();
        assert_eq!(authentication_result(&big, "r1"), None);
    }
}
