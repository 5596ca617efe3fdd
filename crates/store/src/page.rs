//! Cursor pagination for list calls.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::StoreError;

/// Default number of items per page.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;
/// Largest number of items per page.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// An opaque position in a list: pass it back to get the next page.
///
/// Lists are ordered by a stable key (record ids are time-ordered UUIDv7,
/// audit entries by sequence number), so a cursor stays valid while records
/// are added.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps cursor text given by a client (checked when used).
    pub fn from_client(text: &str) -> Self {
        Self(text.trim().to_owned())
    }

    /// The cursor text to give to a client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A cursor for `list` positioned after `key`.
    pub fn encode(list: &str, key: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(format!("{list}:{key}")))
    }

    /// The key this cursor holds for `list`, or an error if another list issued it.
    pub fn decode(&self, list: &str) -> Result<String, StoreError> {
        let bad = || {
            StoreError::BadCursor(format!(
                "{:?} is not a cursor from this {list} list",
                self.0
            ))
        };
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (prefix, key) = text.split_once(':').ok_or_else(bad)?;
        if prefix != list {
            return Err(bad());
        }
        Ok(key.to_owned())
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which page of a list to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this position; `None` for the first page.
    pub after: Option<Cursor>,
    /// At most this many items (clamped to 1..=[`MAX_PAGE_LIMIT`]).
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            after: None,
            limit: DEFAULT_PAGE_LIMIT,
        }
    }
}

impl PageRequest {
    /// The first page with `limit` items.
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }

    /// The page after `cursor` with `limit` items.
    pub fn after(cursor: Cursor, limit: u32) -> Self {
        Self {
            after: Some(cursor),
            limit,
        }
    }

    /// The limit clamped to 1..=[`MAX_PAGE_LIMIT`].
    pub fn effective_limit(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE_LIMIT)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the list's stable order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only
    /// tells whether there is a next page.
    pub fn from_rows(
        mut rows: Vec<T>,
        limit: u32,
        key_of: impl Fn(&T) -> String,
        list: &str,
    ) -> Self {
        let limit = limit as usize;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| Cursor::encode(list, &key_of(last)))
        } else {
            None
        };
        Self { items: rows, next }
    }

    /// Maps the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_belong_to_their_list() {
        let cursor = Cursor::encode("tenants", "abc");
        assert_eq!(cursor.decode("tenants").unwrap(), "abc");
        assert!(cursor.decode("users").is_err());
        assert!(Cursor::from_client("%%%").decode("users").is_err());
    }

    proptest::proptest! {
        #[test]
        fn client_cursors_never_panic(text in proptest::prelude::any::<String>()) {
            let _ = Cursor::from_client(&text).decode("tenants");
        }

        #[test]
        fn cursors_round_trip(list in "[a-z]{1,10}", key in proptest::prelude::any::<String>()) {
            let cursor = Cursor::encode(&list, &key);
            proptest::prop_assert_eq!(Cursor::from_client(cursor.as_str()).decode(&list).unwrap(), key);
        }
    }

    #[test]
    fn pages_know_whether_more_follow() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string(), "n");
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next.unwrap().decode("n").unwrap(), "2");
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string(), "n");
        assert!(last.next.is_none());
    }
}
