//! Passwords, random secrets and constant-time comparison.

use std::fmt;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nigehban_model::{Password, PasswordHash};
use subtle::ConstantTimeEq;

use crate::{AppError, AppResult};

/// A secret shown to a person or client once (an API token, a session
/// cookie value, a generated password). Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret text, to hand to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_string(text: String) -> Self {
        Self(text)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// 256 random bits from the thread's CSPRNG (seeded by the OS), base64url.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A generated one-time password: 20 characters from an unambiguous alphabet (~110 bits).
pub(crate) fn generate_password() -> AppResult<Password> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    // 256 is not a multiple of 56, so reject bytes in the biased top range.
    let mut text = String::with_capacity(20);
    let limit = 256 - 256 % ALPHABET.len();
    while text.len() < 20 {
        let mut byte = [0u8; 1];
        rand::fill(&mut byte);
        let value = usize::from(byte[0]);
        if value < limit {
            text.push(char::from(ALPHABET[value % ALPHABET.len()]));
        }
    }
    Password::parse(&text).map_err(|e| AppError::Internal(format!("generated password: {e}")))
}

/// HMAC-SHA256 of `message` under `key` (signed links, webhook signatures).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac as _;
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Whether `signature` is the HMAC-SHA256 of `message` under `key` (constant time).
pub(crate) fn hmac_sha256_matches(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    hmac_sha256(key, message).ct_eq(signature).into()
}

/// A fresh 256-bit key, base64url (kept by the duty roster for its signed links).
pub(crate) fn random_key() -> String {
    random_token()
}

/// Reads a base64url key or token part.
pub(crate) fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()
}

/// Writes bytes as base64url.
pub(crate) fn encode_base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Constant-time equality of two secrets' bytes.
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Argon2id cost parameters for password hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordHashing {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordHashing {
    /// The cheapest parameters Argon2 accepts: for tests only, never for real passwords.
    pub const fn insecure_fast_for_tests() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn hasher(&self) -> AppResult<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| AppError::Internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes a password with a fresh random salt (CPU-heavy: call off the async runtime).
    pub(crate) fn hash(&self, password: &Password) -> AppResult<PasswordHash> {
        let hash = self
            .hasher()?
            .hash_password(password.expose().as_bytes())
            .map_err(|e| AppError::Internal(format!("password hashing: {e}")))?;
        Ok(PasswordHash::from_phc(hash.to_string()))
    }

    /// Whether `password` matches `hash` (the parameters stored in the hash are used).
    pub(crate) fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        match self.hasher() {
            Ok(hasher) => hasher
                .verify_password(password.as_bytes(), hash.as_phc())
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// Runs CPU-heavy work (Argon2) on the blocking pool so it does not stall the async runtime.
pub(crate) async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("background task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hashing = PasswordHashing::insecure_fast_for_tests();
        let password = Password::parse("correct horse battery staple").unwrap();
        let hash = hashing.hash(&password).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(hashing.verify("correct horse battery staple", &hash));
        assert!(!hashing.verify("correct horse battery stable", &hash));
        assert!(!hashing.verify("x", &PasswordHash::from_phc("not a hash".into())));
    }

    #[test]
    fn generated_secrets_differ_and_are_long() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
        let password = generate_password().unwrap();
        assert_eq!(password.expose().len(), 20);
        assert_ne!(password, generate_password().unwrap());
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex_of(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(hmac_sha256_matches(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac
        ));
        assert!(!hmac_sha256_matches(
            b"Jefe",
            b"what do ya want for nothing!",
            &mac
        ));
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn secrets_are_redacted() {
        assert!(!format!("{:?}", Secret::from_string("hunter2".into())).contains("hunter2"));
    }
}
