//! Sensors: the things that send telemetry to the platform, their ingest
//! tokens, and their health events.
//!
//! A sensor is registered per tenant (usually an organisation). Every event it
//! sends is stamped with its tenant and its id, so a sensor can only ever
//! submit for its own tenant. Intake recognises a sensor in one of three ways:
//!
//! - an **ingest token** (HTTP): a bearer secret of its own, stored only as a
//!   hash ([`SensorToken`]);
//! - its **source address** (syslog over UDP/TCP): one of its
//!   [`SourceNetwork`]s contains the sender's address; when several sensors'
//!   networks contain it, the most specific network (longest prefix) wins
//!   (networks nest only within one tenant: the store refuses one that
//!   overlaps another tenant's);
//! - its **TLS client certificate** (syslog over TLS): the SHA-256 of the
//!   certificate ([`CertificateFingerprint`]) or, failing that, the subject
//!   common name ([`SubjectCommonName`]).
//!
//! Values from outside are parsed here once ("parse, don't validate"); every
//! error names the field and the value that was wrong ([`InvalidSensorField`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use crate::text::{ForbiddenCharacter, forbidden_in_name};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    InstanceId, SensorHealthEventId, SensorId, SensorTokenId, TenantId, Timestamp, UnknownWord,
};

/// Longest sensor name, in characters.
pub const SENSOR_NAME_MAX_CHARS: usize = 100;
/// Most source networks one sensor may register.
pub const MAX_SOURCE_NETWORKS: usize = 256;
/// Most certificate fingerprints one sensor may register.
pub const MAX_FINGERPRINTS: usize = 32;
/// Longest certificate subject common name (RFC 5280's upper bound), in characters.
pub const SUBJECT_CN_MAX_CHARS: usize = 64;
/// Shortest IPv4 prefix a sensor may claim: a broader network would take over
/// the events of every unregistered sender in it.
pub const MIN_IPV4_PREFIX: u8 = 8;
/// Shortest IPv6 prefix a sensor may claim (see [`MIN_IPV4_PREFIX`]).
pub const MIN_IPV6_PREFIX: u8 = 32;

/// A sensor field that was rejected, naming the field, the value and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSensorField {
    /// The name was empty or too long.
    #[error("sensor name must be 1 to {SENSOR_NAME_MAX_CHARS} characters")]
    Name,
    /// The name had a control or bidirectional formatting character.
    #[error(
        "sensor name contains {0}: control and bidirectional formatting characters are not allowed"
    )]
    NameCharacter(ForbiddenCharacter),
    /// The expected interval was outside the accepted range.
    #[error(
        "expected interval {0} s is out of range: it must be between {min} s and {max} s (7 days)",
        min = ExpectedInterval::MIN_SECS,
        max = ExpectedInterval::MAX_SECS
    )]
    Interval(u64),
    /// A source address or network that is not an IP address or CIDR network.
    #[error(
        "source address {0:?} is not an IP address or a CIDR network (e.g. 192.0.2.7 or 192.0.2.0/24)"
    )]
    Network(String),
    /// A CIDR network whose address has bits set beyond the prefix.
    #[error(
        "source network {given:?} has host bits set beyond /{prefix}; did you mean {suggested}?"
    )]
    HostBits {
        /// What was given.
        given: String,
        /// Its prefix length.
        prefix: u8,
        /// The network with the host bits cleared.
        suggested: String,
    },
    /// A network broader than [`MIN_IPV4_PREFIX`] / [`MIN_IPV6_PREFIX`].
    #[error(
        "source network {0:?} is too broad: IPv4 networks must be /{MIN_IPV4_PREFIX} or longer, IPv6 /{MIN_IPV6_PREFIX} or longer"
    )]
    NetworkTooBroad(String),
    /// Too many source networks.
    #[error(
        "a sensor may register at most {MAX_SOURCE_NETWORKS} source addresses or networks; {0} were given"
    )]
    TooManyNetworks(usize),
    /// A certificate fingerprint that is not 64 hex digits.
    #[error(
        "TLS client certificate fingerprint {0:?} is not a SHA-256 in hex (64 hex digits, colons allowed)"
    )]
    Fingerprint(String),
    /// Too many certificate fingerprints.
    #[error(
        "a sensor may register at most {MAX_FINGERPRINTS} certificate fingerprints; {0} were given"
    )]
    TooManyFingerprints(usize),
    /// A subject common name that is empty, too long or has a control character.
    #[error(
        "TLS subject common name must be 1 to {SUBJECT_CN_MAX_CHARS} characters without control or bidirectional formatting characters"
    )]
    SubjectCn,
    /// A UTC offset that is not `Z`, `UTC` or `±HH:MM` between -12:00 and +14:00.
    #[error("UTC offset {0:?} is not Z, UTC or ±HH:MM between -12:00 and +14:00")]
    UtcOffset(String),
}

