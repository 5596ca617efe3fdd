//! User accounts and their credentials.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{ForbiddenCharacter, forbidden_in_name};
use crate::{InstanceId, Role, TenantId, Timestamp, UserId};

/// A user name, password or display name that was rejected, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCredentialText {
    /// The user name was empty.
    #[error("user name is empty")]
    EmptyUsername,
    /// The user name was longer than 64 characters.
    #[error("user name is longer than 64 characters")]
    UsernameTooLong,
    /// The user name had a character outside `a-z 0-9 . _ - @`.
    #[error(
        "user name contains {0:?}; only letters a-z, digits and the characters . _ - @ are allowed"
    )]
    UsernameCharacter(char),
    /// The display name was empty or too long.
    #[error("display name must be 1 to 200 characters")]
    DisplayName,
    /// The display name had a control or bidirectional formatting character.
    #[error(
        "display name contains {0}: control and bidirectional formatting characters are not allowed"
    )]
    DisplayNameCharacter(ForbiddenCharacter),
    /// The password was shorter than [`PASSWORD_MIN_CHARS`].
    #[error("password is shorter than {PASSWORD_MIN_CHARS} characters")]
    PasswordTooShort,
    /// The password was longer than [`PASSWORD_MAX_BYTES`].
    #[error("password is longer than {PASSWORD_MAX_BYTES} bytes")]
    PasswordTooLong,
}

/// A sign-in name: 1 to 64 characters of `a-z 0-9 . _ - @`, compared lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Parses a user name, folding it to lower case.
    pub fn parse(text: &str) -> Result<Self, InvalidCredentialText> {
        let name = text.trim().to_lowercase();
        if name.is_empty() {
            return Err(InvalidCredentialText::EmptyUsername);
        }
        if name.chars().count() > 64 {
            return Err(InvalidCredentialText::UsernameTooLong);
        }
        if let Some(bad) = name.chars().find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@'))
        }) {
            return Err(InvalidCredentialText::UsernameCharacter(bad));
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = InvalidCredentialText;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's name as shown in the console: 1 to 200 characters, no control
/// or bidirectional formatting characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name, trimming white space.
    pub fn parse(text: &str) -> Result<Self, InvalidCredentialText> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(InvalidCredentialText::DisplayName);
        }
        if let Some(found) = forbidden_in_name(name) {
            return Err(InvalidCredentialText::DisplayNameCharacter(found));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = InvalidCredentialText;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shortest password accepted, in characters.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Longest password accepted, in bytes (bounds the hashing work an attacker can cause).
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// A plaintext password: 12 characters to 1024 bytes. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Parses a password chosen by a person.
    pub fn parse(text: &str) -> Result<Self, InvalidCredentialText> {
        if text.len() > PASSWORD_MAX_BYTES {
            return Err(InvalidCredentialText::PasswordTooLong);
        }
        if text.chars().count() < PASSWORD_MIN_CHARS {
            return Err(InvalidCredentialText::PasswordTooShort);
        }
        Ok(Self(text.to_owned()))
    }

    /// The plaintext, to hash it or show a generated password once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An Argon2id password hash in PHC string format (`$argon2id$v=19$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced by the hasher or read back from storage.
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A user account. Belongs to exactly one tenant and acts in one role there.
///
/// The password hash is not part of this record (so it can never leak through
/// an API that returns users); storage keeps it beside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The tenant the user belongs to.
    pub tenant: TenantId,
    /// The sign-in name, unique on the instance.
    pub username: Username,
    /// The name shown in the console.
    pub display_name: DisplayName,
    /// The role the user acts in.
    pub role: Role,
    /// False once deactivated: the user can no longer sign in.
    pub active: bool,
    /// Whether the user must choose a new password at next sign-in (e.g. after a generated one).
    pub must_change_password: bool,
    /// Sign-in failures since the last success (sign-in is throttled per
    /// user and address, never locked for the account as a whole).
    pub failed_logins: u32,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_refuse_bidi_controls_naming_them() {
        assert_eq!(
            DisplayName::parse("Ayesha \u{202E}nahK"),
            Err(InvalidCredentialText::DisplayNameCharacter(
                crate::ForbiddenCharacter {
                    character: '\u{202E}',
                    position: 8
                }
            ))
        );
        for c in [
            '\u{200F}', '\u{2066}', '\u{2069}', '\u{202A}', '\u{85}', '\u{1}',
        ] {
            let error = DisplayName::parse(&format!("a{c}b")).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(&format!("U+{:04X}", u32::from(c))),
                "{error}"
            );
        }
        assert!(DisplayName::parse("عائشہ خان").is_ok());
    }

    #[test]
    fn usernames_fold_case_and_refuse_odd_characters() {
        assert_eq!(
            Username::parse(" Ayesha.Khan@cert.gov ").unwrap().as_str(),
            "ayesha.khan@cert.gov"
        );
        assert_eq!(
            Username::parse(""),
            Err(InvalidCredentialText::EmptyUsername)
        );
        assert_eq!(
            Username::parse("a b"),
            Err(InvalidCredentialText::UsernameCharacter(' '))
        );
        assert_eq!(
            Username::parse(&"a".repeat(65)),
            Err(InvalidCredentialText::UsernameTooLong)
        );
    }

    #[test]
    fn passwords_are_bounded_and_redacted() {
        assert_eq!(
            Password::parse("short"),
            Err(InvalidCredentialText::PasswordTooShort)
        );
        assert_eq!(
            Password::parse(&"x".repeat(1025)),
            Err(InvalidCredentialText::PasswordTooLong)
        );
        let password = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
        let hash = PasswordHash::from_phc("$argon2id$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }
}
