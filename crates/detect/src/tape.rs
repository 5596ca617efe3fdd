//! Records read for detection: a JSON object parsed into a flat, reusable tape.
//!
//! Detection (a hunt over files, or the live stage) looks at a few fields of
//! every event and copies out the few events that rules match. Building a `serde_json::Value` per event (an allocation
//! per key and per string, a hashed map per object) cost more than matching;
//! a [`JsonTape`] instead holds the nodes of one event in one vector and the
//! text of its strings and keys in one string, both kept from event to event,
//! so parsing allocates nothing once the first events have been read.
//!
//! The tape is filled by `sonic-rs`, the parser the readers of
//! `nigehban-logfiles` use, through serde: what it accepts as JSON is exactly
//! what the readers accept, and each value is what `serde_json::Value` would
//! hold (`u64` numbers that fit an `i64` are `Int`; non-finite floats are null;
//! when a key appears twice in an object, the first place holds the last value,
//! as in `serde_json::Map` with `preserve_order`).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

/// The place of a node in its [`JsonTape`].
pub type NodeId = u32;

/// The root of every tape: the event object.
pub const ROOT: NodeId = 0;

/// One node of a [`JsonTape`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits an `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// Any other number.
    Float(f64),
    /// A string: the tape's text from `start` to `end`.
    Str {
        /// Where the string starts in the tape's text.
        start: u32,
        /// Where it ends.
        end: u32,
    },
    /// An array: its elements follow, up to node `end` (excluded).
    Array {
        /// The first node after the array's last element.
        end: NodeId,
    },
    /// An object: its keys follow, each followed by its value, up to node `end`.
    Object {
        /// The first node after the object's last value.
        end: NodeId,
    },
    /// A key of an object.
    Key {
        /// Where the key starts in the tape's text.
        start: u32,
        /// Where it ends.
        end: u32,
        /// The node of the key's value: the next node, or for a key the object
        /// has again further on, the value of its last appearance.
        value: NodeId,
        /// A later appearance of a key the object already had: left out.
        repeated: bool,
    },
}

/// One JSON object, parsed into nodes (see the module documentation).
#[derive(Debug, Default, Clone)]
pub struct JsonTape {
    nodes: Vec<Node>,
    text: String,
    /// Keys of the objects being parsed, innermost last: for finding repeats.
    open_keys: Vec<NodeId>,
}

/// Inputs at least this long are left to the slow path: node and text
/// positions are `u32`.
const MAX_INPUT: usize = (u32::MAX / 4) as usize;

impl JsonTape {
    /// An empty tape.
    pub fn new() -> Self {
        JsonTape::default()
    }

    /// Parses `json` as one JSON object (with whitespace around it) into the
    /// tape, replacing what it held. Returns false when `json` is not a JSON
    /// object; the tape then holds nothing useful.
    pub fn parse(&mut self, json: &[u8]) -> bool {
        self.clear();
        if json.len() >= MAX_INPUT {
            return false;
        }
        // Only an object is an event: leave anything else to the reader's error.
        let first = json
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if first != Some(&b'{') {
            return false;
        }
        let mut deserializer = sonic_rs::Deserializer::from_slice(json);
        NodeSeed(self).deserialize(&mut deserializer).is_ok() && deserializer.end().is_ok()
    }

    /// Loads `value` into the tape, replacing what it held (for events read
    /// the slow way, by `nigehban_logfiles::RawRecord::decode`).
    pub fn load(&mut self, value: &Json) {
        self.clear();
        self.push_value(value);
    }

    fn clear(&mut self) {
        self.nodes.clear();
        self.text.clear();
        self.open_keys.clear();
    }

    fn push_value(&mut self, value: &Json) {
        match value {
            Json::Null => self.push(Node::Null),
            Json::Bool(b) => self.push(Node::Bool(*b)),
            Json::Number(n) => self.push(if let Some(i) = n.as_i64() {
                Node::Int(i)
            } else if let Some(u) = n.as_u64() {
                Node::UInt(u)
            } else {
                Node::Float(n.as_f64().unwrap_or(f64::NAN))
            }),
            Json::String(s) => self.push_str(s),
            Json::Array(items) => {
                let at = self.open(Node::Array { end: 0 });
                for item in items {
                    self.push_value(item);
                }
                self.close(at);
            }
            Json::Object(map) => {
                let at = self.open(Node::Object { end: 0 });
                for (key, item) in map {
                    self.push_key(key);
                    self.push_value(item);
                }
                self.close(at);
            }
        }
    }

