//! Sensors as intake sees them: who sent a record, and the seam to the
//! sensor registry.
//!
//! The registry (sensors per organisation, their ingest tokens, addresses and
//! certificates) belongs to the application; intake only asks it questions
//! through [`SensorDirectory`] and stamps every event with the answer
//! ([`SensorStamp`]). A sender the directory does not know is refused, or
//! tagged to a designated sensor, per [`UnknownSenderPolicy`]: never accepted
//! without a tenant.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use nigehban_model::SensorFormat;
use nigehban_model::UnknownWord;
use nigehban_normalise::{Format, NormalisedEvent, SourceFormat};
use time::UtcOffset;

/// What intake stamps on every event of a sensor, as the registry resolved it.
///
/// The tenant always comes from here, never from the event's content: a
/// sensor can only submit for its own tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorStamp {
    /// The tenant that owns the sensor and its events.
    pub tenant_id: String,
    /// The sensor's id.
    pub sensor_id: String,
    /// The formats the sensor was registered to send (empty: any); a single
    /// format is used as the declared format of what it sends over HTTP.
    pub expected_formats: Vec<Format>,
    /// `host.os.type` for events that do not say (`linux`, `windows`, ...).
    pub host_os_type: Option<String>,
    /// The sensor's UTC offset, for syslog timestamps written without a zone.
    pub utc_offset: Option<UtcOffset>,
    /// How often the sensor is expected to send; silence for longer raises a
    /// "sensor silent" health event.
    pub expected_interval: Option<Duration>,
}

impl SensorStamp {
    /// A stamp with only the tenant and sensor ids.
    pub fn new(tenant_id: impl Into<String>, sensor_id: impl Into<String>) -> Self {
        SensorStamp {
            tenant_id: tenant_id.into(),
            sensor_id: sensor_id.into(),
            expected_formats: Vec::new(),
            host_os_type: None,
            utc_offset: None,
            expected_interval: None,
        }
    }

    /// The format declared for this sensor's records: its one expected format,
    /// or [`Format::Auto`].
    pub fn declared_format(&self) -> Format {
        match self.expected_formats.as_slice() {
            [one] => *one,
            _ => Format::Auto,
        }
    }
}

/// A TLS client certificate presented by a syslog sender (already verified
/// against the listener's client CA by the TLS layer).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// SHA-256 of the certificate's DER encoding.
    pub sha256: [u8; 32],
    /// The subject's common name, when it has one.
    pub subject_cn: Option<String>,
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
}

impl ClientCertificate {
    /// Reads a DER certificate: its fingerprint and subject CN.
    pub fn from_der(der: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest.as_ref());
        ClientCertificate {
            sha256,
            subject_cn: subject_common_name(der),
            der: der.to_vec(),
        }
    }

    /// The fingerprint as lowercase hex (64 characters, no separators).
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("sha256", &self.sha256_hex())
            .field("subject_cn", &self.subject_cn)
            .finish()
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

/// The first subject CN of a DER certificate, if it parses and has one.
fn subject_common_name(der: &[u8]) -> Option<String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

/// The sensor registry could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sensor directory unavailable: {0}")]
pub struct DirectoryError(pub String);

/// The seam to the sensor registry, implemented by the application.
///
/// Intake caches answers (including "unknown") for a short time
/// ([`crate::IntakeOptions::directory_cache_ttl`]), so an implementation may
/// query storage on every call. Lookup by ingest token is the HTTP server's
/// job: it passes the resolved [`SensorStamp`] to
/// [`crate::Intake::ingest_http`].
pub trait SensorDirectory: Send + Sync + 'static {
    /// The sensor registered for a source address (syslog over UDP and TCP,
    /// TLS without a client certificate).
    fn sensor_by_address(
        &self,
        address: IpAddr,
    ) -> impl Future<Output = Result<Option<SensorStamp>, DirectoryError>> + Send;

    /// The sensor registered for a TLS client certificate (by fingerprint or
    /// subject CN, as the registry records it).
    fn sensor_by_certificate(
        &self,
        certificate: &ClientCertificate,
    ) -> impl Future<Output = Result<Option<SensorStamp>, DirectoryError>> + Send;
}

impl<D: SensorDirectory> SensorDirectory for Arc<D> {
    fn sensor_by_address(
        &self,
        address: IpAddr,
    ) -> impl Future<Output = Result<Option<SensorStamp>, DirectoryError>> + Send {
        (**self).sensor_by_address(address)
    }

