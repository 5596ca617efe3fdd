//! API tokens and browser sessions: credentials stored only as hashes.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{InstanceId, Role, SessionId, TenantId, Timestamp, TokenId, UserId};

/// SHA-256 of a high-entropy secret (an API token or a session cookie).
///
/// Secrets are random 256-bit values, so a plain hash is enough: there is
/// nothing to brute-force, and a stolen database yields no usable credential.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes a secret as presented by a client.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Wraps hash bytes read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// Longest API token name, in characters.
pub const TOKEN_NAME_MAX_CHARS: usize = 100;

/// An API token name that was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "token name must be 1 to {TOKEN_NAME_MAX_CHARS} characters without control or bidirectional formatting characters"
)]
pub struct InvalidTokenName;

/// A label for an API token, e.g. "telecom sensor 3" or "TAXII pull for SIEM".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenName(String);

impl TokenName {
    /// Parses a token name, trimming white space.
    pub fn parse(text: &str) -> Result<Self, InvalidTokenName> {
        let name = text.trim();
        if name.is_empty()
            || name.chars().count() > TOKEN_NAME_MAX_CHARS
            || crate::text::forbidden_in_name(name).is_some()
        {
            return Err(InvalidTokenName);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TokenName {
    type Error = InvalidTokenName;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TokenName> for String {
    fn from(value: TokenName) -> Self {
        value.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An API token: a bearer credential scoped to one tenant and one role.
///
/// Only the SHA-256 of its secret is stored; the secret is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Its id.
    pub id: TokenId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The tenant the token acts in.
    pub tenant: TenantId,
    /// The role the token acts in.
    pub role: Role,
    /// The user who created it and on whose behalf it acts; `None` if the
    /// operator created it at the command line.
    pub owner: Option<UserId>,
    /// Its label.
    pub name: TokenName,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was last used to authenticate.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// The sensor this token is bound to (reserved for sensor enrolment; not yet used).
    pub sensor: Option<String>,
}

impl ApiToken {
    /// Whether the token may authenticate at `now`: not revoked and not expired.
    pub fn is_usable_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// A browser session. Only the SHA-256 of the cookie value is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The signed-in user.
    pub user: UserId,
    /// The user's tenant at sign-in.
    pub tenant: TenantId,
    /// The secret the console sends back in a header with every state-changing request.
    #[serde(skip_serializing, default)]
    pub csrf_secret: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it ends unless renewed by use.
    pub expires_at: Timestamp,
    /// When it was last used.
    pub last_seen_at: Timestamp,
    /// When it was ended by sign-out or an administrator, if it was.
    pub revoked_at: Option<Timestamp>,
    /// The address it was created from.
    pub remote_addr: Option<String>,
}

impl Session {
    /// Whether the session is still valid at `now`.
    pub fn is_live_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_is_sha256() {
        let hash = SecretHash::of("abc");
        assert_eq!(
            hex::encode(hash.as_bytes()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!format!("{hash:?}").contains("ba7816bf8f01"));
    }

    #[test]
    fn token_names_are_bounded() {
        assert!(TokenName::parse(" sensor 3 ").is_ok());
        assert!(TokenName::parse("").is_err());
        assert!(TokenName::parse(&"t".repeat(101)).is_err());
    }
}
