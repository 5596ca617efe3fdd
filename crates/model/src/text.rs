//! What names typed by people may contain: no control or bidirectional formatting characters.
//!
//! Names (tenants, display names, sensors, tokens) are shown in the console,
//! in audit entries and in reports. A right-to-left override (U+202E) or an
//! isolate makes a name display differently from what it is ("Trojan
//! Source"): `acme\u{202E}gpj.exe` reads as `acmeexe.jpg`. Control characters
//! break logs and terminals. Both are refused at the edge. Zero-width joiners
//! (U+200C, U+200D) stay allowed: Urdu, Persian and other scripts need them.

use std::fmt;

/// A character that a name may not contain, and where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForbiddenCharacter {
    /// The character.
    pub character: char,
    /// Its position, counting characters from 1.
    pub position: usize,
}

impl fmt::Display for ForbiddenCharacter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "U+{:04X} ({}) at character {}",
            u32::from(self.character),
            describe(self.character),
            self.position
        )
    }
}

/// Whether `c` is a bidirectional formatting character: embeddings,
/// overrides, isolates and the implicit marks (LRM, RLM, ALM).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The first character of `text` that a name may not contain: a control
/// character (C0, DEL, C1) or a bidirectional formatting character.
pub fn forbidden_in_name(text: &str) -> Option<ForbiddenCharacter> {
    text.chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || is_bidi_control(*c))
        .map(|(index, character)| ForbiddenCharacter {
            character,
            position: index + 1,
        })
}

fn describe(c: char) -> &'static str {
    match c {
        '\u{061C}' => "arabic letter mark",
        '\u{200E}' => "left-to-right mark",
        '\u{200F}' => "right-to-left mark",
        '\u{202A}' => "left-to-right embedding",
        '\u{202B}' => "right-to-left embedding",
        '\u{202C}' => "pop directional formatting",
        '\u{202D}' => "left-to-right override",
        '\u{202E}' => "right-to-left override",
        '\u{2066}' => "left-to-right isolate",
        '\u{2067}' => "right-to-left isolate",
        '\u{2068}' => "first strong isolate",
        '\u{2069}' => "pop directional isolate",
        '\n' => "line feed",
        '\r' => "carriage return",
        '\t' => "tab",
        _ => "control character",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bidi_control_and_control_character_is_found_with_its_place() {
        let forbidden = [
            '\u{0}', '\u{7}', '\n', '\u{1B}', '\u{7F}', '\u{80}', '\u{9F}', '\u{061C}', '\u{200E}',
            '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}',
            '\u{2067}', '\u{2068}', '\u{2069}',
        ];
        for c in forbidden {
            let name = format!("ab{c}cd");
            let found = forbidden_in_name(&name).unwrap_or_else(|| panic!("{:04X}", u32::from(c)));
            assert_eq!((found.character, found.position), (c, 3));
        }
        let rlo = forbidden_in_name("acme\u{202E}gpj.exe").unwrap();
        assert_eq!(
            rlo.to_string(),
            "U+202E (right-to-left override) at character 5"
        );
    }

    #[test]
    fn names_in_every_script_pass() {
        for name in [
            "Pakistan Telecommunication Authority",
            "قومی سرٹ",
            "می\u{200C}خواهم",
            "Ñandú S.A.",
            "中国银行",
            "user@example — team",
        ] {
            assert_eq!(forbidden_in_name(name), None, "{name}");
        }
    }
}
