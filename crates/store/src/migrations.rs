//! Schema migrations: numbered `.sql` files per backend, compiled in.

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
];

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
}
