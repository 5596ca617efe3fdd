//! Parsing JSON text into a [`serde_json::Value`], the same value
//! `serde_json::from_slice` returns, with fewer allocations.
//!
//! `serde_json` grows each object's map one member at a time (with the
//! workspace's `preserve_order` feature an `IndexMap`, whose entries and
//! index are reallocated and rehashed as it grows). Here the members of the
//! object being read are first collected on a stack shared by the whole
//! document, and the map is then made once at its final size; arrays the
//! same. The tokens are read by `serde_json`'s own deserializer, so what is
//! valid, the numbers and the error messages are all `serde_json`'s.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

thread_local! {
    /// The stacks, kept from one record to the next (they are empty between
    /// records; keeping their room saves allocating it for every record).
    static STACKS: RefCell<Stacks> = const {
        RefCell::new(Stacks {
            members: Vec::new(),
            items: Vec::new(),
        })
    };
}

/// Parses `bytes` as one JSON value (whitespace around it allowed).
pub(crate) fn parse_value(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = STACKS.with(|stacks| match stacks.try_borrow_mut() {
        Ok(mut stacks) => ValueSeed {
            stacks: &mut stacks,
        }
        .deserialize(&mut deserializer),
        // Not reached (parsing does not call itself); fresh stacks would do.
        Err(_) => ValueSeed {
            stacks: &mut Stacks {
                members: Vec::new(),
                items: Vec::new(),
            },
        }
        .deserialize(&mut deserializer),
    })?;
    deserializer.end()?;
    Ok(value)
}

/// The members and items of the objects and arrays being read.
struct Stacks {
    members: Vec<(String, Value)>,
    items: Vec<Value>,
}

/// Reads one value, using the shared stacks.
struct ValueSeed<'s> {
    stacks: &'s mut Stacks,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let start = self.stacks.items.len();
        loop {
            let seed = ValueSeed {
                stacks: &mut *self.stacks,
            };
            match seq.next_element_seed(seed) {
                Ok(Some(item)) => self.stacks.items.push(item),
                Ok(None) => break,
                Err(error) => {
                    self.stacks.items.truncate(start);
                    return Err(error);
                }
            }
        }
        Ok(Value::Array(self.stacks.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let start = self.stacks.members.len();
        let result = loop {
            let key = match map.next_key::<String>() {
                Ok(Some(key)) => key,
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            };
            let seed = ValueSeed {
                stacks: &mut *self.stacks,
            };
            match map.next_value_seed(seed) {
                Ok(value) => self.stacks.members.push((key, value)),
                Err(error) => break Err(error),
            }
        };
        if let Err(error) = result {
            self.stacks.members.truncate(start);
            return Err(error);
        }
        let mut object = Map::with_capacity(self.stacks.members.len() - start);
        // Inserted in order, so a repeated key keeps its last value (and,
        // with `preserve_order`, its first position), as in `serde_json`.
        for (key, value) in self.stacks.members.drain(start..) {
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_value_as_serde_json() {
        for text in [
            r#"{"a":1,"b":[1,2,{"c":null,"d":[[],{}]}],"e":"x\"\u00e9\ud83d\ude00","a":2}"#,
            r#"[18446744073709551615,-9223372036854775808,1.5e300,-0.0,0.1,1e-7,12345678901234567890123]"#,
            r#"  {"k":true,"l":false,"m":{"n":{"o":{"p":"q"}}},"r":"\n\t\\/"}  "#,
            r#""just a string""#,
            "3",
            "null",
            "{}",
            "[]",
        ] {
            let ours = parse_value(text.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }

    #[test]
    fn the_same_errors_as_serde_json() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for text in [
            "",
            "{",
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            "[1,2",
            "{} x",
            r#""\ud800""#,
            "\"\u{1}\"",
            deep.as_str(),
        ] {
            let ours = parse_value(text.as_bytes()).map_err(|e| e.to_string());
            let theirs = serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{text}");
        }
        let invalid_utf8 = b"{\"a\":\"\xff\"}";
        assert_eq!(
            parse_value(invalid_utf8).map_err(|e| e.to_string()),
            serde_json::from_slice::<Value>(invalid_utf8).map_err(|e| e.to_string())
        );
    }
}
