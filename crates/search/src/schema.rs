//! The index schema: which event fields get a field of their own, and the catch-alls.
//!
//! | tantivy field | from | how |
//! | --- | --- | --- |
//! | `id` | the event id | stored (found through `key`) |
//! | `key` | id + tenant | raw term; what a redelivered event is replaced by, and `get` by id |
//! | `tenant` | the bus record's tenant | raw term, stored, fast |
//! | `sensor` | the bus record's sensor | raw term, stored |
//! | `timestamp` | `@timestamp` (receive time if absent) | date, fast, microseconds |
//! | `ingested` | `event.ingested` (bus receive time if absent) | date, fast, microseconds |
//! | `sort_hi`, `sort_lo` | the id's 128-bit sort key | fast; ties on `@timestamp` |
//! | one per [`DEDICATED`] field | `host.name`, `source.ip`, ... | raw term (some fast), IP or u64 |
//! | `message` | `message` | full text with positions |
//! | `fields` | every other field, and every member of a JSON record's original by its dotted path, as `name=value` | raw term per value |
//! | `folded` | the values of name fields ([`is_name_field`]: host, user, process, file names, domains) as `name=lower-cased value` | raw term per value; case-insensitive matching |
//! | `names` | the name of every field an event has, as `tenant \x1f name` | raw term; which fields exist, per tenant |
//! | `text` | every text and number value (fields and original) but the message's, each distinct value once | full text with positions |
//! | `event` | the bus payload as intake wrote it (read back with the envelope codec) | stored bytes |

use tantivy::schema::{
    BytesOptions, DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption,
    IpAddrOptions, NumericOptions, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

/// The name the full-text analyzer is registered under.
pub(crate) const TEXT_ANALYZER: &str = "nigehban_text";

/// Longest token kept by the full-text analyzer: long enough for a SHA-256 in hex.
const MAX_TEXT_TOKEN: usize = 255;

/// Longest value indexed as an exact-match term; longer values are found by text terms only.
pub const MAX_EXACT_VALUE_BYTES: usize = 8 * 1024;

/// How a dedicated field is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DedicatedKind {
    /// A raw string term, optionally also a fast column (for future aggregations).
    Keyword {
        /// Whether to keep a fast column.
        fast: bool,
    },
    /// An IP address (IPv4 mapped into IPv6), indexed and fast: exact and CIDR filters.
    Ip,
    /// An unsigned integer, indexed and fast.
    Unsigned,
}

/// An ECS field with a tantivy field of its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dedicated {
    /// The ECS name.
    pub ecs: &'static str,
    /// The tantivy field's name.
    pub name: &'static str,
    /// How it is indexed.
    pub kind: DedicatedKind,
}

const fn keyword(ecs: &'static str, name: &'static str, fast: bool) -> Dedicated {
    Dedicated {
        ecs,
        name,
        kind: DedicatedKind::Keyword { fast },
    }
}

/// ECS fields that get a typed field of their own instead of `name=value` terms in `fields`.
pub(crate) const DEDICATED: &[Dedicated] = &[
    keyword("event.module", "event_module", true),
    keyword("event.dataset", "event_dataset", true),
    keyword("event.kind", "event_kind", true),
    keyword("host.name", "host_name", true),
    keyword("user.name", "user_name", true),
    keyword("process.name", "process_name", true),
    keyword("process.executable", "process_executable", false),
    keyword("process.command_line", "process_command_line", false),
    keyword("process.parent.name", "process_parent_name", false),
    keyword(
        "process.parent.executable",
        "process_parent_executable",
        false,
    ),
    keyword("winlog.channel", "winlog_channel", true),
    keyword("rule.name", "rule_name", false),
    keyword("dns.question.name", "dns_question_name", false),
    keyword("url.original", "url_original", false),
    Dedicated {
        ecs: "source.ip",
        name: "source_ip",
        kind: DedicatedKind::Ip,
    },
    Dedicated {
        ecs: "destination.ip",
        name: "destination_ip",
        kind: DedicatedKind::Ip,
    },
    Dedicated {
        ecs: "process.pid",
        name: "process_pid",
        kind: DedicatedKind::Unsigned,
    },
    Dedicated {
        ecs: "winlog.event_id",
        name: "winlog_event_id",
        kind: DedicatedKind::Unsigned,
    },
    Dedicated {
        ecs: "source.port",
        name: "source_port",
        kind: DedicatedKind::Unsigned,
    },
    Dedicated {
        ecs: "destination.port",
        name: "destination_port",
        kind: DedicatedKind::Unsigned,
    },
    Dedicated {
        ecs: "event.severity",
        name: "event_severity",
        kind: DedicatedKind::Unsigned,
    },
    Dedicated {
        ecs: "http.response.status_code",
        name: "http_response_status_code",
        kind: DedicatedKind::Unsigned,
    },
];

