//! Indicators of compromise and their sightings: shared threat intelligence.
//!
//! An [`Indicator`] is a typed, normalised value ([`IndicatorValue`]) a
//! CERT shares so that others can look for it: an address or a CIDR range,
//! a domain (which also matches its subdomains), a URL, a file hash, an
//! e-mail address, or a TLS client fingerprint (JA3, JA4). It carries when
//! it is valid, how confident its source is (and how that confidence decays
//! with age, per kind: [`IndicatorKind::half_life_days`]), its source and
//! tags, its TLP 2.0 and PAP labels, the tenant that owns it and who it is
//! shared with ([`ShareRecipient`]). A [`Sighting`] says that someone saw
//! it: which tenant, when, where (sensor, event), and whether it was found
//! live or by a retro-hunt over stored events.
//!
//! Values are parsed once, here, with the incident observables' readers
//! (defanged values accepted), so the same value written two ways is one
//! indicator.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::incident::{Observable, Pap};
use crate::{IndicatorId, InstanceId, SensorId, SightingId, TenantId, Timestamp, Tlp, UserId};

/// What kind of value an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// One IPv4 address.
    Ipv4,
    /// One IPv6 address.
    Ipv6,
    /// An IPv4 or IPv6 network in CIDR notation (host bits cleared).
    Cidr,
    /// A domain name; matches the domain and every name below it.
    Domain,
    /// A URL, normalised (scheme and host lower-case, default port and fragment dropped).
    Url,
    /// An MD5 file hash.
    Md5,
    /// A SHA-1 file hash.
    Sha1,
    /// A SHA-256 file hash.
    Sha256,
    /// An e-mail address.
    Email,
    /// A JA3 TLS client fingerprint (32 hex digits).
    Ja3,
    /// A JA4 TLS client fingerprint (`t13d1516h2_8daaf6152771_b0da82dd1658`).
    Ja4,
}

impl IndicatorKind {
    /// Every kind.
    pub const ALL: [IndicatorKind; 11] = [
        IndicatorKind::Ipv4,
        IndicatorKind::Ipv6,
        IndicatorKind::Cidr,
        IndicatorKind::Domain,
        IndicatorKind::Url,
        IndicatorKind::Md5,
        IndicatorKind::Sha1,
        IndicatorKind::Sha256,
        IndicatorKind::Email,
        IndicatorKind::Ja3,
        IndicatorKind::Ja4,
    ];