    fn sensor_by_certificate(
        &self,
        certificate: &ClientCertificate,
    ) -> impl Future<Output = Result<Option<SensorStamp>, DirectoryError>> + Send {
        (**self).sensor_by_certificate(certificate)
    }
}

/// What to do with syslog from a sender the directory does not know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UnknownSenderPolicy {
    /// Refuse it (drop datagrams, close connections) and count it per source
    /// address.
    #[default]
    Refuse,
    /// Accept it, stamped as this sensor (for example an "unassigned" sensor
    /// of the national tenant, reviewed by an administrator).
    Tag(SensorStamp),
}

/// A fixed sensor directory held in memory: for tests, benchmarks and small
/// static set-ups.
#[derive(Debug, Clone, Default)]
pub struct StaticSensorDirectory {
    by_address: HashMap<IpAddr, SensorStamp>,
    by_fingerprint: HashMap<[u8; 32], SensorStamp>,
    by_common_name: HashMap<String, SensorStamp>,
}

impl StaticSensorDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a sensor for a source address.
    pub fn with_address(mut self, address: IpAddr, stamp: SensorStamp) -> Self {
        self.by_address.insert(address, stamp);
        self
    }

    /// Registers a sensor for a certificate fingerprint (SHA-256 of the DER).
    pub fn with_fingerprint(mut self, sha256: [u8; 32], stamp: SensorStamp) -> Self {
        self.by_fingerprint.insert(sha256, stamp);
        self
    }

    /// Registers a sensor for a certificate subject CN.
    pub fn with_common_name(mut self, cn: impl Into<String>, stamp: SensorStamp) -> Self {
        self.by_common_name.insert(cn.into(), stamp);
        self
    }
}

impl SensorDirectory for StaticSensorDirectory {
    async fn sensor_by_address(
        &self,
        address: IpAddr,
    ) -> Result<Option<SensorStamp>, DirectoryError> {
        Ok(self.by_address.get(&canonical_ip(address)).cloned())
    }

    async fn sensor_by_certificate(
        &self,
        certificate: &ClientCertificate,
    ) -> Result<Option<SensorStamp>, DirectoryError> {
        if let Some(stamp) = self.by_fingerprint.get(&certificate.sha256) {
            return Ok(Some(stamp.clone()));
        }
        Ok(certificate
            .subject_cn
            .as_ref()
            .and_then(|cn| self.by_common_name.get(cn))
            .cloned())
    }
}

/// An IPv4-mapped IPv6 address as IPv4, so that a dual-stack socket's peers
/// are looked up as the addresses sensors were registered with.
pub fn canonical_ip(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// The name of a normaliser format in the one format vocabulary: `auto`, or
/// the [`SensorFormat`] word the registry uses for it.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Auto => "auto",
        Format::Syslog => SensorFormat::Syslog.as_str(),
        Format::Cef => SensorFormat::Cef.as_str(),
        Format::Json => SensorFormat::Json.as_str(),
        Format::SuricataEve => SensorFormat::SuricataEve.as_str(),
        Format::Zeek => SensorFormat::Zeek.as_str(),
        Format::WindowsJson => SensorFormat::WindowsJson.as_str(),
        Format::Text => SensorFormat::Text.as_str(),
    }
}

/// The normaliser's format for a registered format (EVTX arrives rendered as
/// Windows JSON).
pub fn normaliser_format(format: SensorFormat) -> Format {
    match format {
        SensorFormat::Syslog => Format::Syslog,
        SensorFormat::Cef => Format::Cef,
        SensorFormat::SuricataEve => Format::SuricataEve,
        SensorFormat::Zeek => Format::Zeek,
        SensorFormat::WindowsJson | SensorFormat::Evtx => Format::WindowsJson,
        SensorFormat::Json => Format::Json,
        SensorFormat::Text => Format::Text,
    }
}

/// A format by name, in the one vocabulary the sensor registry uses
/// ([`SensorFormat`]: its words and aliases, any case, `-` for `_`, so
/// `suricata`, `eve`, `windows` and `evtx` are accepted as ever), or `auto`
/// (or nothing) for "recognise each record".
pub fn parse_format_word(name: &str) -> Result<Format, UnknownWord> {
    let word = name.trim();
    if word.is_empty() || word.eq_ignore_ascii_case("auto") {
        return Ok(Format::Auto);
    }
    word.parse::<SensorFormat>().map(normaliser_format)
}

/// A format by name ([`parse_format_word`]), `None` if it is not one.
pub fn parse_format(name: &str) -> Option<Format> {
    parse_format_word(name).ok()
}

