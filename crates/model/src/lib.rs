//! Nigehban's domain nouns: tenants, users, roles, TLP, record ids, audit entries.
