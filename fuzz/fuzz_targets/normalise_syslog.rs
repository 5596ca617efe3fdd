//! Syslog parsing (lenient and strict) and normalisation of arbitrary bytes,
//! plus the RFC 6587 frame decoder fed the same bytes in two pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehban_normalise::{Format, FrameDecoder, Framing, SourceHint, SyslogParser, normalise};
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let received_at = datetime!(2024-03-15 12:00 UTC);
    let parser = SyslogParser::new(received_at);
    if let Ok(message) = parser.parse(data) {
        // What a relay would forward must itself parse.
        let rendered = message.to_rfc5424();
        parser
            .parse(rendered.as_bytes())
            .expect("a rendered message parses");
    }
    let _ = parser.strict().parse(data);
    let _ = normalise(data, &SourceHint::new(Format::Syslog, received_at));

    // Framing: the same frames whatever the split (errors may report a
    // different length for an over-long frame, depending on how much of it
    // had arrived, so only the frames are compared).
    let split = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let frames = |chunks: &[&[u8]]| {
        let mut decoder = FrameDecoder::new(Framing::Auto, 256);
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            while let Some(frame) = decoder.next_frame() {
                out.extend(frame.ok());
            }
        }
        while let Some(frame) = decoder.finish() {
            out.extend(frame.ok());
        }
        out
    };
    assert_eq!(frames(&[data]), frames(&[&data[..split], &data[split..]]));
});