/// Whether an event is of `format`, the way a sensor's registration means
/// it: `json` and `text` are any JSON and any text record; `syslog` takes CEF
/// inside a syslog header too.
pub fn event_is_of(event: &NormalisedEvent, format: Format) -> bool {
    let source = event.format();
    match format {
        Format::Auto => true,
        Format::Syslog => {
            matches!(source, SourceFormat::Syslog5424 | SourceFormat::Syslog3164)
                || (source == SourceFormat::Cef
                    && event
                        .fields()
                        .iter()
                        .any(|(name, _)| name.starts_with("log.syslog.")))
        }
        Format::Cef => source == SourceFormat::Cef,
        Format::SuricataEve => source == SourceFormat::SuricataEve,
        Format::Zeek => matches!(
            source,
            SourceFormat::ZeekDotted | SourceFormat::ZeekUnderscored
        ),
        Format::WindowsJson => source.is_windows(),
        Format::Json => {
            event.original().json.is_some()
                || matches!(
                    source,
                    SourceFormat::SuricataEve
                        | SourceFormat::ZeekDotted
                        | SourceFormat::ZeekUnderscored
                        | SourceFormat::GenericJson
                )
                || source.is_windows()
        }
        Format::Text => matches!(
            source,
            SourceFormat::Syslog5424
                | SourceFormat::Syslog3164
                | SourceFormat::Cef
                | SourceFormat::GenericText
        ),
    }
}

/// Flags `event` when it is of none of the formats its sensor is registered
/// to send (a sensor registered with none may send any): a diagnostic on the
/// event, which is kept. Returns whether it was flagged, for the sensor's
/// health counter. A record that could not be parsed at all already says so
/// and is not flagged again.
pub fn flag_unexpected_format(stamp: &SensorStamp, event: &mut NormalisedEvent) -> bool {
    if stamp.expected_formats.is_empty()
        || event.format() == SourceFormat::Unparsed
        || stamp
            .expected_formats
            .iter()
            .any(|format| event_is_of(event, *format))
    {
        return false;
    }
    let expected: Vec<&str> = stamp
        .expected_formats
        .iter()
        .map(|format| format_name(*format))
        .collect();
    event.add_diagnostic(format!(
        "read as {}, which is not a format this sensor is registered to send ({}); kept",
        event.format().name(),
        expected.join(", ")
    ));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in [
            Format::Auto,
            Format::Syslog,
            Format::Cef,
            Format::Json,
            Format::SuricataEve,
            Format::Zeek,
            Format::WindowsJson,
            Format::Text,
        ] {
            assert_eq!(parse_format(format_name(format)), Some(format));
        }
        assert_eq!(parse_format("EVE"), Some(Format::SuricataEve));
        assert_eq!(parse_format("xml"), None);
    }

    // Regression (issue 8, item 9): the registry's formats and `?format=`
    // were two vocabularies; every word of either is now read the same way.
    #[test]
    fn one_vocabulary_for_the_registry_and_the_format_parameter() {
        for format in SensorFormat::ALL {
            assert_eq!(
                parse_format(format.as_str()),
                Some(normaliser_format(*format)),
                "{format}"
            );
        }
        for (old, format) in [
            ("suricata", Format::SuricataEve),
            ("suricata-eve", Format::SuricataEve),
            ("windows", Format::WindowsJson),
            ("evtx", Format::WindowsJson),
            ("winlogbeat", Format::WindowsJson),
            ("AUTO", Format::Auto),
            ("", Format::Auto),
        ] {
            assert_eq!(parse_format(old), Some(format), "{old}");
        }
        let error = parse_format_word("xml").unwrap_err();
        assert_eq!(error.value, "xml");
        assert!(error.expected.contains("suricata_eve"), "{error}");
    }

    #[test]
    fn declared_format_is_the_single_expected_one() {
        let mut stamp = SensorStamp::new("t", "s");
        assert_eq!(stamp.declared_format(), Format::Auto);
        stamp.expected_formats = vec![Format::Zeek];
        assert_eq!(stamp.declared_format(), Format::Zeek);
        stamp.expected_formats.push(Format::Cef);
        assert_eq!(stamp.declared_format(), Format::Auto);
    }

    #[test]
    fn mapped_addresses_are_canonical() {
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(canonical_ip(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn garbage_certificates_have_no_common_name() {
        let certificate = ClientCertificate::from_der(b"not a certificate");
        assert_eq!(certificate.subject_cn, None);
        assert_eq!(certificate.sha256_hex().len(), 64);
    }
}
