//! Query strings and form bodies (`application/x-www-form-urlencoded`), read strictly: input
//! that is too long, or not UTF-8 once percent-decoded, is refused rather than guessed at
//! (a lossy decoding would turn `%FF` into U+FFFD and accept it).

/// The longest query string or form body read, in bytes.
pub const MAX_LEN: usize = 16 * 1024;

/// Why parameters could not be read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BadParams {
    /// Longer than [`MAX_LEN`].
    TooLong,
    /// A name or value is not UTF-8, as sent or once percent-decoded.
    NotUtf8,
}

impl BadParams {
    /// A sentence for the user.
    pub fn message(self) -> &'static str {
        match self {
            BadParams::TooLong => "The request is too large.",
            BadParams::NotUtf8 => "The request's parameters are not valid UTF-8.",
        }
    }
}

/// Decodes `a=1&b=2` as browsers encode forms (`+` is a space, `%XX` a byte, a `%` not
/// followed by two hex digits is itself); every name and value must decode to UTF-8.
pub fn parse(raw: &[u8]) -> Result<Vec<(String, String)>, BadParams> {
    if raw.len() > MAX_LEN {
        return Err(BadParams::TooLong);
    }
    raw.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// The first name given more than once, if any.
pub fn repeated(params: &[(String, String)]) -> Option<&str> {
    let mut seen = std::collections::HashSet::with_capacity(params.len());
    params.iter().map(|(name, _)| name.as_str()).find(|name| !seen.insert(*name))
}

/// One name or value: `+` is a space, then percent-decoding (which leaves a `%` not followed by
/// two hex digits as it is); the bytes must be UTF-8.
fn decode(bytes: &[u8]) -> Result<String, BadParams> {
    let spaced: Vec<u8> = bytes.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let decoded: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(decoded).map_err(|_| BadParams::NotUtf8)
}

/// The value of `key`, if given; given more than once is an error.
pub fn single<'p>(params: &'p [(String, String)], key: &str) -> Result<Option<&'p str>, String> {
    let mut values = params.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let first = values.next();
    match values.next() {
        Some(_) => Err(format!("The parameter {key} is given more than once.")),
        None => Ok(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn decodes_like_a_browser() {
        let expected = [("a", "1 2"), ("b c", "é"), ("d", ""), ("e", "%"), ("f", "%zz"), ("g", "=x")];
        let expected: Vec<_> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(pairs("a=1+2&b%20c=%C3%A9&&d&e=%&f=%zz&g==x"), expected);
        assert_eq!(pairs(""), vec![]);
        assert_eq!(pairs("raw%5Bx%5D=1")[0].0, "raw[x]");
    }

    #[test]
    fn refuses_what_is_not_utf8_or_too_long() {
        for bad in [&b"a=%FF"[..], b"%C3=1", b"a=\xff", b"a=%C3%28", b"a=%ED%A0%80"] {
            assert_eq!(parse(bad), Err(BadParams::NotUtf8), "{bad:?}");
        }
        assert_eq!(parse(&vec![b'a'; MAX_LEN + 1]), Err(BadParams::TooLong));
        assert!(parse(&vec![b'a'; MAX_LEN]).is_ok());
    }

    #[test]
    fn finds_repeated_names() {
        assert_eq!(repeated(&pairs("a=1&b=2&a=1")), Some("a"));
        assert_eq!(repeated(&pairs("a=1&b=2")), None);
    }
}
