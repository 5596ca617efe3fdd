//! Which format a file is in, from its first bytes (never from its name).

/// The EVTX file header's magic.
pub(crate) const EVTX_FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
/// The EVTX chunk header's magic.
pub(crate) const EVTX_CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
/// The UTF-8 byte order mark, which some Windows tools write before JSON.
pub(crate) const UTF8_BOM: &[u8; 3] = b"\xef\xbb\xbf";

/// What the first bytes of a (decompressed) file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detected {
    /// An EVTX file: the file magic, or a damaged file header followed by a chunk.
    Evtx,
    /// One JSON value per line.
    JsonLines,
    /// JSON values one after another in any layout, arrays of objects included.
    JsonDocuments,
    /// Nothing but whitespace.
    Empty,
    /// None of the above.
    Unrecognised,
}

/// The format of a file whose first bytes are `prefix`; `complete` says that `prefix` is
/// the whole file.
///
/// JSON that starts with `{` is JSON lines when its first line holds exactly one complete
/// value, and JSON documents otherwise (a pretty-printed object opens with a line that
/// doesn't close it). JSON that starts with `[` is always JSON documents, which takes
/// arrays apart into their elements, one array per line included.
pub(crate) fn detect(prefix: &[u8], complete: bool) -> Detected {
    if prefix.starts_with(EVTX_FILE_MAGIC) {
        return Detected::Evtx;
    }
    // A file header damaged at its very start still has its first chunk where it belongs.
    if prefix.get(4096..4104) == Some(EVTX_CHUNK_MAGIC.as_slice()) {
        return Detected::Evtx;
    }
    let text = prefix.strip_prefix(UTF8_BOM).unwrap_or(prefix);
    let Some(start) = text.iter().position(|b| !is_json_space(*b)) else {
        return if complete {
            Detected::Empty
        } else {
            Detected::JsonDocuments
        };
    };
    let text = &text[start..];
    match text[0] {
        b'{' => {}
        b'[' => return Detected::JsonDocuments,
        _ => return Detected::Unrecognised,
    }
    let line = match memchr::memchr(b'\n', text) {
        Some(end) => &text[..end],
        None if complete => text,
        // A first line longer than the prefix: the documents reader takes any layout.
        None => return Detected::JsonDocuments,
    };
    if is_one_value(line) {
        Detected::JsonLines
    } else {
        Detected::JsonDocuments
    }
}

/// JSON's whitespace.
pub(crate) fn is_json_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether `line` is one object or array whose brackets balance, with nothing but
/// whitespace after it. Only brackets and strings are looked at: whether it parses is for
/// the reader to find out, line by line.
fn is_one_value(line: &[u8]) -> bool {
    let mut depth = 0_usize;
    let mut in_string = false;
    let mut escaped = false;
    for (index, &byte) in line.iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return line[index + 1..].iter().all(|b| is_json_space(*b));
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evtx_by_magic_or_by_its_first_chunk() {
        assert_eq!(detect(b"ElfFile\0rest", false), Detected::Evtx);
        let mut damaged = vec![0_u8; 4200];
        damaged[..8].copy_from_slice(b"ElfFXle\0");
        damaged[4096..4104].copy_from_slice(EVTX_CHUNK_MAGIC);
        assert_eq!(detect(&damaged, true), Detected::Evtx);
    }

    #[test]
    fn json_lines_have_a_complete_first_line() {
        assert_eq!(detect(b"{\"a\":1}\n{\"a\":2}\n", true), Detected::JsonLines);
        assert_eq!(
            detect(b"\xef\xbb\xbf  {\"a\":\"}\"}\r\n", true),
            Detected::JsonLines
        );
        assert_eq!(detect(b"{\"a\":1}", true), Detected::JsonLines);
    }

    #[test]
    fn documents_open_with_an_unclosed_line() {
        assert_eq!(
            detect(b"{\n  \"a\": 1\n}\n{\n}\n", true),
            Detected::JsonDocuments
        );
        assert_eq!(
            detect(b"[{\"a\":1},{\"a\":2}]", true),
            Detected::JsonDocuments
        );
        assert_eq!(detect(b"[\n{\"a\":1}\n]", true), Detected::JsonDocuments);
        assert_eq!(
            detect(b"[{\"a\":1}]\n[{\"a\":2}]\n", true),
            Detected::JsonDocuments
        );
        assert_eq!(
            detect(b"{\"a\":1}{\"a\":2}\n", true),
            Detected::JsonDocuments
        );
        assert_eq!(
            detect(b"{\"a\":1, \"b\": \"very long", false),
            Detected::JsonDocuments
        );
    }

    #[test]
    fn whitespace_is_empty_and_text_is_unrecognised() {
        assert_eq!(detect(b" \n\t\r\n", true), Detected::Empty);
        assert_eq!(detect(b"", true), Detected::Empty);
        assert_eq!(detect(b"PK\x03\x04", true), Detected::Unrecognised);
        assert_eq!(detect(b"<Event>", true), Detected::Unrecognised);
        assert_eq!(detect(b"\x1f\x8b\x08", true), Detected::Unrecognised);
    }
}