    /// The kind's word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ipv4 => "ipv4",
            IndicatorKind::Ipv6 => "ipv6",
            IndicatorKind::Cidr => "cidr",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::Md5 => "md5",
            IndicatorKind::Sha1 => "sha1",
            IndicatorKind::Sha256 => "sha256",
            IndicatorKind::Email => "email",
            IndicatorKind::Ja3 => "ja3",
            IndicatorKind::Ja4 => "ja4",
        }
    }

    /// The kind named by `word` (as [`IndicatorKind::as_str`] writes it).
    pub fn parse(word: &str) -> Option<Self> {
        let lower = word.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| k.as_str() == lower)
    }

    /// After how many days a value of this kind has lost half its
    /// confidence; `None` when it does not decay. Addresses change hands
    /// within weeks, domains and URLs within months; a file hash names the
    /// same file for ever.
    pub const fn half_life_days(self) -> Option<u32> {
        match self {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr => Some(30),
            IndicatorKind::Url => Some(60),
            IndicatorKind::Domain => Some(90),
            IndicatorKind::Email => Some(180),
            IndicatorKind::Ja3 | IndicatorKind::Ja4 => Some(365),
            IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 => None,
        }
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An indicator value that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIndicator {
    /// The kind is not one of the known kinds.
    #[error(
        "unknown indicator kind {0:?}; expected one of: ipv4, ipv6, ip, cidr, domain, url, md5, sha1, sha256, hash, email, ja3, ja4"
    )]
    Kind(String),
    /// The value is not a value of that kind.
    #[error("{value:?} is not a valid {kind} indicator")]
    Value {
        /// The kind asked for.
        kind: String,
        /// The value given.
        value: String,
    },
    /// Another field of the indicator was refused.
    #[error("{field}: {reason}")]
    Field {
        /// The field, as named in the API.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// A typed, normalised indicator value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawValue")]
pub struct IndicatorValue {
    kind: IndicatorKind,
    value: String,
}

#[derive(Deserialize)]
struct RawValue {
    kind: String,
    value: String,
}

impl TryFrom<RawValue> for IndicatorValue {
    type Error = InvalidIndicator;
    fn try_from(raw: RawValue) -> Result<Self, Self::Error> {
        IndicatorValue::parse(&raw.kind, &raw.value)
    }
}

impl IndicatorValue {
    /// Parses a value of the named kind: one of [`IndicatorKind::as_str`],
    /// or `ip` (an address of either family), `hash` (MD5, SHA-1 or SHA-256
    /// by length). Defanged values are accepted; a CIDR network that is one
    /// address becomes that address.
    pub fn parse(kind: &str, value: &str) -> Result<Self, InvalidIndicator> {
        let word = kind.trim().to_ascii_lowercase();
        let refused = || InvalidIndicator::Value {
            kind: word.clone(),
            value: value.to_owned(),
        };
        let trimmed = value.trim();
        let parsed = match word.as_str() {
            "ip" | "ipv4" | "ipv6" => {
                let observable = Observable::parse("ip", trimmed).map_err(|_| refused())?;
                let found = from_observable(&observable).ok_or_else(refused)?;
                if word != "ip" && found.kind.as_str() != word {
                    return Err(refused());
                }
                found
            }
            "cidr" => cidr(trimmed).ok_or_else(refused)?,
            "hash" | "md5" | "sha1" | "sha256" => {
                let observable = Observable::parse("hash", trimmed).map_err(|_| refused())?;
                let found = from_observable(&observable).ok_or_else(refused)?;
                if word != "hash" && found.kind.as_str() != word {
                    return Err(refused());
                }
                found
            }
            "domain" | "email" => {
                let observable = Observable::parse(&word, trimmed).map_err(|_| refused())?;
                from_observable(&observable).ok_or_else(refused)?
            }
            "url" => {
                let observable = Observable::parse("url", trimmed).map_err(|_| refused())?;
                IndicatorValue {
                    kind: IndicatorKind::Url,
                    value: normalise_url(observable.value()).ok_or_else(refused)?,
                }
            }
            "ja3" => {
                let lower = trimmed.to_ascii_lowercase();
                if lower.len() != 32 || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(refused());
                }
                IndicatorValue {
                    kind: IndicatorKind::Ja3,
                    value: lower,
                }
            }
            "ja4" => IndicatorValue {
                kind: IndicatorKind::Ja4,
                value: ja4(trimmed).ok_or_else(refused)?,
            },
            _ => return Err(InvalidIndicator::Kind(kind.to_owned())),
        };
        Ok(parsed)
    }

    /// Its kind.
    pub fn kind(&self) -> IndicatorKind {
        self.kind
    }

    /// Its normalised value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// For a CIDR network: its first address and prefix length.
    pub fn network(&self) -> Option<(IpAddr, u8)> {
        if self.kind != IndicatorKind::Cidr {
            return None;
        }
        let (address, length) = self.value.split_once('/')?;
        Some((address.parse().ok()?, length.parse().ok()?))
    }
}

impl fmt::Display for IndicatorValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// The indicator value of an incident observable, when it is one of the indicator kinds.
pub fn from_observable(observable: &Observable) -> Option<IndicatorValue> {
    use crate::incident::ObservableKind as O;
    let kind = match observable.kind() {
        O::Ipv4 => IndicatorKind::Ipv4,
        O::Ipv6 => IndicatorKind::Ipv6,
        O::Domain => IndicatorKind::Domain,
        O::Md5 => IndicatorKind::Md5,
        O::Sha1 => IndicatorKind::Sha1,
        O::Sha256 => IndicatorKind::Sha256,
        O::Email => IndicatorKind::Email,
        O::Url => {
            return Some(IndicatorValue {
                kind: IndicatorKind::Url,
                value: normalise_url(observable.value())?,
            });
        }
        O::Sha512 | O::Cve | O::User => return None,
    };
    Some(IndicatorValue {
        kind,
        value: observable.value().to_owned(),
    })
}

