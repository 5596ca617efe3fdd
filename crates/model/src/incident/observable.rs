//! Typed observables and their extraction from free text.
//!
//! An observable is a value an analyst can search for or block: an IPv4 or
//! IPv6 address, a domain, a URL, a file hash, an e-mail address or a CVE id.
//! Values are normalised when parsed (addresses in their canonical form,
//! domains and hashes lower-case, CVE ids upper-case), so the same value
//! written two ways is one observable.
//!
//! [`extract_observables`] reads reports as analysts write them: values may
//! be defanged (`hxxp://`, `evil[.]example`, `1.2.3[.]4`, `user[@]host`),
//! wrapped in brackets, quotes or punctuation, and addresses may carry a
//! port. It never fails: text that is no observable is skipped.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of value an observable is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservableKind {
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// A domain name.
    Domain,
    /// A URL (http, https or ftp).
    Url,
    /// An MD5 hash (32 hex digits).
    Md5,
    /// A SHA-1 hash (40 hex digits).
    Sha1,
    /// A SHA-256 hash (64 hex digits).
    Sha256,
    /// A SHA-512 hash (128 hex digits).
    Sha512,
    /// An e-mail address.
    Email,
    /// A CVE id, e.g. `CVE-2024-3094`.
    Cve,
    /// A user account name as an event names it (`CORP\\jdoe`, `root`),
    /// compared without case. Taken from alerts' user fields, never guessed
    /// from free text.
    User,
}

impl ObservableKind {
    /// Every kind.
    pub const ALL: [ObservableKind; 11] = [
        ObservableKind::Ipv4,
        ObservableKind::Ipv6,
        ObservableKind::Domain,
        ObservableKind::Url,
        ObservableKind::Md5,
        ObservableKind::Sha1,
        ObservableKind::Sha256,
        ObservableKind::Sha512,
        ObservableKind::Email,
        ObservableKind::Cve,
        ObservableKind::User,
    ];

    /// The kind's word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObservableKind::Ipv4 => "ipv4",
            ObservableKind::Ipv6 => "ipv6",
            ObservableKind::Domain => "domain",
            ObservableKind::Url => "url",
            ObservableKind::Md5 => "md5",
            ObservableKind::Sha1 => "sha1",
            ObservableKind::Sha256 => "sha256",
            ObservableKind::Sha512 => "sha512",
            ObservableKind::Email => "email",
            ObservableKind::Cve => "cve",
            ObservableKind::User => "user",
        }
    }
}

impl fmt::Display for ObservableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An observable that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidObservable {
    /// The kind is not one of the known kinds.
    #[error(
        "unknown observable kind {0:?}; expected one of: ipv4, ipv6, domain, url, hash (or md5, sha1, sha256, sha512), email, cve, user"
    )]
    Kind(String),
    /// The value is not a value of that kind.
    #[error("{value:?} is not a valid {kind} observable")]
    Value {
        /// The kind asked for.
        kind: &'static str,
        /// The value given.
        value: String,
    },
}

/// A typed, normalised observable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "RawObservable")]
pub struct Observable {
    kind: ObservableKind,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObservable {
    kind: String,
    value: String,
}

impl TryFrom<RawObservable> for Observable {
    type Error = InvalidObservable;
    fn try_from(raw: RawObservable) -> Result<Self, Self::Error> {
        Observable::parse(&raw.kind, &raw.value)
    }
}

/// Longest observable value kept, in bytes (URLs can be long; beyond this they are not useful indicators).
const VALUE_MAX_BYTES: usize = 2048;

impl Observable {
    /// Parses a value of the named kind. `hash` picks MD5, SHA-1, SHA-256 or
    /// SHA-512 by length; defanged values are accepted.
    pub fn parse(kind: &str, value: &str) -> Result<Self, InvalidObservable> {
        let word = kind.trim().to_ascii_lowercase();
        let kind = match word.as_str() {
            "hash" => None,
            "ip" => None,
            other => Some(
                ObservableKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == other)
                    .ok_or_else(|| InvalidObservable::Kind(kind.to_owned()))?,
            ),
        };
        let refanged = refang(value.trim());
        let found = match (word.as_str(), kind) {
            ("hash", _) => hash(&refanged),
            ("ip", _) => address(&refanged),
            (_, Some(kind)) => Self::of_kind(kind, &refanged),
            _ => None,
        };
        found.ok_or_else(|| InvalidObservable::Value {
            kind: kind.map_or(
                if word == "ip" { "ip" } else { "hash" },
                ObservableKind::as_str,
            ),
            value: value.to_owned(),
        })
    }

