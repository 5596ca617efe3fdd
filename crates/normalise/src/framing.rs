//! Cutting a syslog byte stream (TCP, TLS) into messages, per RFC 6587.
//!
//! Two framings are in use: octet counting (`MSG-LEN SP SYSLOG-MSG`, RFC 6587
//! section 3.4.1, also RFC 5425 for TLS) and non-transparent framing, where a
//! line feed ends each message (section 3.4.2). [`Framing::Auto`] decides per
//! message, as rsyslog does: a frame that starts with a digit `1`-`9` followed
//! by more digits and a space is octet-counted; anything else (syslog
//! messages start with `<`) runs to the next line feed.
//!
//! [`FrameDecoder`] is incremental and does no I/O: push whatever bytes
//! arrived, then take frames until it has none. The frames are the same
//! however the stream was cut into pushes. A frame longer than the limit is
//! skipped and reported with its stream offset, and decoding carries on with
//! the next frame.

/// How frames are delimited on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// Per frame: octet counting if the frame starts with a length, else a line.
    #[default]
    Auto,
    /// Octet counting only (RFC 5425, RFC 6587 section 3.4.1).
    OctetCounting,
    /// Line feed terminated only (RFC 6587 section 3.4.2); a CR before the LF
    /// is removed too.
    NonTransparent,
}

/// One message cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Offset of the frame's first byte (its length prefix, if any) in the stream.
    pub offset: u64,
    /// The message, without length prefix or line terminator.
    pub bytes: Vec<u8>,
}

/// A frame that could not be cut, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at stream offset {offset}: {kind}")]
pub struct FramingError {
    /// Offset of the frame's first byte in the stream.
    pub offset: u64,
    /// What is wrong.
    pub kind: FramingErrorKind,
}

/// What is wrong with a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingErrorKind {
    /// The frame is longer than the decoder's limit; it is skipped.
    #[error("frame of {len} bytes or more exceeds the limit of {max} bytes; skipped")]
    TooLong {
        /// The frame's length (as announced, or as much as was seen).
        len: u64,
        /// The limit.
        max: usize,
    },
    /// An octet-counting frame does not start with `MSG-LEN SP`; the bytes up
    /// to the next line feed are skipped to find the next frame.
    #[error("expected an octet count (digits and a space), found {0:?}")]
    InvalidLength(String),
    /// The stream ended inside an octet-counted frame.
    #[error("stream ended {missing} bytes before the end of an octet-counted frame")]
    Truncated {
        /// How many bytes were still expected.
        missing: u64,
    },
}

/// Incremental RFC 6587 frame decoder (see the module documentation).
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    framing: Framing,
    max_frame_len: usize,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already consumed.
    start: usize,
    /// Stream offset of `buffer[0]`.
    buffer_offset: u64,
    /// Bytes of an over-long octet-counted frame still to skip.
    skip_octets: u64,
    /// Skipping to the next line feed (over-long line, bad length prefix).
    skip_line: bool,
    /// How far past `start` a partial line has been searched for its line
    /// feed, so that a line arriving in many small reads is scanned once.
    scanned: usize,
    finished: bool,
}

/// The longest octet count read: 10 digits covers any frame a limit allows.
const MAX_LENGTH_DIGITS: usize = 10;

impl FrameDecoder {
    /// A decoder for `framing` that rejects frames longer than `max_frame_len`.
    pub fn new(framing: Framing, max_frame_len: usize) -> Self {
        FrameDecoder {
            framing,
            max_frame_len,
            buffer: Vec::new(),
            start: 0,
            buffer_offset: 0,
            skip_octets: 0,
            skip_line: false,
            scanned: 0,
            finished: false,
        }
    }

