//! What the matcher needs from an event.
//!
//! The sigma crate never parses log files: readers elsewhere produce events and
//! implement [`Event`] over their own representation (for example a
//! `serde_json::Value` in the layout of the `evtx` crate), so that one event is
//! never copied into a second structure just to be matched.

/// One scalar value of an event field, borrowed from the event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// An explicit null (JSON `null`, an empty XML element rendered as null).
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer that does not fit in `i64`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(&'a str),
}

/// An event as a Sigma rule sees it: fields looked up by the names rules use.
///
/// Field names are the ones a Sigma rule writes after logsource field mapping
/// (`CommandLine`, `EventID`, `Channel`, `Provider_Name`, `id.orig_h`, ...).
/// Implementations decide where such a name lives in their own layout.
pub trait Event {
    /// Calls `visit` once for each value the field `name` has in this event:
    /// never when the field is absent, once per element when it holds a list.
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>));

    /// Calls `visit` for every scalar value anywhere in the event, for keyword
    /// (field-less) searches.
    fn values(&self, visit: &mut dyn FnMut(Value<'_>));

    /// Calls `visit(name, value)` for every field of the event, under the same
    /// names and with the same values [`field`](Event::field) gives, and
    /// returns `true`; or returns `false` without calling `visit` when the
    /// implementation cannot enumerate its fields (the default).
    ///
    /// Optional, for speed: a rule set refers to dozens of field names per
    /// kind of event, most of them absent from any one event. When an event
    /// can list its fields, the matcher visits each once and finds what rules
    /// want by hashing the name, instead of asking for every name in turn.
    /// Keyword (field-less) searches then look at the enumerated values too,
    /// instead of calling [`values`](Event::values).
    fn for_each_field(&self, visit: &mut dyn FnMut(&str, Value<'_>)) -> bool {
        let _ = visit;
        false
    }
}