    fn of_kind(kind: ObservableKind, text: &str) -> Option<Self> {
        let candidate = match kind {
            ObservableKind::Ipv4 | ObservableKind::Ipv6 => address(text),
            ObservableKind::Domain => domain(text),
            ObservableKind::Url => url(text),
            ObservableKind::Md5
            | ObservableKind::Sha1
            | ObservableKind::Sha256
            | ObservableKind::Sha512 => hash(text),
            ObservableKind::Email => email(text),
            ObservableKind::Cve => cve(text),
            ObservableKind::User => user(text),
        }?;
        (candidate.kind == kind).then_some(candidate)
    }

    /// Its kind.
    pub fn kind(&self) -> ObservableKind {
        self.kind
    }

    /// Its normalised value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for Observable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

impl Serialize for Observable {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut state = serializer.serialize_struct("Observable", 2)?;
        state.serialize_field("kind", &self.kind)?;
        state.serialize_field("value", &self.value)?;
        state.end()
    }
}

/// Replaces every occurrence of the ASCII `from` (compared without case) by `to`.
fn replace_ignoring_case(text: &str, from: &str, to: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if !lower.contains(from) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    // `to_ascii_lowercase` keeps every byte offset, so offsets in `lower` are offsets in `text`.
    for (at, _) in lower.match_indices(from) {
        out.push_str(&text[last..at]);
        out.push_str(to);
        last = at + from.len();
    }
    out.push_str(&text[last..]);
    out
}

/// Undoes the usual defanging: `hxxp` → `http`, `[.]` → `.`, `[@]` → `@`, `[:]` → `:`.
fn refang(text: &str) -> String {
    // Most values are not defanged: skip the replacements (imports of millions of indicators).
    let lower_start = text.get(..4).map(str::to_ascii_lowercase);
    if !text.contains(['[', '(', '{']) && !matches!(lower_start.as_deref(), Some("hxxp" | "fxp:")) {
        return text.to_owned();
    }
    let mut out = text.to_owned();
    for (from, to) in [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("[@]", "@"),
        ("[at]", "@"),
        ("[://]", "://"),
        ("[:]", ":"),
        ("hxxps://", "https://"),
        ("hxxp://", "http://"),
        ("fxp://", "ftp://"),
    ] {
        out = replace_ignoring_case(&out, from, to);
    }
    out
}

/// An address, possibly in brackets or with a port.
fn address(text: &str) -> Option<Observable> {
    if let Ok(v4) = Ipv4Addr::from_str(text) {
        return Some(Observable {
            kind: ObservableKind::Ipv4,
            value: v4.to_string(),
        });
    }
    if text.contains(':')
        && let Ok(v6) = Ipv6Addr::from_str(text)
        && !v6.is_unspecified()
    {
        return Some(match v6.to_ipv4_mapped() {
            Some(v4) => Observable {
                kind: ObservableKind::Ipv4,
                value: v4.to_string(),
            },
            None => Observable {
                kind: ObservableKind::Ipv6,
                value: v6.to_string(),
            },
        });
    }
    // `[2001:db8::1]:443` and `192.0.2.1:443`.
    if let Some(rest) = text.strip_prefix('[')
        && let Some((inside, _)) = rest.split_once(']')
    {
        return address(inside);
    }
    if let Some((host, port)) = text.rsplit_once(':')
        && !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v4) = Ipv4Addr::from_str(host)
    {
        return Some(Observable {
            kind: ObservableKind::Ipv4,
            value: v4.to_string(),
        });
    }
    None
}

/// File extensions that look like top-level domains in text (`invoice.pdf`).
const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "bat", "cmd", "ps1", "psm1", "vbs", "js", "jse", "hta", "lnk", "scr",
    "msi", "jar", "py", "sh", "pl", "rb", "php", "asp", "aspx", "jsp", "pdf", "doc", "docx",
    "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "rtf", "txt", "log", "csv", "json", "xml", "yml",
    "yaml", "ini", "cfg", "conf", "zip", "rar", "gz", "tgz", "tar", "7z", "iso", "img", "png",
    "jpg", "jpeg", "gif", "bmp", "svg", "htm", "html", "eml", "msg", "evtx", "pcap", "pcapng",
    "bin", "dat", "tmp", "bak", "old", "db", "sqlite",
];

