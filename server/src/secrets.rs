//! Secrets at rest: upstream tokens (and the pop-up's pending upstream requests) are stored
//! sealed with XChaCha20-Poly1305 under a 256-bit key the operator supplies — a file
//! (`--secret-key-file`) or the environment (`AUTHENTICATOR_SECRET_KEY`), 64 hex digits — or,
//! by default, one created with mode 0600 in the data directory on first run. Each sealed value
//! is bound to what it belongs to (the associated data), so a row copied onto another does not
//! open. Opening with another key fails with [`OpenError`], never garbage.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};
use std::path::{Path, PathBuf};

/// The environment variable that may hold the key.
pub const KEY_VARIABLE: &str = "AUTHENTICATOR_SECRET_KEY";

/// The format version that leads every sealed value.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Where the key comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum KeySource {
    /// A file the operator gave (`--secret-key-file`): it must exist.
    File(PathBuf),
    /// The default: the environment variable if set, else `secret.key` in the data directory,
    /// created when missing.
    Default(PathBuf),
}

/// The key: never printed; the cipher zeroes its copy when dropped, and the text and bytes it
/// was read from are held as secrets (zeroed when dropped) on the way.
#[derive(Clone)]
pub struct SecretKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// What an account's sealed secrets are bound to: its app, service and upstream subject, so a
/// sealed value copied onto another account's row does not open there.
pub fn account_owner(client_id: &str, service: &str, subject: &str) -> String {
    format!("{client_id}\n{service}\n{subject}")
}

/// A sealed value that does not open: another key, another owner, or damaged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenError;

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "a stored secret cannot be decrypted with this server's secret key (was the key changed or lost?)",
        )
    }
}

impl std::error::Error for OpenError {}

impl SecretKey {
    /// The key from 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<SecretKey, String> {
        let mut bytes = SecretBox::new(Box::new([0u8; 32]));
        hex::decode_to_slice(text.trim(), bytes.expose_secret_mut())
            .map_err(|_| "the secret key must be 64 hexadecimal digits (256 bits)")?;
        Ok(SecretKey { cipher: XChaCha20Poly1305::new(bytes.expose_secret().into()) })
    }

    /// Loads the key from `source`; the default creates the file (mode 0600, its folder too)
    /// when neither it nor the environment variable exists.
    pub fn load(source: &KeySource) -> Result<SecretKey, String> {
        match source {
            KeySource::File(path) => read_key(path),
            KeySource::Default(path) => {
                if let Ok(text) = std::env::var(KEY_VARIABLE).map(SecretString::from) {
                    return SecretKey::from_hex(text.expose_secret())
                        .map_err(|e| format!("{KEY_VARIABLE}: {e}"));
                }
                if path.exists() {
                    return read_key(path);
                }
                create_key(path)
            }
        }
    }

    /// Seals `plain`, bound to `owner` (for an account's secrets, [`account_owner`]): version, a
    /// random nonce, then the ciphertext and tag.
    pub fn seal(&self, plain: &[u8], owner: &[u8]) -> Result<Vec<u8>, getrandom::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)?;
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: owner })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`SecretKey::seal`] sealed for the same `owner`.
    pub fn open(&self, sealed: &[u8], owner: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: owner })
            .map_err(|_| OpenError)
    }
}

fn read_key(path: &Path) -> Result<SecretKey, String> {
    let text = std::fs::read_to_string(path)
        .map(SecretString::from)
        .map_err(|e| format!("cannot read the secret key file {}: {}", path.display(), e.kind()))?;
    SecretKey::from_hex(text.expose_secret()).map_err(|e| format!("{}: {e}", path.display()))
}

fn create_key(path: &Path) -> Result<SecretKey, String> {
    let cannot =
        |e: std::io::Error| format!("cannot create the secret key file {}: {}", path.display(), e.kind());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(cannot)?;
    }
    let mut bytes = SecretBox::new(Box::new([0u8; 32]));
    getrandom::fill(bytes.expose_secret_mut()).map_err(|e| format!("random source: {e}"))?;
    let text = SecretString::from(hex::encode(bytes.expose_secret()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(cannot)?;
    std::io::Write::write_all(&mut file, text.expose_secret().as_bytes()).map_err(cannot)?;
    std::io::Write::write_all(&mut file, b"\n").map_err(cannot)?;
    tracing::warn!(
        "created a new secret key in {} (keep it: the stored upstream tokens need it)",
        path.display()
    );
    SecretKey::from_hex(text.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_key_and_owner() {
        let key = SecretKey::from_hex(&"11".repeat(32)).unwrap();
        let sealed = key.seal(b"refresh-token-xyz", b"owner").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"refresh"), "no plaintext");
        assert_eq!(key.open(&sealed, b"owner").unwrap(), b"refresh-token-xyz");
        assert_eq!(key.open(&sealed, b"other"), Err(OpenError));
        let other = SecretKey::from_hex(&"22".repeat(32)).unwrap();
        assert_eq!(other.open(&sealed, b"owner"), Err(OpenError));
        assert_eq!(key.open(&sealed[..10], b"owner"), Err(OpenError));
        assert_ne!(key.seal(b"x", b"o").unwrap(), key.seal(b"x", b"o").unwrap(), "fresh nonces");
        assert!(format!("{key:?}").contains("***"));
        for bad in ["", "zz", &"1".repeat(63), &"g".repeat(64)] {
            assert!(SecretKey::from_hex(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_key_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret.key");
        // The variable is not set in the test environment (nothing else sets it).
        let first = SecretKey::load(&KeySource::Default(path.clone())).unwrap();
        let again = SecretKey::load(&KeySource::Default(path.clone())).unwrap();
        let sealed = first.seal(b"t", b"o").unwrap();
        assert_eq!(again.open(&sealed, b"o").unwrap(), b"t", "the same key the second time");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let missing = SecretKey::load(&KeySource::File(dir.path().join("none.key"))).unwrap_err();
        assert!(missing.contains("cannot read the secret key file"), "{missing}");
    }
}
