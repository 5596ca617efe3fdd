//! Which MISP attribute types are which of our indicator kinds.

use nigehban_model::indicator::IndicatorKind;

/// For a MISP attribute type: each part of its value (MISP composite types
/// join parts with `|`) that is an indicator, with the kind word to read it
/// as (`ip` and `hash` as [`nigehban_model::indicator::IndicatorValue::parse`]
/// takes them). `None` when no part of the type is one of our kinds (e.g.
/// `link`, `filename`, `regkey`, `ssdeep`, `sha512`). Types are MISP's
/// `describeTypes.json` names.
pub fn kinds_of_attribute_type(attribute_type: &str) -> Option<&'static [(usize, &'static str)]> {
    Some(match attribute_type {
        "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => &[(0, "ip")],
        "domain" | "hostname" | "hostname|port" => &[(0, "domain")],
        "domain|ip" => &[(0, "domain"), (1, "ip")],
        "url" => &[(0, "url")],
        "md5" => &[(0, "md5")],
        "sha1" => &[(0, "sha1")],
        "sha256" => &[(0, "sha256")],
        "filename|md5" | "malware-sample" => &[(1, "md5")],
        "filename|sha1" => &[(1, "sha1")],
        "filename|sha256" => &[(1, "sha256")],
        "email" | "email-src" | "email-dst" | "email-reply-to" => &[(0, "email")],
        "ja3-fingerprint-md5" => &[(0, "ja3")],
        _ => return None,
    })
}

/// The MISP attribute type an indicator of `kind` is written as, and
/// whether MISP knows it as an indicator (`to_ids`). MISP has no type for
/// JA4 fingerprints: they are written as `text` with the tag
/// [`JA4_TAG`], which [`crate::read_events`] reads back as JA4.
pub fn attribute_type_of(kind: IndicatorKind) -> (&'static str, bool) {
    match kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr => ("ip-dst", true),
        IndicatorKind::Domain => ("domain", true),
        IndicatorKind::Url => ("url", true),
        IndicatorKind::Md5 => ("md5", true),
        IndicatorKind::Sha1 => ("sha1", true),
        IndicatorKind::Sha256 => ("sha256", true),
        IndicatorKind::Email => ("email", true),
        IndicatorKind::Ja3 => ("ja3-fingerprint-md5", true),
        IndicatorKind::Ja4 => ("text", false),
    }
}

/// The tag that marks a `text` attribute as a JA4 fingerprint (MISP has no JA4 type).
pub(crate) const JA4_TAG: &str = "nigehban:indicator-kind=\"ja4\"";

/// The MISP category an attribute of `attribute_type` is filed under (MISP's default).
pub(crate) fn category_of(attribute_type: &str) -> &'static str {
    match attribute_type {
        "md5" | "sha1" | "sha256" => "Payload delivery",
        "email" => "Social network",
        "text" => "Other",
        _ => "Network activity",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_written_as_a_type_read_back_as_that_kind() {
        for kind in IndicatorKind::ALL {
            let (written, to_ids) = attribute_type_of(kind);
            if kind == IndicatorKind::Ja4 {
                assert!(!to_ids);
                assert_eq!(kinds_of_attribute_type(written), None);
                continue;
            }
            let parts = kinds_of_attribute_type(written).unwrap();
            assert_eq!(parts.len(), 1);
            let word = parts[0].1;
            let matches = match kind {
                IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr => word == "ip",
                other => word == other.as_str(),
            };
            assert!(matches, "{kind} written as {written} reads as {word}");
        }
    }

    #[test]
    fn context_types_are_not_indicators() {
        for t in [
            "link",
            "filename",
            "regkey|value",
            "sha512",
            "ssdeep",
            "text",
            "port",
        ] {
            assert_eq!(kinds_of_attribute_type(t), None, "{t}");
        }
        assert_eq!(
            kinds_of_attribute_type("domain|ip"),
            Some(&[(0, "domain"), (1, "ip")][..])
        );
    }
}