    /// Adds bytes received from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.buffer_offset += self.start as u64;
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// The next complete frame, an error for a frame that had to be skipped,
    /// or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FramingError>> {
        loop {
            let data = &self.buffer[self.start..];
            if data.is_empty() {
                return None;
            }
            if self.skip_octets > 0 {
                let n = usize::try_from(self.skip_octets)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                self.start += n;
                self.skip_octets -= n as u64;
                continue;
            }
            if self.skip_line {
                match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        self.start += i + 1;
                        self.skip_line = false;
                        continue;
                    }
                    None => {
                        self.start = self.buffer.len();
                        return None;
                    }
                }
            }
            // Line ends between frames (an empty line, or a line feed a
            // sender adds after an octet-counted frame) carry nothing.
            if matches!(data[0], b'\n' | b'\r' | b'\0') {
                self.start += 1;
                continue;
            }
            let offset = self.buffer_offset + self.start as u64;
            let octet_counting = match self.framing {
                Framing::OctetCounting => true,
                Framing::NonTransparent => false,
                Framing::Auto => matches!(data[0], b'1'..=b'9'),
            };
            if octet_counting {
                let digits = data
                    .iter()
                    .take(MAX_LENGTH_DIGITS + 1)
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits == data.len() && digits <= MAX_LENGTH_DIGITS {
                    return None;
                }
                let valid = (1..=MAX_LENGTH_DIGITS).contains(&digits)
                    && data[0] != b'0'
                    && data[digits] == b' ';
                if valid {
                    let len = data[..digits]
                        .iter()
                        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
                    if len > self.max_frame_len as u64 {
                        self.start += digits + 1;
                        self.skip_octets = len;
                        return Some(Err(FramingError {
                            offset,
                            kind: FramingErrorKind::TooLong {
                                len,
                                max: self.max_frame_len,
                            },
                        }));
                    }
                    // Within the limit, so it fits in usize.
                    let len = usize::try_from(len).unwrap_or(usize::MAX);
                    let body_start = digits + 1;
                    if data.len() - body_start < len {
                        return None;
                    }
                    let bytes = data[body_start..body_start + len].to_vec();
                    self.start += body_start + len;
                    return Some(Ok(Frame { offset, bytes }));
                }
                if self.framing == Framing::OctetCounting {
                    let shown = String::from_utf8_lossy(&data[..data.len().min(16)]).into_owned();
                    self.skip_line = true;
                    return Some(Err(FramingError {
                        offset,
                        kind: FramingErrorKind::InvalidLength(shown),
                    }));
                }
                // Auto: a line that happens to start with a digit.
            }
            let scan_from = self.scanned.min(data.len());
            return match memchr::memchr(b'\n', &data[scan_from..]).map(|i| scan_from + i) {
                Some(i) => {
                    self.scanned = 0;
                    let mut line = &data[..i];
                    if let Some(stripped) = line.strip_suffix(b"\r") {
                        line = stripped;
                    }
                    let result = if line.len() > self.max_frame_len {
                        Err(FramingError {
                            offset,
                            kind: FramingErrorKind::TooLong {
                                len: line.len() as u64,
                                max: self.max_frame_len,
                            },
                        })
                    } else {
                        Ok(Frame {
                            offset,
                            bytes: line.to_vec(),
                        })
                    };
                    self.start += i + 1;
                    Some(result)
                }
                // A CR at the end may be the first half of a CRLF, which
                // would not count towards the line's length.
                None if data.len() - usize::from(data.last() == Some(&b'\r'))
                    > self.max_frame_len =>
                {
                    let len = data.len() as u64;
                    self.start = self.buffer.len();
                    self.scanned = 0;
                    self.skip_line = true;
                    Some(Err(FramingError {
                        offset,
                        kind: FramingErrorKind::TooLong {
                            len,
                            max: self.max_frame_len,
                        },
                    }))
                }
                None => {
                    self.scanned = data.len();
                    None
                }
            };
        }
    }

    /// At the end of the stream: the remaining frames, then the unterminated
    /// last line (non-transparent framing needs no final line feed) or an
    /// error for a truncated octet-counted frame. Call until `None`.
    pub fn finish(&mut self) -> Option<Result<Frame, FramingError>> {
        if let Some(frame) = self.next_frame() {
            return Some(frame);
        }
        if self.finished {
            return None;
        }
        self.finished = true;
        let data = &self.buffer[self.start..];
        let offset = self.buffer_offset + self.start as u64;
        self.start = self.buffer.len();
        if self.skip_line || data.is_empty() {
            return None;
        }
        if self.skip_octets > 0 {
            return None;
        }
        let octet_counting = match self.framing {
            Framing::OctetCounting => true,
            Framing::NonTransparent => false,
            Framing::Auto => matches!(data[0], b'1'..=b'9'),
        };
        if octet_counting {
            let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits < data.len() && data[digits] == b' ' && digits <= MAX_LENGTH_DIGITS {
                let len = data[..digits]
                    .iter()
                    .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
                let have = (data.len() - digits - 1) as u64;
                return Some(Err(FramingError {
                    offset,
                    kind: FramingErrorKind::Truncated {
                        missing: len.saturating_sub(have),
                    },
                }));
            }
            if self.framing == Framing::OctetCounting {
                return Some(Err(FramingError {
                    offset,
                    kind: FramingErrorKind::Truncated { missing: 0 },
                }));
            }
        }
        let line = data.strip_suffix(b"\r").unwrap_or(data);
        Some(Ok(Frame {
            offset,
            bytes: line.to_vec(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(framing: Framing, max: usize, chunks: &[&[u8]]) -> Vec<Result<Frame, FramingError>> {
        let mut decoder = FrameDecoder::new(framing, max);
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            while let Some(frame) = decoder.next_frame() {
                out.push(frame);
            }
        }
        while let Some(frame) = decoder.finish() {
            out.push(frame);
        }
        out
    }

    fn bytes(results: &[Result<Frame, FramingError>]) -> Vec<Vec<u8>> {
        results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|f| f.bytes.clone()))
            .collect()
    }

    #[test]
    fn mixed_framing_in_one_stream() {
        let stream: &[u8] = b"11 <13>1 - - -\n<14>line one\r\n16 <13>with\nnewline\n\n<15>last";
        let frames = decode(Framing::Auto, 1024, &[stream]);
        assert_eq!(
            bytes(&frames),
            vec![
                b"<13>1 - - -".to_vec(),
                b"<14>line one".to_vec(),
                b"<13>with\nnewline".to_vec(),
                b"<15>last".to_vec(),
            ]
        );
        let offsets: Vec<u64> = frames.iter().map(|f| f.as_ref().unwrap().offset).collect();
        assert_eq!(offsets, vec![0, 15, 29, 50]);
    }

    #[test]
    fn frames_split_anywhere() {
        let stream: &[u8] = b"5 hello12 <1>two words\nthree\n";
        for split in 0..stream.len() {
            let frames = decode(Framing::Auto, 64, &[&stream[..split], &stream[split..]]);
            assert_eq!(
                bytes(&frames),
                vec![
                    b"hello".to_vec(),
                    b"<1>two words".to_vec(),
                    b"three".to_vec()
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let stream: &[u8] = b"<1>first line\r\n9 <2>second\n6 <3>x\ny<4>fourth\n";
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        let frames = decode(Framing::Auto, 64, &chunks);
        assert_eq!(bytes(&frames), bytes(&decode(Framing::Auto, 64, &[stream])));
        assert_eq!(
            bytes(&frames),
            vec![
                b"<1>first line".to_vec(),
                b"<2>second".to_vec(),
                b"<3>x\ny".to_vec(),
                b"<4>fourth".to_vec(),
            ]
        );
    }

    #[test]
    fn an_over_long_frame_is_skipped_and_reported() {
        let frames = decode(Framing::Auto, 4, &[b"10 0123456789", b"3 abc"]);
        assert_eq!(
            frames[0].as_ref().unwrap_err().kind,
            FramingErrorKind::TooLong { len: 10, max: 4 }
        );
        assert_eq!(bytes(&frames), vec![b"abc".to_vec()]);
        let frames = decode(Framing::NonTransparent, 4, &[b"too long line\nok\n"]);
        assert!(frames[0].is_err());
        assert_eq!(bytes(&frames), vec![b"ok".to_vec()]);
        let frames = decode(Framing::NonTransparent, 4, &[b"too long ", b"line\nok\n"]);
        assert!(frames[0].is_err());
        assert_eq!(bytes(&frames), vec![b"ok".to_vec()]);
        // A line of exactly the limit, its CRLF split across reads.
        let frames = decode(Framing::NonTransparent, 4, &[b"four\r", b"\nok\n"]);
        assert_eq!(bytes(&frames), vec![b"four".to_vec(), b"ok".to_vec()]);
    }

    #[test]
    fn a_truncated_octet_frame_is_an_error() {
        let frames = decode(Framing::Auto, 64, &[b"10 abc"]);
        assert_eq!(
            frames[0].as_ref().unwrap_err().kind,
            FramingErrorKind::Truncated { missing: 7 }
        );
    }

    #[test]
    fn strict_octet_counting_resynchronises_at_a_line_feed() {
        let frames = decode(Framing::OctetCounting, 64, &[b"xyz\n3 abc"]);
        assert!(matches!(
            frames[0].as_ref().unwrap_err().kind,
            FramingErrorKind::InvalidLength(_)
        ));
        assert_eq!(bytes(&frames), vec![b"abc".to_vec()]);
    }
}