    fn push(&mut self, node: Node) {
        self.nodes.push(node);
    }

    fn push_str(&mut self, s: &str) {
        let (start, end) = self.push_text(s);
        self.push(Node::Str { start, end });
    }

    fn push_key(&mut self, s: &str) -> NodeId {
        let (start, end) = self.push_text(s);
        let at = self.nodes.len() as NodeId;
        self.push(Node::Key {
            start,
            end,
            value: at + 1,
            repeated: false,
        });
        at
    }

    fn push_text(&mut self, s: &str) -> (u32, u32) {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        (start, self.text.len() as u32)
    }

    /// Pushes an array or object node whose end is set by [`JsonTape::close`].
    fn open(&mut self, node: Node) -> NodeId {
        let at = self.nodes.len() as NodeId;
        self.push(node);
        at
    }

    fn close(&mut self, at: NodeId) {
        let end = self.nodes.len() as NodeId;
        match &mut self.nodes[at as usize] {
            Node::Array { end: e } | Node::Object { end: e } => *e = end,
            _ => {}
        }
    }

    /// The node at `id`.
    pub fn node(&self, id: NodeId) -> Option<Node> {
        self.nodes.get(id as usize).copied()
    }

    /// The text from `start` to `end`.
    fn text(&self, start: u32, end: u32) -> &str {
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// The string at `id`, if it is one.
    pub fn str(&self, id: NodeId) -> Option<&str> {
        match self.node(id)? {
            Node::Str { start, end } => Some(self.text(start, end)),
            _ => None,
        }
    }

    /// Whether the node at `id` is an object.
    pub fn is_object(&self, id: NodeId) -> bool {
        matches!(self.node(id), Some(Node::Object { .. }))
    }

    /// The first node after the node at `id` and everything inside it.
    fn after(&self, id: NodeId) -> NodeId {
        match self.node(id) {
            Some(Node::Array { end } | Node::Object { end }) => end,
            _ => id + 1,
        }
    }

    /// The value of `key` in the object at `id` (`None` if `id` is not an object).
    pub fn get(&self, id: NodeId, key: &str) -> Option<NodeId> {
        // The hottest lookup of a hunt: keys are told apart by their length
        // before their text is compared.
        let Some(Node::Object { end }) = self.node(id) else {
            return None;
        };
        let mut at = id + 1;
        while at < end {
            let Some(Node::Key {
                start,
                end: key_end,
                value,
                repeated,
            }) = self.node(at)
            else {
                return None;
            };
            if !repeated
                && (key_end - start) as usize == key.len()
                && self.text.as_bytes().get(start as usize..key_end as usize)
                    == Some(key.as_bytes())
            {
                return Some(value);
            }
            at = self.after(at + 1);
        }
        None
    }

    /// The keys and values of the object at `id`, in order, each key once
    /// (nothing if `id` is not an object).
    pub fn entries(&self, id: NodeId) -> Entries<'_> {
        let (at, end) = match self.node(id) {
            Some(Node::Object { end }) => (id + 1, end),
            _ => (0, 0),
        };
        Entries {
            tape: self,
            at,
            end,
        }
    }

    /// The elements of the array at `id` (nothing if `id` is not an array).
    pub fn elements(&self, id: NodeId) -> Elements<'_> {
        let (at, end) = match self.node(id) {
            Some(Node::Array { end }) => (id + 1, end),
            _ => (0, 0),
        };
        Elements {
            tape: self,
            at,
            end,
        }
    }
}

/// The entries of an object (see [`JsonTape::entries`]).
#[derive(Debug, Clone)]
pub struct Entries<'t> {
    tape: &'t JsonTape,
    at: NodeId,
    end: NodeId,
}

impl<'t> Iterator for Entries<'t> {
    type Item = (&'t str, NodeId);

    fn next(&mut self) -> Option<Self::Item> {
        while self.at < self.end {
            let key = self.tape.node(self.at)?;
            self.at = self.tape.after(self.at + 1);
            if let Node::Key {
                start,
                end,
                value,
                repeated: false,
            } = key
            {
                return Some((self.tape.text(start, end), value));
            }
        }
        None
    }
}

/// The elements of an array (see [`JsonTape::elements`]).
#[derive(Debug, Clone)]
pub struct Elements<'t> {
    tape: &'t JsonTape,
    at: NodeId,
    end: NodeId,
}

