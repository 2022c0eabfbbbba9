//! String building for the browser build: one small non-generic `concat` in place of the
//! standard `[..].concat()` / `join`, each of which is a kilobyte of generic code per type.

use alloc::string::String;

/// The parts, one after the other.
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// The parts with `separator` between them.
pub fn join(parts: &[String], separator: &str) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenates_and_joins() {
        assert_eq!(concat(&[]), "");
        assert_eq!(concat(&["a", "", "bc"]), "abc");
        let parts = ["a".to_owned(), String::new(), "b".to_owned()];
        assert_eq!(join(&parts, " "), "a  b");
        assert_eq!(join(&parts[..1], " "), "a");
        assert_eq!(join(&[], " "), "");
    }
}
