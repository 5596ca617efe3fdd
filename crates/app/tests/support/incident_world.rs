//! A platform for incident tests: the small tenant tree of `world.rs` plus a
//! sibling bank, a clock the test moves, and a caller for every party of the
//! national → sectoral → organisation chain. Reusable by other suites (the
//! authorisation matrix, the random-tree property test): every party is a
//! field, every tenant too.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use nigehban_app::incidents::{NewReport, Triage};
use nigehban_app::model::{
    IncidentSeverity, Pap, Role, RsitClass, Tenant, TenantKind, TenantName, Timestamp, Tlp,
};
use nigehban_app::{App, AppSettings, Caller, ManualClock, NewTenant, OpenIncident, StoreConfig};

use super::world::{self, World};

/// 2026-03-15T08:00:00Z: where every test clock starts.
pub const START_MICROS: i64 = 1_773_561_600_000_000;

/// The start time plus `minutes`.
pub fn minutes(minutes: u64) -> Timestamp {
    Timestamp::from_unix_micros(START_MICROS).plus(Duration::from_secs(minutes * 60))
}

/// national ─┬─ telecom ─── operator
///           └─ banking ─┬─ bank
///                       └─ sibling (another bank)
pub struct IncidentWorld {
    pub world: World,
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub sibling: Tenant,
    /// The storage's URL, on PostgreSQL (to play an attacker with database access).
    pub postgres_url: Option<String>,
    pub national_analyst: Caller,
    pub national_council: Caller,
    pub national_admin: Caller,
    pub banking_analyst: Caller,
    pub telecom_analyst: Caller,
    pub bank_reporter: Caller,
    pub bank_analyst: Caller,
    pub sibling_reporter: Caller,
    pub operator_analyst: Caller,
}

/// A world on SQLite.
pub async fn incident_world() -> IncidentWorld {
    incident_world_with(AppSettings::insecure_fast_for_tests()).await
}

/// A world on SQLite with other settings.
pub async fn incident_world_with(settings: AppSettings) -> IncidentWorld {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::Sqlite {
        data_dir: dir.path().to_path_buf(),
    };
    build(config, settings, dir, None).await
}

/// A world on PostgreSQL in a fresh database, or `None` (skipped) without a server.
pub async fn postgres_incident_world() -> Option<IncidentWorld> {
    let url = world::postgres_database().await?;
    let config = StoreConfig::Postgres {
        url: url.clone(),
        pool_size: 4,
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = AppSettings {
        audit_key_file: Some(dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
        ..AppSettings::insecure_fast_for_tests()
    };
    Some(build(config, settings, dir, Some(url)).await)
}

async fn build(
    config: StoreConfig,
    settings: AppSettings,
    dir: tempfile::TempDir,
    postgres_url: Option<String>,
) -> IncidentWorld {
    let clock = Arc::new(ManualClock::new(minutes(0)));
    let app = App::open_with_clock(&config, settings, clock.clone())
        .await
        .unwrap();
    let world = world::world_on(app.clone(), dir).await;
    let sibling = app
        .tenants()
        .create(
            &world.root_admin,
            NewTenant {
                parent: world.banking.id,
                name: TenantName::parse("Second Bank").unwrap(),
                kind: TenantKind::Organisation {
                    critical_infrastructure: false,
                },
            },
        )
        .await
        .unwrap();
    let national = world.national.id;
    IncidentWorld {
        national_analyst: world.caller(national, Role::Analyst).await,
        national_council: world.caller(national, Role::CouncilMember).await,
        national_admin: world.caller(national, Role::Administrator).await,
        banking_analyst: world.caller(world.banking.id, Role::Analyst).await,
        telecom_analyst: world.caller(world.telecom.id, Role::Analyst).await,
        bank_reporter: world.caller(world.bank.id, Role::ConstituentReporter).await,
        bank_analyst: world.caller(world.bank.id, Role::Analyst).await,
        sibling_reporter: world.caller(sibling.id, Role::ConstituentReporter).await,
        operator_analyst: world.caller(world.operator.id, Role::Analyst).await,
        app,
        clock,
        sibling,
        postgres_url,
        world,
    }
}

impl IncidentWorld {
    /// Moves the clock forward.
    pub fn advance(&self, by_minutes: u64) {
        self.clock.advance(Duration::from_secs(by_minutes * 60));
    }

    /// A report the bank files, noticed at the current time.
    pub fn report(&self, title: &str, tlp: Tlp) -> NewReport {
        NewReport {
            tenant: None,
            title: title.to_owned(),
            description: format!(
                "{title}: customers were sent to hxxps://login-firstbank[.]example/verify from 203.0.113.66"
            ),
            noticed_at: self.app.clock().now(),
            occurred_at: None,
            affected_systems: vec!["online banking".into()],
            observables: Vec::new(),
            tlp,
        }
    }

    /// Triage into a new phishing incident.
    pub fn new_phishing(tlp: Option<Tlp>) -> Triage {
        Triage::NewIncident {
            title: None,
            classification: RsitClass::parse("fraud", "phishing").unwrap(),
            severity: IncidentSeverity::High,
            tlp,
            pap: Pap::Amber,
            regulatory_profile: None,
        }
    }

    /// An incident to open directly.
    pub fn open(title: &str, tlp: Tlp) -> OpenIncident {
        OpenIncident {
            owner: None,
            title: title.to_owned(),
            description: format!("{title} seen from 198.51.100.23"),
            classification: RsitClass::parse("intrusions", "system-compromise").unwrap(),
            severity: IncidentSeverity::Medium,
            tlp,
            pap: Pap::Green,
            aware_at: None,
            affected_tenants: Vec::new(),
            observables: Vec::new(),
            regulatory_profile: None,
            alerts: Vec::new(),
        }
    }
}
