//! `extra_data`: the defaults an app gives the pop-up's forms (a URL-encoded JSON object, as the
//! Kloudless SDKs and the library send it), e.g. the server of a per-server service or the login
//! of a basic one. Only a default the user sees and can change: never trusted, escaped by the
//! templates like anything else, and never a secret (`api_key` and `password` are not filled).

use serde_json::{Map, Value};

/// The parameter.
pub const EXTRA_DATA: &str = "extra_data";

/// The longest `extra_data` accepted, in characters.
const MAX_EXTRA_DATA: usize = 2048;

/// The form fields `extra_data` may fill, with the longest value each takes (their inputs'
/// `maxlength`): a longer one is ignored.
const FIELDS: [(&str, usize); 3] = [("hostname", 253), ("username", 1024), ("region", 32)];

/// The defaults of the pop-up's forms.
#[derive(Debug, Default)]
pub struct Prefill {
    /// The server of a per-server service (the hostname and credentials forms).
    pub hostname: Option<String>,
    /// The user name of a basic service (the credentials form).
    pub username: Option<String>,
    /// The region of a regional service (the credentials form: S3's).
    pub region: Option<String>,
}

impl Prefill {
    /// Reads `extra_data` (absent or empty: no defaults). Keys that fill no field, and values
    /// that are not non-empty strings of a field's length, are ignored; anything but a JSON
    /// object of at most [`MAX_EXTRA_DATA`] characters is refused (a sentence for the user).
    pub fn parse(extra_data: Option<&str>) -> Result<Prefill, String> {
        let text = extra_data.unwrap_or("");
        if text.is_empty() {
            return Ok(Prefill::default());
        }
        if text.chars().count() > MAX_EXTRA_DATA {
            return Err(format!(
                "The parameter {EXTRA_DATA} is too long (at most {MAX_EXTRA_DATA} characters)."
            ));
        }
        let object: Map<String, Value> = serde_json::from_str(text)
            .map_err(|_| format!("The parameter {EXTRA_DATA} is not a JSON object."))?;
        let field = |key: &str| {
            let (_, max) = FIELDS.iter().find(|(name, _)| *name == key)?;
            let value = object.get(key)?.as_str()?.trim();
            (!value.is_empty() && value.chars().count() <= *max).then(|| value.to_owned())
        };
        Ok(Prefill { hostname: field("hostname"), username: field("username"), region: field("region") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_forms_fields_as_non_empty_strings_of_their_length() {
        let prefill =
            Prefill::parse(Some(r#"{"hostname":" a.test ","username":"ann","password":"p"}"#)).unwrap();
        assert_eq!(prefill.hostname.as_deref(), Some("a.test"));
        assert_eq!(prefill.username.as_deref(), Some("ann"));
        let long = format!(r#"{{"hostname":"{}","username":7}}"#, "h".repeat(254));
        let ignored = Prefill::parse(Some(&long)).unwrap();
        assert!(ignored.hostname.is_none() && ignored.username.is_none());
        assert!(Prefill::parse(None).unwrap().hostname.is_none());
        assert!(Prefill::parse(Some("")).unwrap().hostname.is_none());
        assert!(Prefill::parse(Some("[]")).unwrap_err().contains("not a JSON object"));
        assert!(Prefill::parse(Some(&"{".repeat(2049))).unwrap_err().contains("too long"));
    }
}
