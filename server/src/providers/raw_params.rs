//! `raw[name]=value` in a pop-up request (the library's `raw: {name: value}` option): parameters
//! for the provider's own authorization request. The protocol's parameters are refused
//! ([`is_protocol`]); the others reach the provider when its entry lists them
//! ([`crate::providers::catalogue::Entry::raw_params`]) and are dropped, with a debug line,
//! when it does not ([`accepted`]). A leaf module: the catalogue checks its entries with it.

/// The parameters of the authorization request that the server itself sets: a `raw[…]` of one
/// of them (or of `code_challenge*`) is refused.
pub const PROTOCOL: [&str; 8] =
    ["response_type", "client_id", "redirect_uri", "state", "scope", "nonce", "request", "request_uri"];

/// The longest value of a `raw[…]` parameter, in characters.
pub const MAX_VALUE: usize = 1024;

/// The most `raw[…]` parameters a request may carry.
pub const MAX_COUNT: usize = 20;

/// Whether `name` is a parameter the server sets itself ([`PROTOCOL`], `code_challenge*`).
pub fn is_protocol(name: &str) -> bool {
    PROTOCOL.contains(&name) || name.starts_with("code_challenge")
}

/// The `raw[name]=value` pairs of a pop-up request, as `(name, value)`: refused (a sentence
/// for the user) when a name is empty, given twice, not a parameter name or the protocol's own, a value is
/// longer than [`MAX_VALUE`] or holds a control character, or there are more than [`MAX_COUNT`].
pub fn from_params(params: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let raw: Vec<(String, String)> = params
        .iter()
        .filter_map(|(key, value)| {
            Some((key.strip_prefix("raw[")?.strip_suffix(']')?.to_owned(), value.clone()))
        })
        .collect();
    if raw.len() > MAX_COUNT {
        return Err(format!("At most {MAX_COUNT} raw[…] parameters are accepted."));
    }
    for (i, (name, value)) in raw.iter().enumerate() {
        if raw[..i].iter().any(|(other, _)| other == name) {
            return Err(format!("The parameter raw[{name}] is given more than once."));
        }
        let word = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
        if name.is_empty() || name.len() > 64 || !name.bytes().all(word) {
            return Err(format!("The parameter raw[{name}] does not name a parameter."));
        }
        if is_protocol(name) {
            return Err(format!(
                "The parameter raw[{name}] is refused: the server sets {name} itself in the service's \
                 authorization request."
            ));
        }
        if value.chars().count() > MAX_VALUE || value.chars().any(char::is_control) {
            return Err(format!(
                "The parameter raw[{name}] must be at most {MAX_VALUE} characters, without control characters."
            ));
        }
    }
    Ok(raw)
}

/// The pairs of `raw` that the provider `service` accepts (its `listed` raw parameters); the
/// others are dropped, and the debug log names them.
pub fn accepted<'r>(
    service: &str,
    listed: &[String],
    raw: &'r [(String, String)],
) -> Vec<(&'r str, &'r str)> {
    let (kept, dropped): (Vec<_>, Vec<_>) = raw.iter().partition(|(name, _)| listed.contains(name));
    if !dropped.is_empty() {
        let names: Vec<&str> = dropped.iter().map(|(name, _)| name.as_str()).collect();
        tracing::debug!("{service}: raw parameters it does not list dropped: {}", names.join(", "));
    }
    kept.into_iter().map(|(name, value)| (name.as_str(), value.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn raw_parameters_are_read_and_the_protocols_own_refused() {
        let read =
            from_params(&params(&[("client_id", "x"), ("raw[login_hint]", "a@b.c"), ("raw[prompt]", "")]));
        assert_eq!(read.unwrap(), params(&[("login_hint", "a@b.c"), ("prompt", "")]));
        for name in
            ["state", "redirect_uri", "code_challenge", "code_challenge_method", "scope", "request_uri"]
        {
            let error = from_params(&params(&[(&format!("raw[{name}]"), "x")])).unwrap_err();
            assert!(error.contains(&format!("raw[{name}] is refused")), "{error}");
        }
        assert!(from_params(&params(&[("raw[]", "x")])).unwrap_err().contains("does not name"));
        assert!(
            from_params(&params(&[("raw[hd]", "a"), ("raw[hd]", "b")]))
                .unwrap_err()
                .contains("more than once")
        );
        assert!(from_params(&params(&[("raw[a b]", "x")])).unwrap_err().contains("does not name"));
        assert!(from_params(&params(&[("raw[hd]", "a\nb")])).unwrap_err().contains("control"));
        let long = "x".repeat(MAX_VALUE + 1);
        assert!(from_params(&params(&[("raw[hd]", &long)])).is_err());
        let raw = params(&[("login_hint", "a"), ("colour", "b")]);
        assert_eq!(accepted("gdrive", &["login_hint".into()], &raw), [("login_hint", "a")]);
        let many: Vec<(String, String)> =
            (0..=MAX_COUNT).map(|i| (format!("raw[p{i}]"), String::new())).collect();
        assert!(from_params(&many).is_err());
    }
}
