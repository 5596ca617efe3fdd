//! Storage for Nigehban's records behind traits, with SQLite (embedded) and PostgreSQL backends.