/// A domain name: at least two labels of letters, digits and hyphens, a
/// top-level label of letters (or an IDNA `xn--` label), 253 bytes at most.
fn domain(text: &str) -> Option<Observable> {
    let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    if name.len() > 253 || !name.contains('.') {
        return None;
    }
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !labels.iter().all(label_ok) {
        return None;
    }
    let top = labels.last()?;
    let top_ok = (top.len() >= 2 && top.len() <= 24 && top.bytes().all(|b| b.is_ascii_lowercase()))
        || (top.starts_with("xn--") && top.len() > 4);
    if !top_ok || FILE_EXTENSIONS.contains(top) {
        return None;
    }
    Some(Observable {
        kind: ObservableKind::Domain,
        value: name,
    })
}

/// The host of a URL (`scheme://[user@]host[:port]/...`), if it is a domain or an address.
fn url_host(rest: &str) -> Option<Observable> {
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    address(host_port).or_else(|| {
        let host = host_port.split(':').next()?;
        domain(host)
    })
}

/// A URL with scheme http, https or ftp and a host that is a domain or an address.
fn url(text: &str) -> Option<Observable> {
    if text.len() > VALUE_MAX_BYTES || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (scheme, rest) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "ftp") {
        return None;
    }
    url_host(rest)?;
    Some(Observable {
        kind: ObservableKind::Url,
        value: format!("{scheme}://{rest}"),
    })
}

/// A file hash, by the number of hex digits.
fn hash(text: &str) -> Option<Observable> {
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let kind = match text.len() {
        32 => ObservableKind::Md5,
        40 => ObservableKind::Sha1,
        64 => ObservableKind::Sha256,
        128 => ObservableKind::Sha512,
        _ => return None,
    };
    Some(Observable {
        kind,
        value: text.to_ascii_lowercase(),
    })
}

/// An e-mail address: a local part of printable characters and a domain.
fn email(text: &str) -> Option<Observable> {
    if text.len() > 254 {
        return None;
    }
    let (local, host) = text.rsplit_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
    if !local_ok {
        return None;
    }
    let host = domain(host)?;
    Some(Observable {
        kind: ObservableKind::Email,
        value: format!("{}@{}", local.to_ascii_lowercase(), host.value),
    })
}

/// A CVE id: `CVE-YYYY-NNNN` with four or more digits in the last part.
fn cve(text: &str) -> Option<Observable> {
    let upper = text.to_ascii_uppercase();
    let rest = upper.strip_prefix("CVE-")?;
    let (year, number) = rest.split_once('-')?;
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || !digits(year) || number.len() < 4 || number.len() > 19 || !digits(number)
    {
        return None;
    }
    Some(Observable {
        kind: ObservableKind::Cve,
        value: upper,
    })
}

/// Longest user account name kept, in bytes.
const USER_MAX_BYTES: usize = 256;

/// A user account name: no control characters, at most [`USER_MAX_BYTES`],
/// lower-cased (account names are compared without case on the systems
/// CERTs see most, and one account written two ways is one observable).
fn user(text: &str) -> Option<Observable> {
    let name = text.trim();
    if name.is_empty() || name.len() > USER_MAX_BYTES || name.chars().any(char::is_control) {
        return None;
    }
    // Placeholders events use for "no user" are no observable.
    if matches!(name, "-" | "N/A" | "n/a" | "(null)") {
        return None;
    }
    Some(Observable {
        kind: ObservableKind::User,
        value: name.to_lowercase(),
    })
}

/// What one token of text is, if anything (the most specific reading first).
fn classify(token: &str) -> Option<Observable> {
    if token.contains("://") {
        return url(token);
    }
    cve(token)
        .or_else(|| address(token))
        .or_else(|| hash(token))
        .or_else(|| {
            if token.contains('@') {
                email(token)
            } else {
                None
            }
        })
        .or_else(|| domain(token))
}

/// Characters that end a token.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ',' | ';' | '|' | '\u{0}')
}

/// Punctuation trimmed from the ends of a token.
fn is_wrapping(c: char) -> bool {
    matches!(c, '.' | ':' | '!' | '?' | '(' | ')' | '{' | '}' | '*' | '=')
}

