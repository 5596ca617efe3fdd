//! What asks the duty roster to wake someone, and how it escalates.

use serde::{Deserialize, Serialize};

use crate::{TenantId, Tlp};

/// A request to page the on-call people of a tenant: the seam alerts,
/// incident deadlines and the test trigger all go through. Data flows one
/// way: the duty loop reads alerts and incidents and makes pages; they never
/// call duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The tenant whose roster answers (or its nearest ancestor with one).
    pub tenant: TenantId,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The RSIT class, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsit_class: Option<String>,
    /// What happened, in one line.
    pub title: String,
    /// The TLP of what the page carries (shown in the subject).
    pub tlp: Tlp,
    /// Where to look (a console or API path).
    pub link: String,
    /// What raised it (`alert:<id>`, `deadline:<id>`, `test`), so one source pages once.
    pub source: String,
}

/// Whom a step notifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EscalationTarget {
    /// Whoever a schedule has on call.
    Schedule {
        /// The schedule's id.
        schedule: String,
    },
    /// A named person.
    User {
        /// The user name.
        user: String,
    },
    /// Whoever is on call on every schedule of a team (of the page's
    /// tenant, or of its nearest ancestor with that team).
    Team {
        /// The team's name.
        team: String,
    },
}

/// One step: notify, then wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    /// Whom.
    pub notify: Vec<EscalationTarget>,
    /// Minutes to wait for an acknowledgement before the next step.
    #[serde(default)]
    pub wait_minutes: u32,
    /// Seconds to wait instead, when given (drills and tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u32>,
}

impl EscalationStep {
    /// How long to wait for an acknowledgement after this step.
    pub fn wait(&self) -> std::time::Duration {
        match self.wait_seconds {
            Some(seconds) => std::time::Duration::from_secs(u64::from(seconds)),
            None => std::time::Duration::from_secs(u64::from(self.wait_minutes) * 60),
        }
    }
}

/// Ordered steps, repeated, chosen by severity, tenant and RSIT class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationPolicy {
    /// The steps.
    pub steps: Vec<EscalationStep>,
    /// How many more times the steps run after the first pass.
    #[serde(default)]
    pub repeat: u32,
    /// The severities it applies to (empty: all).
    #[serde(default)]
    pub severities: Vec<String>,
    /// The RSIT classes it applies to (empty: all).
    #[serde(default)]
    pub rsit_classes: Vec<String>,
}

impl EscalationPolicy {
    /// Whether this policy applies to a page.
    pub fn applies_to(&self, page: &Page) -> bool {
        let severity = self.severities.is_empty()
            || self
                .severities
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&page.severity));
        let class = self.rsit_classes.is_empty()
            || page
                .rsit_class
                .as_ref()
                .is_some_and(|c| self.rsit_classes.iter().any(|r| r.eq_ignore_ascii_case(c)));
        severity && class
    }

    /// The number of steps a whole run takes (steps × (repeat + 1)).
    pub fn run_length(&self) -> usize {
        self.steps.len() * (self.repeat as usize + 1)
    }

    /// The step at position `index` of the whole run (steps × (repeat + 1)), if any.
    pub fn step(&self, index: usize) -> Option<&EscalationStep> {
        let len = self.steps.len();
        if len == 0 || index >= len * (self.repeat as usize + 1) {
            return None;
        }
        self.steps.get(index % len)
    }
}
