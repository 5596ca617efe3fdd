//! Cursor pagination: `?cursor=...&limit=N` in, `{"items": [...], "next_cursor": ...}` out.

use nigehban_app::model::TenantId;
use nigehban_app::{Cursor, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// Query of a list endpoint: which subtree, and which page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// List the records of this tenant and the tenants below it (default: the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// Where to continue: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many items at most (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

impl ListQuery {
    /// The tenant whose subtree to list, if given.
    pub fn under(&self) -> Result<Option<TenantId>, ApiError> {
        parse_tenant_param(self.under.as_deref(), "under")
    }

    /// The page asked for.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        page_request(self.cursor.as_deref(), self.limit.as_deref())
    }
}

/// Parses an optional tenant id given in the query string.
pub fn parse_tenant_param(text: Option<&str>, field: &str) -> Result<Option<TenantId>, ApiError> {
    text.map(|text| {
        text.parse::<TenantId>()
            .map_err(|error| ApiError::invalid_value(error.to_string()).with_field(field))
    })
    .transpose()
}

/// A page request from the `cursor` and `limit` parameters; a limit outside 1..=1000 is refused.
pub fn page_request(cursor: Option<&str>, limit: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => DEFAULT_PAGE_LIMIT,
        Some(text) => {
            let out_of_range = || {
                ApiError::invalid_value(format!(
                    "limit must be a whole number from 1 to {MAX_PAGE_LIMIT}; got {text:?}"
                ))
                .with_field("limit")
            };
            let value: i128 = text.trim().parse().map_err(|_| out_of_range())?;
            if !(1..=i128::from(MAX_PAGE_LIMIT)).contains(&value) {
                return Err(out_of_range());
            }
            u32::try_from(value).map_err(|_| out_of_range())?
        }
    };
    let after = match cursor {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(Cursor::from_client(text)),
    };
    Ok(PageRequest { after, limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_the_range_are_refused() {
        for bad in ["0", "-1", "1001", "99999999999999999999999", "ten", ""] {
            let error = page_request(None, Some(bad)).unwrap_err();
            assert_eq!(
                error.status(),
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "{bad}"
            );
            assert_eq!(error.code(), "invalid_value");
        }
        assert_eq!(page_request(None, Some("1000")).unwrap().limit, 1000);
        assert_eq!(page_request(None, None).unwrap().limit, DEFAULT_PAGE_LIMIT);
    }
}
