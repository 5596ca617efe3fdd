//! Property tests for the parsers of outside input: they never panic, and
//! what they accept round-trips unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nigehban_model::{
    AuditVerification, CertificateFingerprint, DisplayName, ExpectedInterval, HostOsType, Password,
    Role, Sector, SensorFormat, SensorKind, SensorName, SensorUpdate, SensorUtcOffset,
    SourceNetwork, SubjectCommonName, TenantId, TenantName, Timestamp, Tlp, TokenName, Username,
};
use proptest::prelude::*;

proptest! {
    #[test]
    fn tenant_names_round_trip(text in any::<String>()) {
        if let Ok(name) = TenantName::parse(&text) {
            prop_assert_eq!(name.as_str(), text.trim());
            prop_assert!(!name.as_str().is_empty());
            prop_assert!(name.as_str().chars().count() <= 200);
            let json = serde_json::to_string(&name).unwrap();
            prop_assert_eq!(serde_json::from_str::<TenantName>(&json).unwrap(), name);
        }
    }

    #[test]
    fn usernames_are_lower_case_and_stable(text in any::<String>()) {
        if let Ok(name) = Username::parse(&text) {
            prop_assert_eq!(Username::parse(name.as_str()).unwrap(), name.clone());
            prop_assert!(name.as_str().chars().all(|c| !c.is_uppercase()));
        }
    }

    #[test]
    fn other_texts_never_panic(text in any::<String>()) {
        let _ = DisplayName::parse(&text);
        let _ = TokenName::parse(&text);
        let _ = Password::parse(&text);
        let _ = text.parse::<Role>();
        let _ = text.parse::<Sector>();
        let _ = text.parse::<Tlp>();
        let _ = text.parse::<TenantId>();
        let _ = Timestamp::parse_rfc3339(&text);
        let _ = serde_json::from_str::<AuditVerification>(&text);
    }

    #[test]
    fn timestamps_round_trip(micros in -62_135_596_800_000_000i64..253_402_300_799_000_000i64) {
        let at = Timestamp::from_unix_micros(micros);
        prop_assert_eq!(Timestamp::parse_rfc3339(&at.to_rfc3339()).unwrap(), at);
    }

    #[test]
    fn sensor_texts_never_panic_and_round_trip(text in any::<String>()) {
        if let Ok(name) = SensorName::parse(&text) {
            prop_assert_eq!(SensorName::parse(name.as_str()).unwrap(), name);
        }
        if let Ok(network) = SourceNetwork::parse(&text) {
            prop_assert_eq!(SourceNetwork::parse(&network.to_string()).unwrap(), network);
            prop_assert!(network.contains(network.address()));
        }
        if let Ok(fingerprint) = CertificateFingerprint::parse(&text) {
            prop_assert_eq!(CertificateFingerprint::parse(&fingerprint.to_hex()).unwrap(), fingerprint);
        }
        if let Ok(offset) = SensorUtcOffset::parse(&text) {
            prop_assert_eq!(SensorUtcOffset::parse(&offset.to_string()).unwrap(), offset);
        }
        if let Ok(cn) = SubjectCommonName::parse(&text) {
            prop_assert_eq!(SubjectCommonName::parse(cn.as_str()).unwrap(), cn);
        }
        let _ = text.parse::<SensorKind>();
        let _ = text.parse::<SensorFormat>();
        let _ = text.parse::<HostOsType>();
        let _ = serde_json::from_str::<SensorUpdate>(&text);
    }

    #[test]
    fn networks_contain_exactly_their_range(
        base in any::<u32>(),
        prefix in 8u8..=32,
        probe in any::<u32>(),
    ) {
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
        let network = SourceNetwork::parse(&format!("{}/{prefix}", Ipv4Addr::from(base & mask))).unwrap();
        let inside = probe & mask == base & mask;
        prop_assert_eq!(network.contains(IpAddr::V4(Ipv4Addr::from(probe))), inside);
        let mapped = IpAddr::V6(Ipv4Addr::from(probe).to_ipv6_mapped());
        prop_assert_eq!(network.contains(mapped), inside);
        prop_assert!(network.first_octets() <= Ipv4Addr::from(probe).octets().to_vec() || !inside);
        prop_assert!(network.last_octets() >= Ipv4Addr::from(probe).octets().to_vec() || !inside);
    }

    #[test]
    fn ipv6_networks_contain_exactly_their_range(
        base in any::<u128>(),
        prefix in 32u8..=128,
        probe in any::<u128>(),
    ) {
        let mask = u128::MAX << (128 - u32::from(prefix));
        let start = Ipv6Addr::from(base & mask);
        prop_assume!(start.to_ipv4_mapped().is_none());
        let network = SourceNetwork::parse(&format!("{start}/{prefix}")).unwrap();
        let probe_address = Ipv6Addr::from(probe);
        prop_assume!(probe_address.to_ipv4_mapped().is_none());
        prop_assert_eq!(network.contains(IpAddr::V6(probe_address)), probe & mask == base & mask);
    }

    #[test]
    fn intervals_accept_exactly_their_range(seconds in any::<u64>()) {
        prop_assert_eq!(
            ExpectedInterval::from_secs(seconds).is_ok(),
            (10..=604_800).contains(&seconds)
        );
    }
}