/// A CIDR network, host bits cleared; one address alone is that address.
fn cidr(text: &str) -> Option<IndicatorValue> {
    let (address, length) = text.split_once('/')?;
    let length: u8 = length.trim().parse().ok()?;
    let address: IpAddr = address.trim().parse().ok()?;
    let (network, full) = match address {
        IpAddr::V4(v4) => {
            if length > 32 {
                return None;
            }
            let bits = u32::from(v4);
            let mask = if length == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(length))
            };
            (IpAddr::V4(Ipv4Addr::from(bits & mask)), 32)
        }
        IpAddr::V6(v6) => {
            if length > 128 {
                return None;
            }
            let bits = u128::from(v6);
            let mask = if length == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(length))
            };
            (IpAddr::V6(Ipv6Addr::from(bits & mask)), 128)
        }
    };
    if length == full {
        let kind = if network.is_ipv4() {
            IndicatorKind::Ipv4
        } else {
            IndicatorKind::Ipv6
        };
        return Some(IndicatorValue {
            kind,
            value: network.to_string(),
        });
    }
    Some(IndicatorValue {
        kind: IndicatorKind::Cidr,
        value: format!("{network}/{length}"),
    })
}

/// A JA4 fingerprint: `[tqd]` protocol, two digits of TLS version, `d`/`i`
/// (domain or IP SNI), two digits each of cipher and extension counts, two
/// characters of ALPN, then two 12-hex-digit hashes; lower-cased.
fn ja4(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut parts = lower.split('_');
    let (head, first, second) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || head.len() != 10 {
        return None;
    }
    let head_bytes = head.as_bytes();
    let hex12 = |part: &str| part.len() == 12 && part.bytes().all(|b| b.is_ascii_hexdigit());
    let ok = matches!(head_bytes[0], b't' | b'q' | b'd')
        && head_bytes[1..3].iter().all(u8::is_ascii_alphanumeric)
        && matches!(head_bytes[3], b'd' | b'i')
        && head_bytes[4..8].iter().all(u8::is_ascii_digit)
        && head_bytes[8..10].iter().all(u8::is_ascii_alphanumeric)
        && hex12(first)
        && hex12(second);
    ok.then_some(lower)
}

/// A URL in the form indicators compare: scheme and host lower-case, the
/// scheme's default port dropped, an empty path written `/`, the fragment
/// dropped (it never reaches a server); path and query kept as written.
pub fn normalise_url(text: &str) -> Option<String> {
    let (scheme, rest) = text.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.split('#').next().unwrap_or("");
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let mut host_port = host_port.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        "ftp" => ":21",
        _ => "",
    };
    if !default_port.is_empty()
        && let Some(stripped) = host_port.strip_suffix(default_port)
    {
        host_port = stripped.to_owned();
    }
    host_port = host_port.trim_end_matches('.').to_owned();
    if host_port.is_empty() {
        return None;
    }
    let tail = if tail.is_empty() || tail.starts_with('?') {
        format!("/{tail}")
    } else {
        tail.to_owned()
    };
    Some(match userinfo {
        Some(user) => format!("{scheme}://{user}@{host_port}{tail}"),
        None => format!("{scheme}://{host_port}{tail}"),
    })
}

/// Someone an indicator is shared with, beyond its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ShareRecipient {
    /// A tenant (at TLP:AMBER also the tenants below it).
    Tenant(TenantId),
    /// A named person (TLP:RED is for named people only).
    User(UserId),
}

/// Highest confidence, on the 0–100 scale STIX 2.1 uses.
pub const MAX_CONFIDENCE: u8 = 100;
/// Most tags an indicator carries.
pub const MAX_TAGS: usize = 64;
/// Longest tag, source or title, in characters.
pub const MAX_LABEL_CHARS: usize = 256;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 16_384;
/// Most recipients an indicator is shared with.
pub const MAX_RECIPIENTS: usize = 1_000;

