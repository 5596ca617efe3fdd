//! The CERT's services over the store: the authorisation policy, tenants, users, sessions, audit.