/// Every observable in `text`, each once, in order of first appearance.
///
/// A URL also yields its host (a domain or an address), and an e-mail
/// address does not yield its domain separately.
pub fn extract_observables(text: &str) -> Vec<Observable> {
    let refanged = refang(text);
    let mut found: Vec<Observable> = Vec::new();
    let mut push = |observable: Observable| {
        if !found.contains(&observable) {
            found.push(observable);
        }
    };
    for raw in refanged.split(is_separator) {
        let mut token = raw.trim_matches(is_wrapping);
        // Brackets around a value (`[2001:db8::1]` keeps its own for the port form).
        if token.starts_with('[') && token.ends_with(']') {
            token = &token[1..token.len() - 1];
        }
        let token = token.trim_matches(is_wrapping);
        if token.len() < 4 || token.len() > VALUE_MAX_BYTES {
            continue;
        }
        let Some(observable) = classify(token) else {
            continue;
        };
        // Only values that read back as themselves (a value is one observable however it is given).
        if Observable::parse(observable.kind.as_str(), &observable.value).as_ref()
            != Ok(&observable)
        {
            continue;
        }
        if observable.kind == ObservableKind::Url
            && let Some((_, rest)) = observable.value.split_once("://")
            && let Some(host) = url_host(rest)
        {
            push(observable);
            push(host);
            continue;
        }
        push(observable);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(&'static str, String)> {
        extract_observables(text)
            .into_iter()
            .map(|o| (o.kind().as_str(), o.value().to_owned()))
            .collect()
    }

    #[test]
    fn a_report_yields_its_observables_once_each() {
        let text = "Phishing from billing@Evil-Bank.example (see hxxps://evil-bank[.]example/login?id=7). \
                    C2 at 203.0.113.7:8443 and [2001:db8::10], payload invoice.pdf with SHA-256 \
                    E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855, exploiting cve-2024-3094; \
                    again 203.0.113.7.";
        assert_eq!(
            pairs(text),
            vec![
                ("email", "billing@evil-bank.example".to_owned()),
                ("url", "https://evil-bank.example/login?id=7".to_owned()),
                ("domain", "evil-bank.example".to_owned()),
                ("ipv4", "203.0.113.7".to_owned()),
                ("ipv6", "2001:db8::10".to_owned()),
                (
                    "sha256",
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned()
                ),
                ("cve", "CVE-2024-3094".to_owned()),
            ]
        );
    }

    #[test]
    fn ordinary_words_are_not_observables() {
        assert!(pairs("At 10:30 the server rebooted; see report.docx and v1.2.3 of the agent, e.g. 1.2 GB.").is_empty());
    }

    #[test]
    fn values_parse_by_kind_and_are_normalised() {
        let parsed = Observable::parse("hash", "D41D8CD98F00B204E9800998ECF8427E").unwrap();
        assert_eq!(
            (parsed.kind(), parsed.value()),
            (ObservableKind::Md5, "d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(
            Observable::parse("domain", "Example.ORG.").unwrap().value(),
            "example.org"
        );
        assert_eq!(
            Observable::parse("ipv6", "2001:DB8:0::1").unwrap().value(),
            "2001:db8::1"
        );
        assert_eq!(
            Observable::parse("ipv4", "192.0.2[.]1").unwrap().value(),
            "192.0.2.1"
        );
        assert_eq!(
            Observable::parse("ip", "::ffff:192.0.2.1").unwrap().kind(),
            ObservableKind::Ipv4
        );
        assert_eq!(
            Observable::parse("cve", "cve-2021-44228").unwrap().value(),
            "CVE-2021-44228"
        );
        assert!(Observable::parse("ipv4", "2001:db8::1").is_err());
        assert!(Observable::parse("sha1", "d41d8cd98f00b204e9800998ecf8427e").is_err());
        assert!(Observable::parse("domain", "localhost").is_err());
        assert!(Observable::parse("url", "javascript://alert(1)").is_err());
        let error = Observable::parse("asn", "AS64500").unwrap_err();
        assert!(error.to_string().contains("ipv4, ipv6, domain"), "{error}");
        let json: Observable =
            serde_json::from_str(r#"{"kind":"email","value":"A@B.example"}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&json).unwrap(),
            serde_json::json!({"kind": "email", "value": "a@b.example"})
        );
    }

    proptest::proptest! {
        #[test]
        fn extraction_never_panics_and_its_values_parse_back(text in "\\PC{0,300}") {
            for observable in extract_observables(&text) {
                let again = Observable::parse(observable.kind().as_str(), observable.value()).unwrap();
                proptest::prop_assert_eq!(again, observable);
            }
        }

        #[test]
        fn addresses_and_hashes_in_prose_are_found(
            a in 1u8..=223, b: u8, c: u8, d in 1u8..=254,
            digest in "[0-9a-f]{64}",
            before in "[a-z ]{0,20}", after in "[a-z ]{0,20}",
        ) {
            let address = format!("{a}.{b}.{c}.{d}");
            let text = format!("{before} ({address}), {digest}. {after}");
            let found = extract_observables(&text);
            proptest::prop_assert!(found.iter().any(|o| o.kind() == ObservableKind::Ipv4 && o.value() == address), "{:?}", found);
            proptest::prop_assert!(found.iter().any(|o| o.kind() == ObservableKind::Sha256 && o.value() == digest), "{:?}", found);
        }
    }
}