/// An indicator of compromise, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// Its id.
    pub id: IndicatorId,
    /// The installation that owns it.
    pub instance: InstanceId,
    /// The tenant that owns it (who published it).
    pub tenant: TenantId,
    /// The value looked for.
    pub value: IndicatorValue,
    /// A short title, e.g. "Emotet C2".
    pub title: String,
    /// Free text: context, what to do.
    pub description: String,
    /// From when it is valid.
    pub valid_from: Timestamp,
    /// Until when it is valid (`None`: until withdrawn).
    pub valid_until: Option<Timestamp>,
    /// How sure its source is, 0–100, as of `valid_from` (see [`Indicator::confidence_at`]).
    pub confidence: u8,
    /// Where it came from: a feed, a partner, an incident ("MISP feed CIRCL", "PK-2026-000123").
    pub source: String,
    /// Tags: ATT&CK technique ids (`attack.t1566`), RSIT classes, free words.
    pub tags: Vec<String>,
    /// How far it may travel.
    pub tlp: Tlp,
    /// What recipients may do with it.
    pub pap: Pap,
    /// Who it is addressed to (TLP:AMBER, AMBER+STRICT: tenants; TLP:RED: people).
    pub shared_with: Vec<ShareRecipient>,
    /// Whether it is withdrawn (kept for history; no longer matched or shared).
    pub revoked: bool,
    /// Its version (1 when created, one more at every change).
    pub version: u64,
    /// When it was created here.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Who last changed it (`None`: an import by the platform).
    pub updated_by: Option<UserId>,
}

impl Indicator {
    /// Checks the fields a person or an import gives (lengths, confidence, tags).
    pub fn check(&self) -> Result<(), InvalidIndicator> {
        let field = |field: &'static str, reason: String| InvalidIndicator::Field { field, reason };
        if self.confidence > MAX_CONFIDENCE {
            return Err(field(
                "confidence",
                format!("{} is above {MAX_CONFIDENCE}", self.confidence),
            ));
        }
        for (name, text, max) in [
            ("title", &self.title, MAX_LABEL_CHARS),
            ("source", &self.source, MAX_LABEL_CHARS),
            ("description", &self.description, MAX_DESCRIPTION_CHARS),
        ] {
            if text.chars().count() > max {
                return Err(field(name, format!("longer than {max} characters")));
            }
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(field(name, "holds a control character".into()));
            }
        }
        if self.tags.len() > MAX_TAGS {
            return Err(field("tags", format!("more than {MAX_TAGS}")));
        }
        if let Some(tag) = self
            .tags
            .iter()
            .find(|t| t.trim().is_empty() || t.chars().count() > MAX_LABEL_CHARS)
        {
            return Err(field(
                "tags",
                format!("{tag:?} is empty or longer than {MAX_LABEL_CHARS} characters"),
            ));
        }
        if self.shared_with.len() > MAX_RECIPIENTS {
            return Err(field(
                "shared_with",
                format!("more than {MAX_RECIPIENTS} recipients"),
            ));
        }
        if let Some(until) = self.valid_until
            && until < self.valid_from
        {
            return Err(field("valid_until", "is before valid_from".into()));
        }
        Ok(())
    }

    /// Whether it is in force at `at`: not withdrawn, and within its validity.
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        !self.revoked && self.valid_from <= at && self.valid_until.is_none_or(|until| at < until)
    }

    /// Its confidence at `at`: halved every [`IndicatorKind::half_life_days`]
    /// since `valid_from` (never for hashes), rounded down.
    pub fn confidence_at(&self, at: Timestamp) -> u8 {
        decayed_confidence(self.value.kind(), self.confidence, self.valid_from, at)
    }
}

/// `confidence` given at `from`, decayed to `at` for a value of `kind`.
pub fn decayed_confidence(
    kind: IndicatorKind,
    confidence: u8,
    from: Timestamp,
    at: Timestamp,
) -> u8 {
    let Some(half_life) = kind.half_life_days() else {
        return confidence;
    };
    let age_days = (at.unix_micros() - from.unix_micros()).max(0) as f64 / 86_400e6;
    let factor = 0.5_f64.powf(age_days / f64::from(half_life));
    // In [0, confidence]: the cast cannot overflow.
    (f64::from(confidence) * factor).floor() as u8
}