// ---- name ----

/// A sensor's display name, e.g. "Head office firewall": trimmed, 1 to 100
/// characters, no control or bidirectional formatting characters; unique
/// among a tenant's active sensors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SensorName(String);

impl SensorName {
    /// Parses a name given by a person.
    pub fn parse(text: &str) -> Result<Self, InvalidSensorField> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > SENSOR_NAME_MAX_CHARS {
            return Err(InvalidSensorField::Name);
        }
        if let Some(found) = forbidden_in_name(name) {
            return Err(InvalidSensorField::NameCharacter(found));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SensorName {
    type Error = InvalidSensorField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SensorName> for String {
    fn from(value: SensorName) -> Self {
        value.0
    }
}

impl fmt::Display for SensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---- word enums ----

macro_rules! word_enum {
    (
        $(#[$doc:meta])* $name:ident, $what:literal, $expected:literal,
        [$($(#[$vdoc:meta])* $variant:ident = $word:literal $(| $alias:literal)*),* $(,)?]
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in a fixed order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The word as stored and shown in the API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let word = s.trim().to_ascii_lowercase().replace('-', "_");
                match word.as_str() {
                    $($word $(| $alias)* => Ok($name::$variant),)*
                    _ => Err(UnknownWord {
                        what: $what,
                        value: s.to_owned(),
                        expected: $expected,
                    }),
                }
            }
        }
    };
}

word_enum!(
    /// What a sensor is.
    SensorKind,
    "sensor kind",
    "firewall, ids, network_monitor, host_agent, syslog_relay, application, other",
    [
        /// A firewall or other network filter.
        Firewall = "firewall",
        /// An intrusion detection or prevention system (e.g. Suricata, Snort).
        Ids = "ids" | "ips",
        /// A network security monitor (e.g. Zeek).
        NetworkMonitor = "network_monitor" | "nsm",
        /// An agent on a host (Windows or Linux) forwarding its logs.
        HostAgent = "host_agent" | "host",
        /// A syslog relay forwarding other devices' logs.
        SyslogRelay = "syslog_relay" | "relay",
        /// An application sending its own logs.
        Application = "application" | "app",
        /// Anything else.
        Other = "other",
    ]
);

word_enum!(
    /// A telemetry format a sensor is registered to send.
    ///
    /// The server maps these to the normaliser's formats; a sensor with
    /// exactly one expected format has its records read as that format.
    SensorFormat,
    "format",
    "syslog, cef, suricata_eve, zeek, windows_json, evtx, json, text",
    [
        /// Syslog, RFC 5424 or RFC 3164.
        Syslog = "syslog",
        /// ArcSight Common Event Format (alone or inside syslog).
        Cef = "cef",
        /// Suricata EVE JSON.
        SuricataEve = "suricata_eve" | "suricata" | "eve",
        /// Zeek JSON logs.
        Zeek = "zeek",
        /// Windows events as JSON (evtx layout, NXLog, Winlogbeat).
        WindowsJson = "windows_json" | "windows" | "winlogbeat",
        /// Windows EVTX files (uploaded, or rendered as JSON by the sender).
        Evtx = "evtx",
        /// Any other JSON.
        Json = "json",
        /// Plain text lines.
        Text = "text",
    ]
);

word_enum!(
    /// The operating system of a host sensor, as ECS `host.os.type` names it.
    HostOsType,
    "host OS type",
    "linux, windows, macos, unix, android, ios",
    [
        /// Linux.
        Linux = "linux",
        /// Windows.
        Windows = "windows",
        /// macOS.
        Macos = "macos" | "mac" | "darwin",
        /// Another Unix (BSD, Solaris, AIX).
        Unix = "unix",
        /// Android.
        Android = "android",
        /// iOS.
        Ios = "ios",
    ]
);

// ---- expected interval ----

/// How often a sensor is expected to send: between 10 seconds and 7 days.
/// A sensor silent for longer raises a "sensor silent" health event.
/// Serialised as a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct ExpectedInterval(u32);

impl ExpectedInterval {
    /// Shortest accepted interval, in seconds.
    pub const MIN_SECS: u64 = 10;
    /// Longest accepted interval, in seconds (7 days).
    pub const MAX_SECS: u64 = 7 * 24 * 60 * 60;

    /// An interval of `seconds`, if within range.
    pub fn from_secs(seconds: u64) -> Result<Self, InvalidSensorField> {
        if !(Self::MIN_SECS..=Self::MAX_SECS).contains(&seconds) {
            return Err(InvalidSensorField::Interval(seconds));
        }
        u32::try_from(seconds)
            .map(Self)
            .map_err(|_| InvalidSensorField::Interval(seconds))
    }

    /// The interval in seconds.
    pub const fn as_secs(self) -> u64 {
        self.0 as u64
    }

    /// The interval as a duration.
    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.0 as u64)
    }
}

impl TryFrom<u64> for ExpectedInterval {
    type Error = InvalidSensorField;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::from_secs(value)
    }
}

impl From<ExpectedInterval> for u64 {
    fn from(value: ExpectedInterval) -> Self {
        value.as_secs()
    }
}

// ---- source networks ----

/// A source address or CIDR network a sensor sends from: `192.0.2.7`,
/// `192.0.2.0/24`, `2001:db8::/48`.
///
/// Host bits beyond the prefix are refused (a typo would silently claim
/// another network), as are networks broader than /8 (IPv4) or /32 (IPv6).
/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.7`) are read as IPv4, as
/// dual-stack listeners see their peers. Serialised as text; a single address
/// is written without a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceNetwork {
    address: IpAddr,
    prefix: u8,
}

/// An IPv4-mapped IPv6 address as IPv4; any other address unchanged.
pub fn canonical_address(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

fn address_bits(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

const fn family_width(address: &IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The mask of the first `prefix` bits of a `width`-bit address (`width` is 32 or 128).
fn prefix_mask(width: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    (u128::MAX << (128 - u32::from(prefix))) >> (128 - u32::from(width))
}

fn address_from_bits(v4: bool, bits: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(bits).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from(bits))
    }
}

impl SourceNetwork {
    /// Parses an address or a CIDR network.
    pub fn parse(text: &str) -> Result<Self, InvalidSensorField> {
        let given = text.trim();
        let bad = || InvalidSensorField::Network(text.to_owned());
        let (address_text, prefix_text) = match given.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (given, None),
        };
        let mut address: IpAddr = address_text.parse().map_err(|_| bad())?;
        let mut prefix = match prefix_text {
            None => family_width(&address),
            Some(digits) => {
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                digits.parse::<u8>().map_err(|_| bad())?
            }
        };
        if prefix > family_width(&address) {
            return Err(bad());
        }
        // An IPv4-mapped network (::ffff:a.b.c.d/96 or longer) is an IPv4 network.
        if let IpAddr::V6(v6) = address
            && let Some(v4) = v6.to_ipv4_mapped()
            && prefix >= 96
        {
            address = IpAddr::V4(v4);
            prefix -= 96;
        }
        let width = family_width(&address);
        let minimum = if width == 32 {
            MIN_IPV4_PREFIX
        } else {
            MIN_IPV6_PREFIX
        };
        if prefix < minimum {
            return Err(InvalidSensorField::NetworkTooBroad(given.to_owned()));
        }
        let bits = address_bits(address);
        let masked = bits & prefix_mask(width, prefix);
        if masked != bits {
            let suggested = SourceNetwork {
                address: address_from_bits(width == 32, masked),
                prefix,
            };
            return Err(InvalidSensorField::HostBits {
                given: given.to_owned(),
                prefix,
                suggested: suggested.to_string(),
            });
        }
        Ok(SourceNetwork { address, prefix })
    }

    /// The network's first address.
    pub const fn address(&self) -> IpAddr {
        self.address
    }

    /// The prefix length (32 or 128 for a single address).
    pub const fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether this is IPv4.
    pub const fn is_ipv4(&self) -> bool {
        matches!(self.address, IpAddr::V4(_))
    }

    /// Whether `address` lies in this network (IPv4-mapped addresses count as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical_address(address);
        if address.is_ipv4() != self.is_ipv4() {
            return false;
        }
        let mask = prefix_mask(family_width(&self.address), self.prefix);
        address_bits(address) & mask == address_bits(self.address)
    }

    /// The network's first address as big-endian bytes (4 for IPv4, 16 for IPv6).
    pub fn first_octets(&self) -> Vec<u8> {
        octets(self.address)
    }

    /// The network's last address as big-endian bytes (4 for IPv4, 16 for IPv6).
    pub fn last_octets(&self) -> Vec<u8> {
        let width = family_width(&self.address);
        let all = prefix_mask(width, width);
        let host = all & !prefix_mask(width, self.prefix);
        octets(address_from_bits(
            self.is_ipv4(),
            address_bits(self.address) | host,
        ))
    }
}

/// An address as big-endian bytes (4 for IPv4, 16 for IPv6), after
/// [`canonical_address`]: the key the store compares source addresses by.
pub fn octets(address: IpAddr) -> Vec<u8> {
    match canonical_address(address) {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

impl fmt::Display for SourceNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == family_width(&self.address) {
            write!(f, "{}", self.address)
        } else {
            write!(f, "{}/{}", self.address, self.prefix)
        }
    }
}

impl FromStr for SourceNetwork {
    type Err = InvalidSensorField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for SourceNetwork {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourceNetwork {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

// ---- certificates ----

/// The SHA-256 of a TLS client certificate's DER encoding. Parsed from 64 hex
/// digits in either case, with or without colons or spaces between bytes;
/// shown as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateFingerprint([u8; 32]);

impl CertificateFingerprint {
    /// Parses a fingerprint as people copy it from `openssl x509 -fingerprint -sha256`.
    pub fn parse(text: &str) -> Result<Self, InvalidSensorField> {
        let digits: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ':' | ' '))
            .collect();
        let bad = || InvalidSensorField::Fingerprint(text.to_owned());
        if digits.len() != 64 {
            return Err(bad());
        }
        let bytes = hex::decode(&digits).map_err(|_| bad())?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| bad())
    }

    /// Wraps a SHA-256 computed by the TLS layer.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for CertificateFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateFingerprint({})", self.to_hex())
    }
}

impl fmt::Display for CertificateFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for CertificateFingerprint {
    type Err = InvalidSensorField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CertificateFingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for CertificateFingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A TLS client certificate's subject common name, matched exactly (after
/// trimming). Only meaningful when the listener's client CA issues the
/// certificates: anyone can put any name in a certificate of their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubjectCommonName(String);

impl SubjectCommonName {
    /// Parses a common name: 1 to 64 characters, no control characters.
    pub fn parse(text: &str) -> Result<Self, InvalidSensorField> {
        let name = text.trim();
        if name.is_empty()
            || name.chars().count() > SUBJECT_CN_MAX_CHARS
            || forbidden_in_name(name).is_some()
        {
            return Err(InvalidSensorField::SubjectCn);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SubjectCommonName {
    type Error = InvalidSensorField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SubjectCommonName> for String {
    fn from(value: SubjectCommonName) -> Self {
        value.0
    }
}

impl fmt::Display for SubjectCommonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---- UTC offset ----

/// A sensor's UTC offset, for syslog timestamps written without a zone:
/// `Z`/`UTC` or `±HH:MM` (also `±HHMM`, `±HH`), between -12:00 and +14:00.
/// Serialised as `+05:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SensorUtcOffset(i16);

impl SensorUtcOffset {
    /// Westernmost offset, in minutes.
    pub const MIN_MINUTES: i16 = -12 * 60;
    /// Easternmost offset, in minutes.
    pub const MAX_MINUTES: i16 = 14 * 60;

    /// Parses an offset.
    pub fn parse(text: &str) -> Result<Self, InvalidSensorField> {
        let given = text.trim();
        let bad = || InvalidSensorField::UtcOffset(text.to_owned());
        if given.eq_ignore_ascii_case("z") || given.eq_ignore_ascii_case("utc") {
            return Ok(Self(0));
        }
        let (sign, rest) = match given.as_bytes().first() {
            Some(b'+') => (1, &given[1..]),
            Some(b'-') => (-1, &given[1..]),
            _ => return Err(bad()),
        };
        // Only ASCII from here on, so the splits below fall on character boundaries.
        if !rest.bytes().all(|b| b.is_ascii_digit() || b == b':') {
            return Err(bad());
        }
        let (hours, minutes) = match rest.split_once(':') {
            Some((hours, minutes)) => (hours, minutes),
            None if rest.len() == 4 => rest.split_at(2),
            None => (rest, "00"),
        };
        let two_digits = |part: &str| -> Option<i16> {
            (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        let hours = if hours.len() == 1 {
            two_digits(&format!("0{hours}"))
        } else {
            two_digits(hours)
        }
        .ok_or_else(bad)?;
        let minutes = two_digits(minutes).filter(|m| *m < 60).ok_or_else(bad)?;
        Self::from_minutes(sign * (hours * 60 + minutes)).map_err(|_| bad())
    }

    /// An offset of `minutes` east of UTC, if within range.
    pub fn from_minutes(minutes: i16) -> Result<Self, InvalidSensorField> {
        if !(Self::MIN_MINUTES..=Self::MAX_MINUTES).contains(&minutes) {
            return Err(InvalidSensorField::UtcOffset(minutes.to_string()));
        }
        Ok(Self(minutes))
    }

    /// Minutes east of UTC.
    pub const fn as_minutes(self) -> i16 {
        self.0
    }

    /// The offset as the `time` crate's type.
    pub fn to_utc_offset(self) -> time::UtcOffset {
        time::UtcOffset::from_whole_seconds(i32::from(self.0) * 60).unwrap_or(time::UtcOffset::UTC)
    }
}

impl fmt::Display for SensorUtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let minutes = self.0.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

impl FromStr for SensorUtcOffset {
    type Err = InvalidSensorField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for SensorUtcOffset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SensorUtcOffset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

// ---- lists ----

/// Source networks as registered: duplicates dropped (first kept), at most
/// [`MAX_SOURCE_NETWORKS`].
pub fn source_network_list(
    networks: Vec<SourceNetwork>,
) -> Result<Vec<SourceNetwork>, InvalidSensorField> {
    let networks = dedup(networks);
    if networks.len() > MAX_SOURCE_NETWORKS {
        return Err(InvalidSensorField::TooManyNetworks(networks.len()));
    }
    Ok(networks)
}

/// Certificate fingerprints as registered: duplicates dropped, at most [`MAX_FINGERPRINTS`].
pub fn fingerprint_list(
    fingerprints: Vec<CertificateFingerprint>,
) -> Result<Vec<CertificateFingerprint>, InvalidSensorField> {
    let fingerprints = dedup(fingerprints);
    if fingerprints.len() > MAX_FINGERPRINTS {
        return Err(InvalidSensorField::TooManyFingerprints(fingerprints.len()));
    }
    Ok(fingerprints)
}

/// Formats as registered: duplicates dropped, order kept.
pub fn format_list(formats: Vec<SensorFormat>) -> Vec<SensorFormat> {
    dedup(formats)
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

// ---- records ----

/// Reads a present value, `null` included, as `Some`: with `#[serde(default)]`
/// an absent field stays `None`, so `null` can mean "clear it".
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A registered sensor. Sensors are never deleted, only deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sensor {
    /// Its id.
    pub id: SensorId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The tenant that owns the sensor and every event it sends.
    pub tenant: TenantId,
    /// Its display name, unique among the tenant's active sensors.
    pub name: SensorName,
    /// What it is.
    pub kind: SensorKind,
    /// The formats it sends (empty: any; one: its records are read as that format).
    pub expected_formats: Vec<SensorFormat>,
    /// How often it is expected to send; `None`: it is never reported silent.
    pub expected_interval: Option<ExpectedInterval>,
    /// The addresses and networks its syslog comes from (unique among active sensors).
    pub source_addresses: Vec<SourceNetwork>,
    /// SHA-256 fingerprints of its TLS client certificates (unique among active sensors).
    pub tls_client_fingerprints: Vec<CertificateFingerprint>,
    /// Its TLS client certificate's subject common name (unique among active sensors).
    pub tls_subject_cn: Option<SubjectCommonName>,
    /// `host.os.type` for its events that do not say.
    pub host_os_type: Option<HostOsType>,
    /// Its UTC offset, for syslog timestamps written without a zone.
    pub utc_offset: Option<SensorUtcOffset>,
    /// False once deactivated: its tokens are revoked and intake no longer knows it.
    pub active: bool,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A change to a sensor's registration: every field that is `Some` is replaced.
///
/// Fields that may be cleared are doubly optional: `Some(None)` clears them
/// (in JSON: an absent field is left alone, `null` clears it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SensorUpdate {
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<SensorName>,
    /// A new kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SensorKind>,
    /// New expected formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_formats: Option<Vec<SensorFormat>>,
    /// A new expected interval, or none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expected_interval: Option<Option<ExpectedInterval>>,
    /// New source addresses and networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_addresses: Option<Vec<SourceNetwork>>,
    /// New certificate fingerprints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_fingerprints: Option<Vec<CertificateFingerprint>>,
    /// A new subject common name, or none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub tls_subject_cn: Option<Option<SubjectCommonName>>,
    /// A new host OS type, or none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub host_os_type: Option<Option<HostOsType>>,
    /// A new UTC offset, or none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub utc_offset: Option<Option<SensorUtcOffset>>,
}

impl SensorUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == SensorUpdate::default()
    }

    /// The sensor with this update applied (lists normalised), stamped `updated_at = at`.
    pub fn apply(&self, sensor: &Sensor, at: Timestamp) -> Result<Sensor, InvalidSensorField> {
        let mut after = sensor.clone();
        if let Some(name) = &self.name {
            after.name = name.clone();
        }
        if let Some(kind) = self.kind {
            after.kind = kind;
        }
        if let Some(formats) = &self.expected_formats {
            after.expected_formats = format_list(formats.clone());
        }
        if let Some(interval) = self.expected_interval {
            after.expected_interval = interval;
        }
        if let Some(networks) = &self.source_addresses {
            after.source_addresses = source_network_list(networks.clone())?;
        }
        if let Some(fingerprints) = &self.tls_client_fingerprints {
            after.tls_client_fingerprints = fingerprint_list(fingerprints.clone())?;
        }
        if let Some(cn) = &self.tls_subject_cn {
            after.tls_subject_cn = cn.clone();
        }
        if let Some(os) = self.host_os_type {
            after.host_os_type = os;
        }
        if let Some(offset) = self.utc_offset {
            after.utc_offset = offset;
        }
        after.updated_at = at;
        Ok(after)
    }
}

/// A sensor's ingest token: a bearer secret that authenticates as the sensor
/// (never as a user). Only the SHA-256 of the secret is stored; the secret is
/// shown once, when the sensor is registered or its token rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorToken {
    /// Its id.
    pub id: SensorTokenId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The sensor it authenticates as.
    pub sensor: SensorId,
    /// The sensor's tenant.
    pub tenant: TenantId,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops working (set when it is rotated with a grace period).
    pub expires_at: Option<Timestamp>,
    /// When it was last used.
    pub last_used_at: Option<Timestamp>,
    /// The address it was last used from.
    pub last_used_from: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl SensorToken {
    /// Whether the token may authenticate at `now`: not revoked and not expired.
    pub fn is_usable_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// What happened to a sensor's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SensorHealthKind {
    /// The sensor sent nothing for longer than its expected interval.
    Silent {
        /// Its last event, or when intake started watching it if it never sent.
        since: Timestamp,
        /// The interval it was expected to send within, in seconds.
        expected_interval_seconds: u64,
    },
    /// A silent sensor sent data again.
    Recovered {
        /// When its silence began.
        silent_since: Timestamp,
        /// How long it was silent, in whole seconds.
        silent_for_seconds: u64,
    },
}

impl SensorHealthKind {
    /// The kind's word as stored: `silent` or `recovered`.
    pub const fn word(&self) -> &'static str {
        match self {
            SensorHealthKind::Silent { .. } => "silent",
            SensorHealthKind::Recovered { .. } => "recovered",
        }
    }

    /// A recovery seen at `at` after a silence that began at `silent_since`.
    pub fn recovered(silent_since: Timestamp, at: Timestamp) -> Self {
        let micros = at.unix_micros().saturating_sub(silent_since.unix_micros());
        SensorHealthKind::Recovered {
            silent_since,
            silent_for_seconds: u64::try_from(micros / 1_000_000).unwrap_or(0),
        }
    }
}

/// A change in a sensor's health, generated by the platform (not by a
/// person): kept in its own append-only table, not in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorHealthEvent {
    /// Its id.
    pub id: SensorHealthEventId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The sensor.
    pub sensor: SensorId,
    /// The sensor's tenant.
    pub tenant: TenantId,
    /// What happened.
    #[serde(flatten)]
    pub kind: SensorHealthKind,
    /// When intake saw it happen.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> SourceNetwork {
        SourceNetwork::parse(text).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn sensor_names_refuse_bidi_controls_naming_them() {
        let error = SensorName::parse("fw\u{202E}1").unwrap_err();
        assert_eq!(
            error,
            InvalidSensorField::NameCharacter(ForbiddenCharacter {
                character: '\u{202E}',
                position: 3
            })
        );
        assert!(
            error
                .to_string()
                .contains("U+202E (right-to-left override)")
        );
        assert!(SubjectCommonName::parse("fw\u{2067}.example").is_err());
        assert!(SensorName::parse("دفتر فائر وال").is_ok());
    }

    #[test]
    fn networks_parse_and_contain() {
        let single = net(" 192.0.2.7 ");
        assert_eq!(single.prefix_len(), 32);
        assert_eq!(single.to_string(), "192.0.2.7");
        assert!(single.contains(ip("192.0.2.7")));
        assert!(!single.contains(ip("192.0.2.8")));
        let block = net("192.0.2.0/24");
        assert_eq!(block.to_string(), "192.0.2.0/24");
        assert!(block.contains(ip("192.0.2.255")));
        assert!(
            block.contains(ip("::ffff:192.0.2.9")),
            "mapped addresses are IPv4"
        );
        assert!(!block.contains(ip("192.0.3.0")));
        assert!(!block.contains(ip("2001:db8::1")));
        assert_eq!(block.first_octets(), vec![192, 0, 2, 0]);
        assert_eq!(block.last_octets(), vec![192, 0, 2, 255]);
        let v6 = net("2001:DB8:1::/48");
        assert_eq!(v6.to_string(), "2001:db8:1::/48");
        assert!(v6.contains(ip("2001:db8:1:ffff::1")));
        assert!(!v6.contains(ip("2001:db8:2::1")));
        assert_eq!(v6.last_octets()[6..], [0xff; 10]);
        assert_eq!(net("::ffff:10.1.0.0/112"), net("10.1.0.0/16"));
        assert_eq!(net("::ffff:10.1.2.3"), net("10.1.2.3"));
        assert_eq!(net("10.0.0.0/8").prefix_len(), 8);
    }

    #[test]
    fn bad_networks_say_why() {
        for bad in [
            "",
            "10.0.0",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "host.example",
            "10.0.0.0/24/1",
        ] {
            assert!(
                matches!(
                    SourceNetwork::parse(bad),
                    Err(InvalidSensorField::Network(_))
                ),
                "{bad:?}"
            );
        }
        let error = SourceNetwork::parse("10.1.2.3/24").unwrap_err();
        assert_eq!(
            error.to_string(),
            "source network \"10.1.2.3/24\" has host bits set beyond /24; did you mean 10.1.2.0/24?"
        );
        assert!(matches!(
            SourceNetwork::parse("0.0.0.0/0"),
            Err(InvalidSensorField::NetworkTooBroad(_))
        ));
        assert!(matches!(
            SourceNetwork::parse("2000::/3"),
            Err(InvalidSensorField::NetworkTooBroad(_))
        ));
    }

    #[test]
    fn fingerprints_normalise_to_lower_hex() {
        let upper = "AB:CD:".to_owned() + &"0F:".repeat(29) + "12";
        let parsed = CertificateFingerprint::parse(&upper).unwrap();
        assert_eq!(parsed.to_hex(), "abcd".to_owned() + &"0f".repeat(29) + "12");
        assert_eq!(
            CertificateFingerprint::parse(&parsed.to_hex()).unwrap(),
            parsed
        );
        assert!(CertificateFingerprint::parse("abcd").is_err());
        assert!(CertificateFingerprint::parse(&"zz".repeat(32)).is_err());
        let json = serde_json::to_string(&parsed).unwrap();
        assert_eq!(json, format!("\"{}\"", parsed.to_hex()));
    }

    #[test]
    fn intervals_are_bounded() {
        assert!(ExpectedInterval::from_secs(9).is_err());
        assert_eq!(ExpectedInterval::from_secs(10).unwrap().as_secs(), 10);
        assert!(ExpectedInterval::from_secs(7 * 86_400).is_ok());
        assert!(ExpectedInterval::from_secs(7 * 86_400 + 1).is_err());
        assert!(serde_json::from_str::<ExpectedInterval>("5").is_err());
        assert_eq!(
            serde_json::from_str::<ExpectedInterval>("300").unwrap(),
            ExpectedInterval::from_secs(300).unwrap()
        );
    }

    #[test]
    fn offsets_parse_in_the_usual_spellings() {
        for (text, minutes) in [
            ("Z", 0),
            ("utc", 0),
            ("+05:00", 300),
            ("+0530", 330),
            ("-03:30", -210),
            ("+5", 300),
            ("+14:00", 840),
            ("-12:00", -720),
        ] {
            assert_eq!(
                SensorUtcOffset::parse(text).unwrap().as_minutes(),
                minutes,
                "{text}"
            );
        }
        for bad in ["", "5", "+15:00", "-12:30", "+05:60", "+5:0", "+aa:bb"] {
            assert!(SensorUtcOffset::parse(bad).is_err(), "{bad:?}");
        }
        let offset = SensorUtcOffset::parse("-03:30").unwrap();
        assert_eq!(offset.to_string(), "-03:30");
        assert_eq!(offset.to_utc_offset().whole_seconds(), -210 * 60);
    }

    #[test]
    fn words_parse_with_aliases() {
        for kind in SensorKind::ALL {
            assert_eq!(kind.as_str().parse::<SensorKind>().unwrap(), *kind);
            assert_eq!(
                serde_json::to_string(kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        for format in SensorFormat::ALL {
            assert_eq!(format.as_str().parse::<SensorFormat>().unwrap(), *format);
            assert_eq!(
                serde_json::to_string(format).unwrap(),
                format!("\"{}\"", format.as_str())
            );
        }
        for os in HostOsType::ALL {
            assert_eq!(os.as_str().parse::<HostOsType>().unwrap(), *os);
        }
        assert_eq!(
            "Suricata-EVE".parse::<SensorFormat>().unwrap(),
            SensorFormat::SuricataEve
        );
        assert_eq!(
            "eve".parse::<SensorFormat>().unwrap(),
            SensorFormat::SuricataEve
        );
        assert_eq!(
            "network-monitor".parse::<SensorKind>().unwrap(),
            SensorKind::NetworkMonitor
        );
        let error = "netflow".parse::<SensorFormat>().unwrap_err();
        assert!(error.to_string().contains("suricata_eve"), "{error}");
    }

    #[test]
    fn updates_replace_only_what_they_name() {
        let now = Timestamp::now();
        let sensor = Sensor {
            id: SensorId::new(),
            instance: InstanceId::new(),
            tenant: TenantId::new(),
            name: SensorName::parse("fw").unwrap(),
            kind: SensorKind::Firewall,
            expected_formats: vec![SensorFormat::Syslog],
            expected_interval: Some(ExpectedInterval::from_secs(60).unwrap()),
            source_addresses: vec![net("192.0.2.1")],
            tls_client_fingerprints: vec![],
            tls_subject_cn: None,
            host_os_type: None,
            utc_offset: None,
            active: true,
            created_at: now,
            updated_at: now,
        };
        assert!(SensorUpdate::default().is_empty());
        let later = Timestamp::from_unix_micros(now.unix_micros() + 1);
        let update = SensorUpdate {
            expected_interval: Some(None),
            source_addresses: Some(vec![net("192.0.2.0/24"), net("192.0.2.0/24")]),
            ..SensorUpdate::default()
        };
        let after = update.apply(&sensor, later).unwrap();
        assert_eq!(after.expected_interval, None);
        assert_eq!(after.source_addresses, vec![net("192.0.2.0/24")]);
        assert_eq!(after.name, sensor.name);
        assert_eq!(after.updated_at, later);
        let json: SensorUpdate =
            serde_json::from_str(r#"{"expected_interval": null, "name": "fw 2"}"#).unwrap();
        assert_eq!(json.expected_interval, Some(None), "null clears");
        assert_eq!(json.utc_offset, None, "absent leaves alone");
        assert_eq!(json.name.unwrap().as_str(), "fw 2");
        let json: SensorUpdate = serde_json::from_str(r#"{"utc_offset": "+05:00"}"#).unwrap();
        assert_eq!(
            json.utc_offset,
            Some(Some(SensorUtcOffset::from_minutes(300).unwrap()))
        );
    }

    #[test]
    fn recovery_measures_the_silence() {
        let since = Timestamp::from_unix_micros(1_000_000_000);
        let at = Timestamp::from_unix_micros(1_000_000_000 + 90_500_000);
        assert_eq!(
            SensorHealthKind::recovered(since, at),
            SensorHealthKind::Recovered {
                silent_since: since,
                silent_for_seconds: 90
            }
        );
        let event = SensorHealthEvent {
            id: SensorHealthEventId::new(),
            instance: InstanceId::new(),
            sensor: SensorId::new(),
            tenant: TenantId::new(),
            kind: SensorHealthKind::Silent {
                since,
                expected_interval_seconds: 60,
            },
            at,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "silent");
        assert_eq!(json["expected_interval_seconds"], 60);
        let back: SensorHealthEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