/// Whether a field holds names that people type in any case, as Windows and DNS treat
/// them (host, user, process and file names, paths, domains, command lines): its values
/// are also indexed lower-cased, and `field:value` in a query matches them without case.
/// Decided by the last part of the dotted name, so members of records' originals
/// (`Event.EventData.TargetUserName`, `id.orig_h` is not one) are covered too.
pub fn is_name_field(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    [
        "name",
        "domain",
        "executable",
        "image",
        "path",
        "user",
        "computer",
        "workstation",
        "command_line",
        "commandline",
    ]
    .iter()
    .any(|suffix| last.ends_with(suffix))
        || matches!(last.as_str(), "hosts" | "hostname" | "users")
}

/// Fields that are searched by the time range, never as `name=value` terms (one distinct
/// value per event would only bloat the term dictionary).
pub(crate) const TIME_FIELDS: &[&str] = &["@timestamp", "event.ingested"];

/// Handles on every field of the schema.
#[derive(Debug, Clone)]
pub(crate) struct EventSchema {
    pub schema: Schema,
    pub id: Field,
    pub key: Field,
    pub tenant: Field,
    pub sensor: Field,
    pub timestamp: Field,
    pub ingested: Field,
    pub sort_hi: Field,
    pub sort_lo: Field,
    pub message: Field,
    pub fields: Field,
    pub folded: Field,
    pub names: Field,
    pub text: Field,
    pub event: Field,
    /// One per entry of [`DEDICATED`], in the same order.
    pub dedicated: Vec<Field>,
}

/// Fast column names the collector reads.
pub(crate) const TIMESTAMP_COLUMN: &str = "timestamp";
pub(crate) const SORT_HI_COLUMN: &str = "sort_hi";
pub(crate) const SORT_LO_COLUMN: &str = "sort_lo";

impl EventSchema {
    /// Builds the schema (the same every time, so an existing index can be checked against it).
    pub fn new() -> Self {
        let mut builder = Schema::builder();
        // Not indexed: `key` starts with the id, so one unique term per event serves both
        // redelivery and lookup by id (unique terms are the dearest to index and merge).
        let id = builder.add_text_field("id", STORED);
        let key = builder.add_text_field("key", STRING);
        let tenant = builder.add_text_field("tenant", STRING | STORED | FAST);
        let sensor = builder.add_text_field("sensor", STRING | STORED);
        let date = DateOptions::default()
            .set_fast()
            .set_precision(DateTimePrecision::Microseconds);
        let timestamp = builder.add_date_field(TIMESTAMP_COLUMN, date.clone());
        let ingested = builder.add_date_field("ingested", date);
        let sort_hi = builder.add_u64_field(SORT_HI_COLUMN, FAST);
        let sort_lo = builder.add_u64_field(SORT_LO_COLUMN, FAST);
        let full_text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT_ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let message = builder.add_text_field("message", full_text.clone());
        let fields = builder.add_text_field("fields", STRING);
        let folded = builder.add_text_field("folded", STRING);
        let names = builder.add_text_field("names", STRING);
        let text = builder.add_text_field("text", full_text);
        let event = builder.add_bytes_field("event", BytesOptions::default().set_stored());
        let dedicated = DEDICATED
            .iter()
            .map(|d| match d.kind {
                DedicatedKind::Keyword { fast: true } => {
                    builder.add_text_field(d.name, STRING | FAST)
                }
                DedicatedKind::Keyword { fast: false } => builder.add_text_field(d.name, STRING),
                DedicatedKind::Ip => builder
                    .add_ip_addr_field(d.name, IpAddrOptions::default().set_indexed().set_fast()),
                DedicatedKind::Unsigned => {
                    builder.add_u64_field(d.name, NumericOptions::from(INDEXED | FAST))
                }
            })
            .collect();
        EventSchema {
            schema: builder.build(),
            id,
            key,
            tenant,
            sensor,
            timestamp,
            ingested,
            sort_hi,
            sort_lo,
            message,
            fields,
            folded,
            names,
            text,
            event,
            dedicated,
        }
    }

    /// The dedicated field for an ECS name, if it has one.
    pub fn dedicated(&self, ecs: &str) -> Option<(Dedicated, Field)> {
        DEDICATED
            .iter()
            .position(|d| d.ecs == ecs)
            .map(|i| (DEDICATED[i], self.dedicated[i]))
    }
}

/// The full-text analyzer: words of letters and digits, lower-cased, up to 255 bytes.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TEXT_TOKEN))
        .filter(LowerCaser)
        .build()
}