/// Where a sighting was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SightingOrigin {
    /// Reported by a person (or a partner's tool through the API).
    Reported,
    /// Live matching of an incoming event.
    Live,
    /// A retro-hunt over stored events.
    Retrospective,
}

/// One report that an indicator was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    /// Its id.
    pub id: SightingId,
    /// The indicator seen.
    pub indicator: IndicatorId,
    /// The tenant that saw it.
    pub tenant: TenantId,
    /// When it was seen.
    pub seen_at: Timestamp,
    /// How many times (at least 1).
    pub count: u32,
    /// The sensor that saw it, if a sensor did.
    pub sensor: Option<SensorId>,
    /// The event it was seen in, if one (a sighting per indicator and event is kept once).
    pub event_id: Option<String>,
    /// Where, in words ("edge firewall", "mail gateway").
    pub note: String,
    /// How it was found.
    pub origin: SightingOrigin,
    /// Who reported it (`None`: the platform's matching).
    pub reported_by: Option<UserId>,
    /// When it was recorded.
    pub recorded_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(kind: &str, value: &str) -> IndicatorValue {
        IndicatorValue::parse(kind, value).unwrap()
    }

    #[test]
    fn values_are_normalised_per_kind() {
        assert_eq!(v("ip", "192.0.2[.]1").kind(), IndicatorKind::Ipv4);
        assert_eq!(v("ip", "2001:DB8::1").value(), "2001:db8::1");
        assert_eq!(v("cidr", "10.1.2.3/8").value(), "10.0.0.0/8");
        assert_eq!(v("cidr", "10.1.2.3/32"), v("ipv4", "10.1.2.3"));
        assert_eq!(v("cidr", "2001:db8::7/32").value(), "2001:db8::/32");
        assert_eq!(v("domain", "Evil.Example.").value(), "evil.example");
        assert_eq!(
            v("url", "HTTPS://Evil.Example:443/a/B?x=1#frag").value(),
            "https://evil.example/a/B?x=1"
        );
        assert_eq!(
            v("url", "hxxp://evil[.]example").value(),
            "http://evil.example/"
        );
        assert_eq!(v("hash", &"A".repeat(64)).kind(), IndicatorKind::Sha256);
        assert_eq!(v("email", "Bad@Evil.Example").value(), "bad@evil.example");
        assert_eq!(
            v("ja4", "T13D1516H2_8daaf6152771_B0DA82DD1658").value(),
            "t13d1516h2_8daaf6152771_b0da82dd1658"
        );
        assert_eq!(v("ja3", &"e".repeat(32)).kind(), IndicatorKind::Ja3);
    }

    #[test]
    fn bad_values_are_refused_naming_kind_and_value() {
        for (kind, value) in [
            ("ipv4", "2001:db8::1"),
            ("ipv6", "192.0.2.1"),
            ("cidr", "10.0.0.0/33"),
            ("domain", "invoice.pdf"),
            ("md5", &"a".repeat(40)),
            ("ja3", "xyz"),
            ("ja4", "t13d1516h2_8daaf6152771"),
            ("url", "file:///etc/passwd"),
        ] {
            let error = IndicatorValue::parse(kind, value).unwrap_err();
            assert!(error.to_string().contains(kind), "{error}");
        }
        assert!(matches!(
            IndicatorValue::parse("colour", "red"),
            Err(InvalidIndicator::Kind(_))
        ));
    }

    #[test]
    fn confidence_halves_per_kind_and_hashes_keep_theirs() {
        let from = Timestamp::from_unix_micros(0);
        let day = 86_400_000_000_i64;
        let at = Timestamp::from_unix_micros(30 * day);
        assert_eq!(decayed_confidence(IndicatorKind::Ipv4, 80, from, at), 40);
        assert_eq!(decayed_confidence(IndicatorKind::Sha256, 80, from, at), 80);
        assert_eq!(
            decayed_confidence(IndicatorKind::Domain, 80, from, from),
            80
        );
        let later = Timestamp::from_unix_micros(180 * day);
        assert_eq!(
            decayed_confidence(IndicatorKind::Domain, 80, from, later),
            20
        );
    }
}
