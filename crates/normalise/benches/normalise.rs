//! Normalisation throughput: syslog lines, CEF, and ~500-byte JSON events.
//!
//! Run with `cargo bench -p nigehban-normalise --bench normalise`; figures in
//! `crates/normalise/BENCHMARKS.md`.
//!
//! Each record is measured twice: in wall time (`normalise/...`) and in the
//! CPU time of the benchmarking thread (`normalise_cpu/...`), because on a
//! machine shared with other work wall time also counts the time the thread
//! waited for a CPU.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nigehban_normalise::{Format, FrameDecoder, Framing, SourceHint, normalise, normalise_lines};
use time::macros::datetime;

const SYSLOG_5424: &str = r#"<165>1 2024-03-15T10:22:14.003Z web01.example.org sshd 4242 AUTH [origin ip="192.0.2.10" software="openssh"][meta sequenceId="881"] Accepted publickey for deploy from 198.51.100.23 port 51522 ssh2"#;
const SYSLOG_3164: &str = "<38>Mar 15 10:22:14 web01 sshd[4242]: Failed password for invalid user admin from 203.0.113.77 port 40022 ssh2";
const CEF_IN_SYSLOG: &str = "<134>Mar 15 10:22:14 fw01 CEF:0|Acme|Gate|2.1|100|Connection blocked|7|src=10.0.0.1 spt=51000 dst=192.0.2.9 dpt=443 proto=TCP act=blocked suser=alice msg=Denied by policy rule 12 cs1Label=Rule cs1=outbound-deny";
const SURICATA_ALERT: &str = r#"{"timestamp":"2024-03-15T10:22:14.985026+0100","flow_id":955054024165314,"in_iface":"eth0","event_type":"alert","src_ip":"10.1.2.3","src_port":41402,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","tx_id":0,"alert":{"action":"allowed","gid":1,"signature_id":2013504,"rev":5,"signature":"ET POLICY Outbound package manager User-Agent","category":"Not Suspicious Traffic","severity":3},"http":{"hostname":"mirror.example.org","url":"/debian/pool/main/p/perl/perl-base_5.24.1-1_amd64.deb","http_user_agent":"Debian APT-HTTP/1.3","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":919}}"#;
const ZEEK_DNS: &str = r#"{"_path":"dns","ts":"2024-03-15T10:22:14.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","trans_id":36329,"rtt":0.00087,"query":"portal.example.org","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["edge.example.net","192.0.2.16"],"TTLs":[2230.0,41830.0],"rejected":false}"#;
const WINDOWS_NXLOG: &str = r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS6.example.local","SourceName":"Microsoft-Windows-Sysmon","RecordNumber":334801,"EventTime":"2024-03-15 10:22:14","@timestamp":"2024-03-15T10:22:15.111Z","Keywords":-9223372036854775808,"ProcessId":"3460","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami /all","ParentImage":"C:\\Windows\\explorer.exe","User":"EXAMPLE\\alice","ProcessGuid":"{49a15388-b7b9-5f2b-8504-000000000400}","Hashes":"SHA256=A75C85F3B089993E9C042FB82ECB7757E8F460ED8065FC7991CAA38A6DE0F50C"}"#;
const WINDOWS_EVTX: &str = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":1,"Version":5,"Level":4,"Task":1,"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2024-03-15T10:22:14.351207Z"}},"EventRecordID":334801,"Execution":{"#attributes":{"ProcessID":3432,"ThreadID":4496}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS6.example.local"},"EventData":{"ProcessId":3460,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami /all","User":"EXAMPLE\\alice"}}}"##;

const RECORDS: [(&str, &str); 7] = [
    ("syslog_rfc5424", SYSLOG_5424),
    ("syslog_rfc3164", SYSLOG_3164),
    ("cef_in_syslog", CEF_IN_SYSLOG),
    ("suricata_alert_json", SURICATA_ALERT),
    ("zeek_dns_json", ZEEK_DNS),
    ("windows_nxlog_json", WINDOWS_NXLOG),
    ("windows_evtx_json", WINDOWS_EVTX),
];

fn single_records(c: &mut Criterion) {
    let hint = SourceHint::new(Format::Auto, datetime!(2024-03-15 12:00 UTC));
    let mut group = c.benchmark_group("normalise");
    for (name, input) in RECORDS {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| normalise(black_box(input.as_bytes()), &hint).unwrap());
        });
    }
    group.finish();

    let mut group = c.benchmark_group("normalise_cpu");
    for (name, input) in RECORDS {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let start = cpu_time::ThreadTime::now();
                for _ in 0..iterations {
                    black_box(normalise(black_box(input.as_bytes()), &hint).unwrap());
                }
                start.elapsed()
            });
        });
    }
    group.finish();
}

fn batches(c: &mut Criterion) {
    let hint = SourceHint::new(Format::Auto, datetime!(2024-03-15 12:00 UTC));
    let mut group = c.benchmark_group("batch_1000_lines");
    for (name, line) in [
        ("syslog_rfc3164", SYSLOG_3164),
        ("suricata_alert_json", SURICATA_ALERT),
    ] {
        let text = format!("{line}\n").repeat(1000);
        group.throughput(Throughput::Elements(1000));
        group.bench_function(name, |b| {
            b.iter(|| {
                let batch = normalise_lines(black_box(text.as_bytes()), &hint);
                assert_eq!(batch.events.len(), 1000);
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("framing");
    let mut stream = Vec::new();
    for i in 0..1000 {
        let message = format!("{SYSLOG_5424} {i}");
        stream.extend_from_slice(format!("{} {message}", message.len()).as_bytes());
    }
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("octet_counted_1000_frames_in_1500_byte_reads", |b| {
        b.iter(|| {
            let mut decoder = FrameDecoder::new(Framing::Auto, 8192);
            let mut frames = 0;
            for chunk in stream.chunks(1500) {
                decoder.push(chunk);
                while let Some(frame) = decoder.next_frame() {
                    black_box(frame.unwrap());
                    frames += 1;
                }
            }
            assert_eq!(frames, 1000);
        });
    });
    group.finish();
}

criterion_group!(benches, single_records, batches);
criterion_main!(benches);