impl Iterator for Elements<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.at >= self.end {
            return None;
        }
        let id = self.at;
        self.at = self.tape.after(id);
        Some(id)
    }
}

/// Parses one value into the tape.
struct NodeSeed<'t>(&'t mut JsonTape);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.push(Node::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.push(Node::Int(v));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.push(match i64::try_from(v) {
            Ok(i) => Node::Int(i),
            Err(_) => Node::UInt(v),
        });
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // serde_json::Value holds no NaN or infinity: it makes them null.
        self.0.push(if v.is_finite() {
            Node::Float(v)
        } else {
            Node::Null
        });
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.push(Node::Null);
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.0.push(Node::Null);
        Ok(())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let tape = self.0;
        let at = tape.open(Node::Array { end: 0 });
        while seq.next_element_seed(NodeSeed(&mut *tape))?.is_some() {}
        tape.close(at);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let tape = self.0;
        let at = tape.open(Node::Object { end: 0 });
        let keys_from = tape.open_keys.len();
        // A small filter of the keys seen so far: a key whose bit is not set
        // cannot be a repeat, which spares comparing it with every earlier key.
        let mut seen: u128 = 0;
        while let Some(key) = map.next_key_seed(KeySeed(&mut *tape))? {
            let text = tape.key_text(key);
            let bit = 1u128 << key_hash(text.as_bytes());
            let earlier = if seen & bit != 0 {
                tape.open_keys[keys_from..]
                    .iter()
                    .copied()
                    .find(|&k| tape.key_text(k) == text)
            } else {
                None
            };
            seen |= bit;
            map.next_value_seed(NodeSeed(&mut *tape))?;
            match earlier {
                Some(first) => tape.repeat_key(first, key),
                None => tape.open_keys.push(key),
            }
        }
        tape.open_keys.truncate(keys_from);
        tape.close(at);
        Ok(())
    }
}

impl JsonTape {
    fn key_text(&self, key: NodeId) -> &str {
        match self.node(key) {
            Some(Node::Key { start, end, .. }) => self.text(start, end),
            _ => "",
        }
    }

    /// `later` is a repeat of the key `first`: `first` takes its value (the
    /// next node after it), and `later` is left out.
    fn repeat_key(&mut self, first: NodeId, later: NodeId) {
        if let Some(Node::Key { value, .. }) = self.nodes.get_mut(first as usize) {
            *value = later + 1;
        }
        if let Some(Node::Key { repeated, .. }) = self.nodes.get_mut(later as usize) {
            *repeated = true;
        }
    }
}

/// A number from 0 to 127 for a key, from its length and three of its bytes.
fn key_hash(key: &[u8]) -> u32 {
    let len = key.len();
    let byte = |i: usize| key.get(i).copied().unwrap_or(0) as u32;
    (len as u32)
        .wrapping_mul(31)
        .wrapping_add(byte(0))
        .wrapping_add(byte(len / 2).wrapping_mul(7))
        .wrapping_add(byte(len.wrapping_sub(1)).wrapping_mul(13))
        % 128
}

