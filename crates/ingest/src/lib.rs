//! Telemetry intake: how sensors' events get onto the durable event bus.
//!
//! - **Syslog listeners** ([`Intake::start_syslog`]): UDP, TCP (RFC 6587
//!   octet counting and line framing, recognised per message) and TLS
//!   (RFC 5425, rustls; client certificates identify sensors).
//! - **HTTP intake logic** ([`Intake::ingest_http`]): the work behind
//!   `POST /api/v1/ingest` (the server owns HTTP itself): bounded gzip
//!   decoding, NDJSON lines normalised and stamped, one durable publish,
//!   per-line errors returned with their line numbers ([`IngestOutcome`]).
//! - **Sensor health** ([`SensorHealth`], [`Intake::spawn_health_watch`]):
//!   last event, events per second, errors and drops per sensor, and "sensor
//!   silent" / "recovered" changes, timed with an injected clock.
//! - **Metrics** ([`Intake::metrics`]): received, accepted, rejected, dropped,
//!   queued per transport and per sensor, refused senders, publish latency,
//!   consumer lag; the server renders them for `/metrics`.
//! - **The `nigehban ingest` client** ([`run_ingest_client`]): sends EVTX,
//!   JSON lines, Suricata EVE, Zeek and CEF/syslog files to a server in
//!   bounded gzip NDJSON requests, retrying, resumable through a journal.
//!
//! # Sensors and tenants
//!
//! Intake never takes a tenant from an event. Syslog senders are looked up
//! in the [`SensorDirectory`] the server implements over the sensor registry
//! (by TLS client certificate, else by source address); HTTP requests carry
//! an ingest token the server resolves to a [`SensorStamp`]. Every event is
//! stamped with that sensor and its tenant. A syslog sender the directory
//! does not know is refused and counted per address (or, if configured,
//! tagged as a designated sensor: [`UnknownSenderPolicy`]).
//!
//! # What goes on the bus
//!
//! One bus record per event: tenant and sensor ids as record headers,
//! content type [`EVENT_CONTENT_TYPE`], payload the JSON-serialised
//! [`nigehban_normalise::NormalisedEvent`] with a UUIDv7 event id assigned
//! here, the original record written once (`nigehban_normalise::envelope`, the one codec, describes the
//! format; consumers read it with [`decode_event`]).
//!
//! # Durability and backpressure
//!
//! HTTP answers only after `publish` returned, i.e. once the events are
//! durable. Syslog has no acknowledgement; TCP and TLS readers stop reading
//! while their queue is full, so a slow bus slows the sender down, and so
//! does a consumer lagging beyond [`BackpressureOptions::max_lag`]. UDP cannot
//! be slowed: when its queue is full, datagrams are dropped and counted per
//! sensor.
//!
//! # Starting intake (what the server does)
//!
//! ```no_run
//! # async fn example(bus: nigehban_bus::AnyBus, directory: nigehban_ingest::StaticSensorDirectory) -> Result<(), Box<dyn std::error::Error>> {
//! use nigehban_ingest::{Intake, IntakeOptions, SyslogConfig};
//! use std::time::Duration;
//!
//! let intake = Intake::new(bus, directory, IntakeOptions::default());
//! let listeners = intake
//!     .start_syslog(SyslogConfig {
//!         udp: Some("0.0.0.0:514".parse()?),
//!         tcp: Some("0.0.0.0:601".parse()?),
//!         ..SyslogConfig::default()
//!     })
//!     .await?;
//! let _health = intake.spawn_health_watch(|changes| {
//!     for change in changes {
//!         // record a health event (later: raise or resolve an alert)
//!         let _ = change;
//!     }
//! });
//! // ... on shutdown:
//! listeners.shutdown(Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```

pub mod client;
mod clock;
mod event_id;
mod gather;
mod health;
mod intake;
mod metrics;
mod ndjson;
mod sensor;
mod syslog;
mod tls;

pub use client::{
    ClientError, ClientOptions, ClientProgress, ClientSummary, FileSummary, run_ingest_client,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use event_id::idempotent_event_id;
pub use health::{
    HEALTH_EVENT_DATASET, HEALTH_EVENT_MODULE, HealthChange, HealthChangeKind, HealthEventError,
    RATE_WINDOW, SensorHealth, SensorStatus,
};
pub use intake::{BackpressureOptions, HttpIngest, Intake, IntakeOptions};
pub use metrics::{
    LATENCY_BOUNDS, LatencyHistogram, MAX_REFUSED_ADDRESSES, MetricsSnapshot, SensorMetrics,
    Transport, TransportMetrics,
};
pub use ndjson::{
    HttpLimits, IngestOutcome, IntakeError, IntakeErrorClass, LineError, PreparedBatch,
    RequestContext, decode_body, is_gzip_encoding, prepare_ndjson,
};
/// The bus payload codec lives in `normalise`: one codec for every consumer.
pub use nigehban_normalise::envelope::{
    EVENT_CONTENT_TYPE, EnvelopeError, decode_event, encode_event, event_id, new_event_id,
};
pub use sensor::{
    ClientCertificate, DirectoryError, SensorDirectory, SensorFormat, SensorStamp,
    StaticSensorDirectory, UnknownSenderPolicy, canonical_ip, event_is_of, flag_unexpected_format,
    format_name, normaliser_format, parse_format, parse_format_word,
};
pub use syslog::{ListenError, SyslogConfig, SyslogListeners};
pub use tls::{ClientAuth, TlsError, TlsSettings, read_certificates};
