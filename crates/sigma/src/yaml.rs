//! A small YAML document tree with source positions.
//!
//! Rules are read through `yaml-rust2`'s event parser rather than a serde
//! deserializer so that every node keeps the line and column it came from
//! (for diagnostics), plain scalars keep their exact text (`0x17`, `01`,
//! `4688` are compared as written, never re-rendered from a number), and a
//! syntax error in the third document of a file still yields the first two.

use yaml_rust2::parser::{Event as YamlEvent, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a source text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, counted from 1.
    pub line: u32,
    /// Column, counted from 1.
    pub column: u32,
}

/// One YAML node with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// Where the node starts.
    pub pos: Pos,
}

/// The three kinds of YAML nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar: its text and whether it was written plain (unquoted).
    Scalar {
        /// The scalar's text after YAML unquoting.
        text: String,
        /// True for a plain (unquoted) scalar, which may be null, bool or a number.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order (keys are nodes so they keep positions).
    Map(Vec<(Node, Node)>),
}

/// What a scalar means under YAML's core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    /// `null`, `~` or empty.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer or floating-point number.
    Number,
    /// Anything else, and every quoted scalar.
    Str,
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The mapping entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up a key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The core-schema type of a scalar (`Str` for non-scalars).
    pub fn scalar_type(&self) -> ScalarType {
        match &self.kind {
            NodeKind::Scalar { text, plain: true } => plain_scalar_type(text),
            _ => ScalarType::Str,
        }
    }

    /// True for a null scalar.
    pub fn is_null(&self) -> bool {
        self.scalar_type() == ScalarType::Null
    }

    /// A short name of the node's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "null",
            NodeKind::Scalar { .. } => "scalar",
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "map",
        }
    }
}

fn plain_scalar_type(text: &str) -> ScalarType {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => ScalarType::Null,
        "true" | "True" | "TRUE" => ScalarType::Bool(true),
        "false" | "False" | "FALSE" => ScalarType::Bool(false),
        _ if is_number(text) => ScalarType::Number,
        _ => ScalarType::Str,
    }
}

fn is_number(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b));
    }
    !t.is_empty()
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && t.parse::<f64>().is_ok()
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// The parser's explanation.
    pub message: String,
}

/// Parses every document of a YAML stream.
///
/// Documents completed before a syntax error are returned along with the error.
pub fn parse_documents(text: &str) -> (Vec<Node>, Option<SyntaxError>) {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let result = parser.load(&mut builder, true);
    let error = result.err().map(|e| SyntaxError {
        pos: pos_of(e.marker()),
        message: e.info().to_string(),
    });
    (builder.docs, error)
}

fn pos_of(m: &Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node)>,
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: YamlEvent, mark: Marker) {
        let pos = pos_of(&mark);
        match ev {
            YamlEvent::Scalar(text, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                self.push_node(
                    Node {
                        kind: NodeKind::Scalar { text, plain },
                        pos,
                    },
                    anchor,
                );
            }
            YamlEvent::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(pos, anchor, Vec::new()))
            }
            YamlEvent::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(pos, anchor, Vec::new(), None));
            }
            YamlEvent::SequenceEnd | YamlEvent::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(p, a, items)) => (
                        Node {
                            kind: NodeKind::Seq(items),
                            pos: p,
                        },
                        a,
                    ),
                    Some(Frame::Map(p, a, entries, _)) => (
                        Node {
                            kind: NodeKind::Map(entries),
                            pos: p,
                        },
                        a,
                    ),
                    None => return,
                };
                self.push_node(node, anchor);
            }
            YamlEvent::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone());
                if let Some(mut node) = node {
                    node.pos = pos;
                    self.push_node(node, 0);
                }
            }
            YamlEvent::DocumentStart => self.anchors.clear(),
            YamlEvent::Nothing
            | YamlEvent::StreamStart
            | YamlEvent::StreamEnd
            | YamlEvent::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_multi_documents() {
        let (docs, err) = parse_documents("a: 1\nb:\n  - x\n  - 'y'\n---\nc: ~\n");
        assert!(err.is_none());
        assert_eq!(docs.len(), 2);
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.as_seq().unwrap()[1].as_str(), Some("y"));
        assert_eq!(b.as_seq().unwrap()[0].pos, Pos { line: 3, column: 5 });
        assert!(docs[1].get("c").unwrap().is_null());
        assert_eq!(docs[0].get("a").unwrap().scalar_type(), ScalarType::Number);
    }

    #[test]
    fn error_keeps_earlier_documents() {
        let (docs, err) = parse_documents("a: 1\n---\nb: [1, 2\n");
        assert_eq!(docs.len(), 1);
        let err = err.unwrap();
        assert!(err.pos.line >= 3, "{err:?}");
    }

    #[test]
    fn hex_stays_text() {
        let (docs, _) = parse_documents("t: 0x40810000\nq: '12'\n");
        assert_eq!(docs[0].get("t").unwrap().as_str(), Some("0x40810000"));
        assert_eq!(docs[0].get("q").unwrap().scalar_type(), ScalarType::Str);
    }
}
