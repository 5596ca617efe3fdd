//! TLP and PAP as MISP writes them: `tlp:` and `PAP:` tags (the MISP
//! taxonomies), and the distribution levels of events and attributes.

use nigehban_model::{Pap, Tlp};

/// A MISP distribution level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Distribution {
    /// 0: your organisation only.
    YourOrganisation,
    /// 1: this community only (the MISP instance's organisations).
    ThisCommunity,
    /// 2: connected communities.
    ConnectedCommunities,
    /// 3: all communities.
    AllCommunities,
    /// 4: a sharing group.
    SharingGroup,
    /// 5 (attributes only): the event's distribution.
    InheritEvent,
}

impl Distribution {
    /// The level with MISP's number `n`.
    pub fn from_number(n: u64) -> Option<Self> {
        Some(match n {
            0 => Distribution::YourOrganisation,
            1 => Distribution::ThisCommunity,
            2 => Distribution::ConnectedCommunities,
            3 => Distribution::AllCommunities,
            4 => Distribution::SharingGroup,
            5 => Distribution::InheritEvent,
            _ => return None,
        })
    }

    /// MISP's number for the level.
    pub const fn number(self) -> u8 {
        match self {
            Distribution::YourOrganisation => 0,
            Distribution::ThisCommunity => 1,
            Distribution::ConnectedCommunities => 2,
            Distribution::AllCommunities => 3,
            Distribution::SharingGroup => 4,
            Distribution::InheritEvent => 5,
        }
    }
}

/// The TLP label an imported value gets from its distribution level when
/// no `tlp:` tag says it: all communities is TLP:CLEAR; connected
/// communities TLP:GREEN (the sender let it travel between communities);
/// this community TLP:AMBER (the sender's community is not our platform, so
/// it stays with the importing tenant and those below it); the
/// organisation only and sharing groups (whose members we cannot name)
/// TLP:AMBER+STRICT. `None` for "inherit", which the caller resolves.
pub fn tlp_of_distribution(distribution: Distribution) -> Option<Tlp> {
    Some(match distribution {
        Distribution::AllCommunities => Tlp::Clear,
        Distribution::ConnectedCommunities => Tlp::Green,
        Distribution::ThisCommunity => Tlp::Amber,
        Distribution::YourOrganisation | Distribution::SharingGroup => Tlp::AmberStrict,
        Distribution::InheritEvent => return None,
    })
}

/// The distribution level an exported value gets from its TLP label:
/// TLP:CLEAR may go anywhere (all communities); TLP:GREEN stays in the
/// pulling instance's community (this community only: a MISP instance must
/// not pass it to connected communities on its own); AMBER, AMBER+STRICT
/// and RED stay in the pulling organisation (your organisation only) —
/// they are in the feed at all only when the pulling tenant may read them.
pub fn distribution_of_tlp(tlp: Tlp) -> Distribution {
    match tlp {
        Tlp::Clear => Distribution::AllCommunities,
        Tlp::Green => Distribution::ThisCommunity,
        Tlp::Amber | Tlp::AmberStrict | Tlp::Red => Distribution::YourOrganisation,
    }
}

/// The TLP label of a MISP tag (`tlp:white`, `tlp:clear`, `tlp:green`,
/// `tlp:amber`, `tlp:amber+strict`, `tlp:red`, in any case); `None` for
/// any other tag, including TLP 1.0's `tlp:ex:*` extensions.
pub fn tlp_of_tag(tag: &str) -> Option<Tlp> {
    let lower = tag.trim().to_ascii_lowercase();
    let word = lower.strip_prefix("tlp:")?;
    match word {
        "clear" | "white" => Some(Tlp::Clear),
        "green" => Some(Tlp::Green),
        "amber" => Some(Tlp::Amber),
        "amber+strict" => Some(Tlp::AmberStrict),
        "red" => Some(Tlp::Red),
        _ => None,
    }
}

/// The MISP tag of a TLP label (TLP 2.0 words, as MISP's `tlp` taxonomy writes them).
pub fn tlp_tag(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "tlp:clear",
        Tlp::Green => "tlp:green",
        Tlp::Amber => "tlp:amber",
        Tlp::AmberStrict => "tlp:amber+strict",
        Tlp::Red => "tlp:red",
    }
}

/// The PAP label of a MISP tag (`PAP:WHITE`, `PAP:CLEAR`, `PAP:GREEN`,
/// `PAP:AMBER`, `PAP:RED`, in any case); `None` for any other tag.
pub fn pap_of_tag(tag: &str) -> Option<Pap> {
    let lower = tag.trim().to_ascii_lowercase();
    let word = lower.strip_prefix("pap:")?;
    match word {
        "clear" | "white" => Some(Pap::Clear),
        "green" => Some(Pap::Green),
        "amber" => Some(Pap::Amber),
        "red" => Some(Pap::Red),
        _ => None,
    }
}

/// The MISP tag of a PAP label (as MISP's `PAP` taxonomy writes them).
pub fn pap_tag(pap: Pap) -> &'static str {
    match pap {
        Pap::Clear => "PAP:CLEAR",
        Pap::Green => "PAP:GREEN",
        Pap::Amber => "PAP:AMBER",
        Pap::Red => "PAP:RED",
    }
}

/// The colour MISP's `tlp` taxonomy gives a label (shown in MISP's interface).
pub(crate) fn tlp_colour(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "#ffffff",
        Tlp::Green => "#339900",
        Tlp::Amber | Tlp::AmberStrict => "#ffc000",
        Tlp::Red => "#cc0033",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_tags_read_in_both_versions_and_write_in_2_0() {
        assert_eq!(tlp_of_tag("tlp:white"), Some(Tlp::Clear));
        assert_eq!(tlp_of_tag("TLP:CLEAR"), Some(Tlp::Clear));
        assert_eq!(tlp_of_tag("tlp:amber+strict"), Some(Tlp::AmberStrict));
        assert_eq!(tlp_of_tag("tlp:ex:chr"), None);
        assert_eq!(tlp_of_tag("circl:tlp"), None);
        for tlp in Tlp::ALL {
            assert_eq!(tlp_of_tag(tlp_tag(tlp)), Some(tlp));
        }
        for pap in Pap::ALL {
            assert_eq!(pap_of_tag(pap_tag(pap)), Some(pap));
        }
        assert_eq!(pap_of_tag("PAP:WHITE"), Some(Pap::Clear));
    }

    #[test]
    fn nothing_above_green_leaves_the_pulling_organisation() {
        assert_eq!(
            distribution_of_tlp(Tlp::Clear),
            Distribution::AllCommunities
        );
        assert_eq!(distribution_of_tlp(Tlp::Green), Distribution::ThisCommunity);
        for tlp in [Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
            assert_eq!(distribution_of_tlp(tlp), Distribution::YourOrganisation);
        }
        // Reading back a distribution is never less restrictive than the label written.
        for tlp in Tlp::ALL {
            let back = tlp_of_distribution(distribution_of_tlp(tlp)).unwrap();
            assert!(
                back >= tlp.min(Tlp::AmberStrict),
                "{tlp} came back as {back}"
            );
        }
        assert_eq!(tlp_of_distribution(Distribution::InheritEvent), None);
        assert_eq!(Distribution::from_number(6), None);
    }
}
