//! Arbitrary bytes as one event's JSON text through the hunt's tape parser and
//! its Sigma field view: never a panic; whatever parses is an object whose
//! fields can all be visited, by name and for keyword searches.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehban_hunt::{JsonTape, WindowsEvent};
use nigehban_sigma::Event;

fuzz_target!(|data: &[u8]| {
    let mut tape = JsonTape::new();
    if !tape.parse(data) {
        return;
    }
    let event = WindowsEvent::new(&tape);
    let mut names = Vec::new();
    event.for_each_field(&mut |name, _| names.push(name.to_owned()));
    for name in names
        .iter()
        .map(String::as_str)
        .chain(["EventID", "Channel", "CommandLine", "a.b"])
    {
        event.field(name, &mut |_| {});
    }
    event.values(&mut |_| {});
});
