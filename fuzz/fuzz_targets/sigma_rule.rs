//! Arbitrary bytes into the Sigma rule loader and compiler, then one match:
//! nothing may panic, whatever the rule text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehban_sigma::{CompileOptions, CompiledRuleSet, Event, LogsourceMapping, RuleSet, Value};

struct Probe;

impl Event for Probe {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        match name {
            "event.category" => visit(Value::Str("test")),
            "EventID" => visit(Value::Int(1)),
            "Channel" => visit(Value::Str("Microsoft-Windows-Sysmon/Operational")),
            _ => visit(Value::Str("C:\\Windows\\System32\\cmd.exe /c whoami 10.1.2.3")),
        }
    }

    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        visit(Value::Str("powershell -enc SQBFAFgA"));
        visit(Value::Null);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut set = RuleSet::new();
    set.add_str(&text, "fuzz.yml");
    for d in set.diagnostics() {
        let _ = d.to_string();
    }
    let (compiled, _) = CompiledRuleSet::new(&set, &LogsourceMapping::builtin(), &CompileOptions::default());
    let mut out = Vec::new();
    compiled.matches(&Probe, &mut compiled.scratch(), &mut out);
});