/// Parses one key into the tape.
struct KeySeed<'t>(&'t mut JsonTape);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = NodeId;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<NodeId, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = NodeId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<NodeId, E> {
        Ok(self.0.push_key(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The tape read back as a `serde_json::Value`.
    fn to_value(tape: &JsonTape, id: NodeId) -> Json {
        match tape.node(id).unwrap() {
            Node::Null => Json::Null,
            Node::Bool(b) => Json::Bool(b),
            Node::Int(i) => json!(i),
            Node::UInt(u) => json!(u),
            Node::Float(f) => json!(f),
            Node::Str { .. } => Json::String(tape.str(id).unwrap().to_owned()),
            Node::Array { .. } => {
                Json::Array(tape.elements(id).map(|e| to_value(tape, e)).collect())
            }
            Node::Object { .. } => Json::Object(
                tape.entries(id)
                    .map(|(k, v)| (k.to_owned(), to_value(tape, v)))
                    .collect(),
            ),
            Node::Key { .. } => panic!("a key where a value should be"),
        }
    }

    /// What the readers make of `bytes`: an event, or nothing.
    fn reader_view(bytes: &[u8]) -> Option<Json> {
        match sonic_rs::from_slice::<Json>(bytes) {
            Ok(value @ Json::Object(_)) => Some(value),
            _ => None,
        }
    }

    fn check(bytes: &[u8]) {
        let mut tape = JsonTape::new();
        let parsed = tape.parse(bytes);
        let expected = reader_view(bytes);
        assert_eq!(
            parsed,
            expected.is_some(),
            "{}",
            String::from_utf8_lossy(bytes)
        );
        if let Some(expected) = expected {
            assert_eq!(to_value(&tape, ROOT), expected);
            // Key order too, as `preserve_order` keeps it.
            assert_eq!(to_value(&tape, ROOT).to_string(), expected.to_string());
        }
        let mut loaded = JsonTape::new();
        if let Some(expected) = reader_view(bytes) {
            loaded.load(&expected);
            assert_eq!(to_value(&loaded, ROOT), expected);
        }
    }

    #[test]
    fn reads_what_serde_json_values_hold() {
        check(br#"{"a": 1, "b": [true, null, -2, 18446744073709551615, 1.5, "x\\y\u00e9"], "c": {"d": {}}}"#);
        check(br#"  {"e": []}  "#);
        check(br#"{"k": 1, "j": 2, "k": 3, "k": {"z": 4}}"#);
        check(br#"{"big": 1e400, "neg": -0, "exp": 2E-3}"#);
        check(b"[1, 2]");
        check(b"\"text\"");
        check(b"{\"a\": 1} x");
        check(b"{\"a\": 1");
        check(b"{\"a\": \"\xff\"}");
        check(b"");
    }

    #[test]
    fn repeated_keys_keep_their_first_place_and_last_value() {
        let mut tape = JsonTape::new();
        assert!(tape.parse(br#"{"k": 1, "j": 2, "k": 3}"#));
        let entries: Vec<_> = tape
            .entries(ROOT)
            .map(|(k, v)| (k, tape.node(v).unwrap()))
            .collect();
        assert_eq!(entries, [("k", Node::Int(3)), ("j", Node::Int(2))]);
        assert_eq!(
            tape.get(ROOT, "k").and_then(|v| tape.node(v)),
            Some(Node::Int(3))
        );
    }

    fn json_value() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "[a-c\\\\\"é😀 ]{0,6}".prop_map(Json::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
                prop::collection::vec(("[a-d#]{0,3}", inner), 0..6).prop_map(|entries| {
                    // Written by hand below, so that keys can repeat.
                    Json::Array(entries.into_iter().map(|(k, v)| json!([k, v])).collect())
                }),
            ]
        })
    }

    /// Renders `value`, turning `[[key, value], ...]` arrays made by
    /// `json_value` into objects whose keys may repeat.
    fn render(value: &Json, out: &mut String) {
        match value {
            Json::Array(items)
                if !items.is_empty()
                    && items.iter().all(|i| {
                        i.as_array()
                            .is_some_and(|p| p.len() == 2 && p[0].is_string())
                    }) =>
            {
                out.push('{');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&item[0].to_string());
                    out.push(':');
                    render(&item[1], out);
                }
                out.push('}');
            }
            Json::Array(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    render(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn any_json_reads_as_the_readers_read_it(
            entries in prop::collection::vec(("[a-d#]{0,3}", json_value()), 0..8),
            cut in any::<prop::sample::Index>(),
            cut_it in any::<bool>(),
        ) {
            let mut text = String::from("{");
            for (n, (key, value)) in entries.iter().enumerate() {
                if n > 0 {
                    text.push(',');
                }
                text.push_str(&Json::String(key.clone()).to_string());
                text.push(':');
                render(value, &mut text);
            }
            text.push('}');
            check(text.as_bytes());
            if cut_it {
                let at = cut.index(text.len() + 1);
                check(&text.as_bytes()[..at.min(text.len())]);
            }
        }

        #[test]
        fn any_bytes_read_as_the_readers_read_them(
            bytes in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut input = b"{\"a\":".to_vec();
            input.extend(bytes);
            check(&input);
        }
    }
}
