//! The HTTP API (REST + OpenAPI) and web console; the only crate that knows HTTP.
