//! Schema migrations: numbered `.sql` files per backend, compiled in.

use crate::{StoreError, StoreResult};

/// One migration.
pub(crate) struct Migration {
    /// Its number; applied in ascending order. Every migration not yet
    /// recorded in the database is applied, so numbers may have gaps
    /// (numbers reserved for work merged later).
    pub(crate) version: i64,
    /// A short name.
    pub(crate) name: &'static str,
    /// The SQL, run in one transaction.
    pub(crate) sql: &'static str,
}

/// SQLite migrations, in order.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "sensors",
        sql: include_str!("../migrations/sqlite/0002_sensors.sql"),
    },
    Migration {
        version: 3,
        name: "audit_key",
        sql: include_str!("../migrations/sqlite/0003_audit_key.sql"),
    },
    Migration {
        version: 5,
        name: "alerts",
        sql: include_str!("../migrations/sqlite/0005_alerts.sql"),
    },
    Migration {
        version: 6,
        name: "incidents",
        sql: include_str!("../migrations/sqlite/0006_incidents.sql"),
    },
    Migration {
        version: 9,
        name: "rules",
        sql: include_str!("../migrations/sqlite/0009_rules.sql"),
    },
    Migration {
        version: 10,
        name: "incident_alerts",
        sql: include_str!("../migrations/sqlite/0010_incident_alerts.sql"),
    },
    Migration {
        version: 11,
        name: "duty",
        sql: include_str!("../migrations/sqlite/0011_duty.sql"),
    },
    Migration {
        version: 12,
        name: "intel",
        sql: include_str!("../migrations/sqlite/0012_intel.sql"),
    },
    Migration {
        version: 13,
        name: "stix",
        sql: include_str!("../migrations/sqlite/0013_stix.sql"),
    },
    Migration {
        version: 14,
        name: "taxii",
        sql: include_str!("../migrations/sqlite/0014_taxii.sql"),
    },
    Migration {
        version: 15,
        name: "alert_hours",
        sql: include_str!("../migrations/sqlite/0015_alert_hours.sql"),
    },
];

/// PostgreSQL migrations, in order.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "sensors",
        sql: include_str!("../migrations/postgres/0002_sensors.sql"),
    },
    Migration {
        version: 3,
        name: "audit_key",
        sql: include_str!("../migrations/postgres/0003_audit_key.sql"),
    },
    Migration {
        version: 5,
        name: "alerts",
        sql: include_str!("../migrations/postgres/0005_alerts.sql"),
    },
    Migration {
        version: 6,
        name: "incidents",
        sql: include_str!("../migrations/postgres/0006_incidents.sql"),
    },
    Migration {
        version: 9,
        name: "rules",
        sql: include_str!("../migrations/postgres/0009_rules.sql"),
    },
    Migration {
        version: 10,
        name: "incident_alerts",
        sql: include_str!("../migrations/postgres/0010_incident_alerts.sql"),
    },
    Migration {
        version: 11,
        name: "duty",
        sql: include_str!("../migrations/postgres/0011_duty.sql"),
    },
    Migration {
        version: 12,
        name: "intel",
        sql: include_str!("../migrations/postgres/0012_intel.sql"),
    },
    Migration {
        version: 13,
        name: "stix",
        sql: include_str!("../migrations/postgres/0013_stix.sql"),
    },
    Migration {
        version: 14,
        name: "taxii",
        sql: include_str!("../migrations/postgres/0014_taxii.sql"),
    },
    Migration {
        version: 15,
        name: "alert_hours",
        sql: include_str!("../migrations/postgres/0015_alert_hours.sql"),
    },
];

/// The migrations of `list` not yet `applied`, in order; a database that
/// recorded a migration this program does not know is newer than it.
///
/// Every missing migration is applied, not only those numbered above the
/// highest applied: migrations of features developed side by side may be
/// numbered out of the order they reach a database in.
pub(crate) fn pending<'a>(
    list: &'a [Migration],
    applied: &[i64],
) -> StoreResult<Vec<&'a Migration>> {
    let known = list.last().map_or(0, |m| m.version);
    if let Some(unknown) = applied
        .iter()
        .copied()
        .filter(|version| !list.iter().any(|m| m.version == *version))
        .max()
    {
        return Err(StoreError::SchemaTooNew {
            found: unknown.max(known + 1),
            known,
        });
    }
    Ok(list
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect())
}

/// The table recording applied migrations (same on both backends).
pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_micros BIGINT NOT NULL)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_on_both_backends() {
        for list in [SQLITE, POSTGRES] {
            assert_eq!(list.first().map(|m| m.version), Some(1));
            for pair in list.windows(2) {
                assert!(
                    pair[0].version < pair[1].version,
                    "{} must come before {}",
                    pair[0].name,
                    pair[1].name
                );
            }
        }
        let versions =
            |list: &[Migration]| list.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }

    #[test]
    fn every_missing_migration_is_pending_and_unknown_ones_are_too_new() {
        let all: Vec<i64> = SQLITE.iter().map(|m| m.version).collect();
        assert!(pending(SQLITE, &all).unwrap().is_empty());
        let without_first: Vec<i64> = all[1..].to_vec();
        let missing = pending(SQLITE, &without_first).unwrap();
        assert_eq!(
            missing.iter().map(|m| m.version).collect::<Vec<_>>(),
            vec![1]
        );
        let mut newer = all.clone();
        newer.push(999);
        assert!(matches!(
            pending(SQLITE, &newer),
            Err(StoreError::SchemaTooNew { found: 999, .. })
        ));
    }
}
