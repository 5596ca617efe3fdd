//! Property tests for the parsers of outside input: they never panic, and
//! what they accept round-trips unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nigehban_model::{
    AuditVerification, DisplayName, Password, Role, Sector, TenantId, TenantName, Timestamp, Tlp,
    TokenName, Username,
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
}
