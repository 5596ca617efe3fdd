//! Detection: Sigma rules applied to events, the step after normalisation
//! and before alerts.
//!
//! ```text
//! bus ──(consumer `detect`)──▶ DetectionStage ──▶ decode (envelope) ──▶ SigmaView ──▶ CompiledRuleSet
//!                                   ▲                                                     │
//!                  RulesHandle (swapped when rules change)       Detection ◀──────────────┘
//!                                                                     │
//!                                     ack ◀── DetectionSink::accept ◀─┘   (later: the alert service)
//! ```
//!
//! - [`view`]: **the one Sigma view of an event** ([`SigmaView`]): where each
//!   field name a Sigma rule writes is found in a record, in every layout
//!   (`evtx` crate, Winlogbeat, NXLog's flat layout, Zeek, Suricata and other
//!   JSON, syslog and CEF through the normalised fields). `nigehban hunt`
//!   and the live stage both show events to the matcher through it.
//! - [`tape`]: the reusable JSON tape records are parsed into.
//! - [`rules`]: loading rule files, directories and archives, compiling them
//!   ([`DetectionRules`], shared by `hunt` and the stage) and the handle a
//!   rule change goes through ([`RulesHandle`]).
//! - [`cost`]: what each rule costs, measured on a sample of events, for
//!   the metrics an operator finds slow rules by.
//! - [`stage`]: the live detection stage ([`DetectionStage`]), a durable bus
//!   consumer that hands [`Detection`]s to a [`DetectionSink`].
//! - [`starter`]: the built-in starter pack ([`starter_pack`]): Suricata
//!   alerts by severity, SSH and RDP brute force and password spraying,
//!   sensor silent (the table of its rules and thresholds is there).
//!
//! # Which events a rule's `logsource` applies to
//!
//! The logsource mapping (`nigehban-sigma`'s `logsources.yml`) turns a
//! rule's `logsource` into conditions on event fields. Windows logsources
//! name channels and event ids (`Channel`, `EventID`, after SigmaHQ's
//! `thor.yml`). Every other logsource is identified by the fields the
//! normaliser sets; this is the one table of them (a test checks it against
//! the mapping):
//!
//! | Sigma logsource | events it applies to | field names the rules use, and the normalised field they read |
//! | --- | --- | --- |
//! | `product: linux` | `host.os.type: linux` (the sensor's declared OS) | |
//! | `product: linux, service: syslog` | `host.os.type: linux`, `event.module: syslog` | |
//! | `product: linux, service: auth` | `host.os.type: linux`, `log.syslog.facility.name: auth, authpriv` | |
//! | `product: linux, service: sshd` | `event.module: syslog`, `process.name: sshd, sshd-session` | |
//! | `product: linux, service: sudo` | `event.module: syslog`, `process.name: sudo` | |
//! | `product: linux, service: cron` | `event.module: syslog`, `process.name: cron, crond` | |
//! | `product: linux, service: vsftpd` | `event.module: syslog`, `process.name: vsftpd` | |
//! | `product: linux, service: clamav` | `event.module: syslog`, `process.name: clamd, freshclam` | |
//! | `product: linux, service: guacamole` | `event.module: syslog`, `process.name: guacd` | |
//! | `product: linux, service: auditd` | `event.module: auditd` | |
//! | `product: linux, category: C` | `host.os.type: linux`, `event.category:` C's ECS category (`process_creation` → `process`, `file_event` → `file`, `network_connection` → `network`) | |
//! | `product: zeek, service: S` | `_path: S` (the record's own), or `event.dataset: zeek.S` | the log's own names (`id.orig_h`, `query`) |
//! | `product: suricata` | `event.module: suricata` | the EVE record's names (`alert.signature_id`, `dest_port`) |
//! | `product: suricata, service: S` | `event.dataset: suricata.S` (`alert`, `dns`, `http`, `tls`, `flow`, ...) | as above |
//! | `category: firewall` | `event.category: network`, or `event.module: cef` | `src_ip` → `source.ip`, `dst_ip` → `destination.ip`, `src_port` → `source.port`, `dst_port` → `destination.port`, `action` → `event.action` |
//! | `category: proxy` | `event.dataset: suricata.http`, or `event.category: web` | `c-uri` → `url.original`, `c-uri-query` → `url.query`, `c-useragent` → `user_agent.original`, `cs-host` → `url.domain`, `cs-method` → `http.request.method`, `cs-referrer` → `http.request.referrer`, `sc-status` → `http.response.status_code`, `src_ip` → `source.ip`, `dst_ip` → `destination.ip` |
//! | `category: webserver` | `event.dataset: suricata.http`, or `event.category: web` | `cs-uri-query` → `url.query`, `cs-uri-stem` → `url.path`, `cs-method` → `http.request.method`, `cs-user-agent` → `user_agent.original`, `sc-status` → `http.response.status_code`, `cs-referer` → `http.request.referrer`, `cs-username` → `user.name`, `c-ip` → `source.ip` |
//! | `category: dns` | `event.dataset: zeek.dns, suricata.dns` | `query` → `dns.question.name`, `record_type` → `dns.question.type`, `src_ip` → `source.ip`, `dst_ip` → `destination.ip` |
//! | `category: antivirus` | Windows Defender's channel and event ids, or `event.category: malware` | Defender: `Signature` → `ThreatName`, `Filename` → `Path` |
//! | any other `product: P` | `event.module: P` (`host.os.type: P` for the operating systems linux, macos, windows, aix, solaris, freebsd) | |
//! | any other `service: S` of a product P | `event.dataset: P.S` (or `S` when it has a dot: `gcp.audit`) | |
//! | any other `category: C` | `event.category: C`, or its ECS name (`process_creation` → `process`, `webserver` → `web`) | |
//!
//! Values compare without case. Conditions on normalised fields hold only in
//! live detection (normalised events); `nigehban hunt` reads files as they
//! are, so there only a record's own fields identify it (`_path` for Zeek;
//! the Windows channel and event id). Names a rule uses that the record does
//! not have are read from the normalised fields (see [`view`]), which is how
//! the renames above and syslog's and CEF's fields reach rules.
//!
//! # The live stage
//!
//! A [`DetectionStage`] consumes the bus under the durable consumer name
//! `detect` ([`DEFAULT_CONSUMER`]): it fetches a batch, reads each payload
//! with the one envelope codec (`nigehban_normalise::envelope::event_parts`:
//! the verbatim record is parsed once, into the stage's tape, and the
//! normalised event is built only when matching needs its fields — records
//! that are not Windows events — or a rule matched), matches it with the
//! rule set the [`RulesHandle`] holds at that moment, hands the batch's
//! detections to the [`DetectionSink`] and acknowledges the batch only once
//! the sink accepted them (meanwhile the next batch is already fetched and
//! being matched). Delivery is therefore at least once: after a
//! crash, or an acknowledgement lost on the way, a batch is matched and its
//! detections handed over again, so **a sink must treat a detection it
//! already holds, by (rule id, event id) ([`Detection::key`]), as the same
//! detection**. A payload that is not a normalised event, or that claims a
//! tenant other than the bus record's, is counted ([`DetectionMetrics`]),
//! logged and acknowledged: it never stops the stage.
//!
//! Correlation rules: the matches of the rules they refer to are fed to a
//! per-tenant [`CorrelationState`] (see [`correlation`]), whose matches go to
//! the sink as [`Detection`]s of the correlation rule in the same batch;
//! with a state directory the state survives a restart.
//!
//! # Several detecting processes (NATS JetStream)
//!
//! Processes that share the consumer `detect` split the events between
//! them, so one group's events (a brute force's failed logons) reach
//! different processes. With
//! [`DetectionStage::with_shared_correlation_state`] (the node runtime's
//! choice whenever the bus is JetStream) single events are still matched by
//! whichever process takes them, but the observations feeding correlations
//! are counted in one state per tenant kept in the bus's shared values and
//! changed only by compare-and-set: a process applies a batch's
//! observations to the tenant's latest state and writes it back naming the
//! revision it read, and reads and applies again when another process wrote
//! first. A match is written into the state's outbox before its detection
//! is handed to the sink, and leaves it once the sink took it (a process
//! stopped in between leaves it for the next writer to hand over). A
//! correlation detection's event id is derived from (rule, group, window
//! start), so each match is one detection for the sink, however often it is
//! handed over. The details: `correlation/shared.rs`.
//!
//! Invariants: the stage reads no clock (an event's times are those the
//! event and its bus record carry) and does no I/O beyond the bus and the
//! sink; rule files are read only by [`rules::load_rules`], when rules are
//! loaded. The matcher sees events only through [`SigmaView`]; the stage
//! trusts the tenant the bus record names (intake sets it from the
//! authenticated sensor), never one an event claims.

pub mod correlation;
pub mod cost;
pub mod detection;
pub mod rules;
pub mod stage;
pub mod starter;
pub mod tape;
pub mod tuning;
pub mod view;

pub use correlation::CorrelationState;
pub use cost::{COST_SAMPLE_EVERY, CostSample, RuleCost, RuleCosts};
pub use detection::{CorrelationFacts, Detection};
pub use nigehban_sigma::MatchedField;
pub use rules::{DetectionRules, RuleSummary, RulesHandle, attack_techniques, load_rules};
pub use stage::{
    DEFAULT_CONSUMER, DetectError, DetectionMetrics, DetectionSink, DetectionStage, Evaluated,
    MetricsSnapshot, Rejected, StageConfig, StagePhase, evaluate,
};
pub use starter::starter_pack;
pub use tape::JsonTape;
pub use tuning::{RuleTuning, TenantFilterSource, TenantView, TuningInput};
pub use view::{Layout, SigmaView, read_record};
