//! String building for the browser build: one small non-generic `concat` in place of the
//! standard `[..].concat()` (a kilobyte of generic code per type), and `push_int` in place of
//! `core::fmt`.

use alloc::string::String;

/// The parts, one after the other.
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Appends a decimal integer without the `core::fmt` machinery (it would cost the wasm ~20 KB).
pub fn push_int(value: i32, out: &mut String) {
    if value < 0 {
        out.push('-');
    }
    push_digits(value.unsigned_abs(), out);
}

fn push_digits(n: u32, out: &mut String) {
    if n >= 10 {
        push_digits(n / 10, out);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenates() {
        assert_eq!(concat(&[]), "");
        assert_eq!(concat(&["a", "", "bc"]), "abc");
        let mut out = String::new();
        for n in [0, 7, -42, i32::MAX, i32::MIN] {
            push_int(n, &mut out);
            out.push(' ');
        }
        assert_eq!(out, "0 7 -42 2147483647 -2147483648 ");
    }
}
