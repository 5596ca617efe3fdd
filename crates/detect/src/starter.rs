//! The built-in starter pack: rules written for what a national SOC sees
//! from day one. The platform stores them as rules of origin `built-in`
//! (seeded at every start of a detecting node), so tenants enable, disable
//! and filter them like imported rules.

use crate::rules::RuleSource;

/// The starter pack's rule files (none yet: the pack itself is written separately).
pub fn starter_pack() -> Vec<RuleSource> {
    Vec::new()
}
