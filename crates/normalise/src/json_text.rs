//! Writing JSON text directly into a byte buffer: the same bytes
//! `serde_json::to_writer` writes (compact, its escapes), without going
//! through `serde`, and with strings that need no escape copied whole.

use std::io::Write;

use serde_json::Value;

/// Writes `text` as a JSON string, quoted and escaped as `serde_json` does
/// (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control bytes as `\u00XX`).
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // `copied`: bytes before it are in `out` already.
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if let Some(word) = bytes
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            && !needs_escape(u64::from_le_bytes(word))
        {
            at += 8;
            continue;
        }
        let byte = bytes[at];
        let escape = ESCAPE[usize::from(byte)];
        if escape != 0 {
            out.extend_from_slice(&bytes[copied..at]);
            if escape == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 15)],
                ]);
            } else {
                out.extend_from_slice(&[b'\\', escape]);
            }
            copied = at + 1;
        }
        at += 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

/// Writes `value` as compact JSON, objects in their map's order, exactly as
/// `serde_json::to_writer` does.
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => match number.as_u64() {
            Some(unsigned) => write_u64(out, unsigned),
            // `Number`'s `Display` is its serialisation (itoa, and the
            // shortest round-tripping text for floats); writing to a
            // `Vec` cannot fail.
            None => {
                let _ = write!(out, "{number}");
            }
        },
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Writes a non-negative integer in decimal.
pub fn write_u64(out: &mut Vec<u8>, mut number: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // A digit: the remainder is below 10.
        digits[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Whether any of the eight bytes of `word` is a control byte, `"` or `\`.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | quote | backslash) & HIGH != 0
}

const UU: u8 = b'u';
const __: u8 = 0;

/// The escape of each byte: `b'x'` for `\x`, `b'u'` for `\u00XX`, 0 for none
/// (`serde_json`'s table).
static ESCAPE: [u8; 256] = {
    let mut table = [__; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = UU;
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ours(value: &Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_same_text_as_serde_json() {
        for value in [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(-1),
            json!(0.1),
            json!(-0.0),
            json!(1.5e300),
            json!(1e-7),
            json!(2230.0),
            json!("plain text longer than eight bytes"),
            json!("\"quoted\" \\ back\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{7f} é 中 😀"),
            json!({"b": [1, "x", {"c": null}], "a": {}, "é": []}),
        ] {
            assert_eq!(ours(&value), serde_json::to_string(&value).unwrap());
        }
    }

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(text in "(\\PC|[\u{0}-\u{1f}\"\\\\]){0,40}") {
            let mut out = Vec::new();
            write_str(&mut out, &text);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
        }

        #[test]
        fn any_number_is_written_as_serde_json_writes_it(i in any::<i64>(), u in any::<u64>(), f in any::<f64>()) {
            for value in [json!(i), json!(u), json!(f)] {
                prop_assert_eq!(ours(&value), serde_json::to_string(&value).unwrap());
            }
        }
    }
}
