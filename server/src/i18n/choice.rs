//! Which language a request gets: the pop-up's `locale` parameter, else the browser's
//! `Accept-Language` (q-values honoured, RFC 9110 §12.5.4), else English. Tags are matched on
//! their language subtag (`de-AT` is German).

use std::str::FromStr;
use unic_langid::LanguageIdentifier;

/// The longest tag read, from the parameter or the header; a longer one is ignored.
const MAX_TAG: usize = 64;

/// The most `Accept-Language` entries read; the rest are ignored.
const MAX_RANGES: usize = 32;

/// The language subtag of `tag` (lower case) when it is a well-formed BCP 47 language tag
/// (`de-DE`, `ja`, `zh-Hant-TW`), else `None`.
pub fn language_of(tag: &str) -> Option<String> {
    if tag.len() > MAX_TAG {
        return None;
    }
    let id = LanguageIdentifier::from_str(tag).ok()?;
    let language = id.language.as_str();
    (language != "und").then(|| language.to_ascii_lowercase())
}

/// The language ranges of an `Accept-Language` header, most wanted first: ranges with `q=0`
/// (not acceptable) or an unreadable weight are left out, and ranges of equal weight keep their
/// order.
pub fn accepted(header: &str) -> Vec<&str> {
    let mut ranges: Vec<(&str, u16)> = header
        .split(',')
        .take(MAX_RANGES)
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let range = parts.next().filter(|range| !range.is_empty())?;
            let weight = parts
                .find_map(|part| part.strip_prefix("q=").or_else(|| part.strip_prefix("Q=")))
                .map_or(Some(1000), weight)?;
            (weight > 0).then_some((range, weight))
        })
        .collect();
    ranges.sort_by_key(|(_, weight)| std::cmp::Reverse(*weight));
    ranges.into_iter().map(|(range, _)| range).collect()
}

/// A `q` value in thousandths (`0.8` → 800), or `None` when it is not one (RFC 9110's
/// `qvalue`: 0 to 1, three decimals at most).
fn weight(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_tags_give_their_language() {
        assert_eq!(language_of("de-DE").as_deref(), Some("de"));
        assert_eq!(language_of("JA").as_deref(), Some("ja"));
        assert_eq!(language_of("zh-Hant-TW").as_deref(), Some("zh"));
        for bad in ["", "*", "x", "de_DE!", "12", "und", &"a".repeat(65), "<script>"] {
            assert_eq!(language_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn accept_language_is_ordered_by_weight() {
        assert_eq!(accepted("fr;q=0.5, ja-JP, de;q=0.9, en;q=0"), ["ja-JP", "de", "fr"]);
        assert_eq!(accepted("es, fr"), ["es", "fr"], "equal weights keep their order");
        assert_eq!(accepted("de;q=2, fr;q=abc, es;q=0.1234, it;Q=1.000, ,"), ["it"]);
        assert!(accepted("").is_empty());
    }
}
