//! What a caller asks for ([`EventQuery`]), how it is checked, and how it becomes a tantivy query.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Term};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use nigehban_app::EventScope;

use crate::document::{parse_ip, to_index_date};
use crate::error::QueryError;
use crate::schema::{DedicatedKind, EventSchema, MAX_EXACT_VALUE_BYTES, TIME_FIELDS};

/// Hits returned when a query does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` a query may ask for (a streamed answer; pages of an API are smaller).
pub const MAX_LIMIT: usize = 1_000_000;
/// The most field filters in one query.
pub const MAX_FILTERS: usize = 64;
/// The most free-text terms in one query (message terms included).
pub const MAX_TEXT_TERMS: usize = 32;
/// The longest field name accepted.
pub const MAX_FIELD_NAME_BYTES: usize = 256;

/// Which tenants' events a query may see.
///
/// Only the authorisation policy makes one: a scope is built from the
/// [`nigehban_app::EventScope`] that `App::events_scope` gave the caller, and there
/// is no other public constructor, nor one that sees every tenant (the `testing`
/// feature adds some for this crate's own tests). An empty scope sees nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    /// The tenant ids; `None` sees every tenant (made only by `testing` helpers).
    tenants: Option<BTreeSet<String>>,
}

impl TenantScope {
    /// Whether this scope can see nothing.
    pub fn is_empty(&self) -> bool {
        self.tenants.as_ref().is_some_and(BTreeSet::is_empty)
    }

    /// Whether `tenant` is inside the scope.
    pub fn contains(&self, tenant: &str) -> bool {
        self.tenants
            .as_ref()
            .is_none_or(|tenants| tenants.contains(tenant))
    }

    /// The tenants, or `None` for every tenant.
    pub(crate) fn tenant_set(&self) -> Option<&BTreeSet<String>> {
        self.tenants.as_ref()
    }
}

impl From<&EventScope> for TenantScope {
    fn from(scope: &EventScope) -> Self {
        TenantScope {
            tenants: Some(scope.tenants().iter().map(ToString::to_string).collect()),
        }
    }
}

impl From<EventScope> for TenantScope {
    fn from(scope: EventScope) -> Self {
        TenantScope::from(&scope)
    }
}

/// Scopes for this crate's own tests and benchmarks, with tenant ids of any form.
#[cfg(any(test, feature = "testing"))]
impl TenantScope {
    /// Exactly the given tenants.
    pub fn tenants<I, S>(tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TenantScope {
            tenants: Some(tenants.into_iter().map(Into::into).collect()),
        }
    }

    /// One tenant.
    pub fn tenant(tenant: impl Into<String>) -> Self {
        TenantScope::tenants([tenant])
    }

    /// No tenant at all: every query matches nothing.
    pub fn none() -> Self {
        TenantScope {
            tenants: Some(BTreeSet::new()),
        }
    }

    /// Every tenant.
    pub fn all_tenants() -> Self {
        TenantScope { tenants: None }
    }
}

/// The order hits come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Latest `@timestamp` first, then the larger id first.
    #[default]
    NewestFirst,
    /// Earliest `@timestamp` first, then the smaller id first.
    OldestFirst,
}

/// An exact-match filter: `field` has the value `value` (case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFilter {
    /// An ECS field name (`host.name`), or a member of an object-valued field
    /// (`winlog.event_data.Image`, `log.syslog.structured_data.origin.ip`).
    pub field: String,
    /// The value, as text (numbers written out: `winlog.event_id=4688`). On `source.ip` and
    /// `destination.ip` a CIDR block (`10.0.0.0/8`) matches every address inside it.
    pub value: String,
}

/// A search over events.
///
/// Filters on different fields must all hold; several filters on one field match any of
/// their values. Every text term must occur (a term of several words is a phrase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Which tenants' events may be returned.
    pub tenants: TenantScope,
    /// Earliest `@timestamp` (inclusive).
    pub from: Option<OffsetDateTime>,
    /// Latest `@timestamp` (exclusive).
    pub to: Option<OffsetDateTime>,
    /// Exact-match filters.
    pub filters: Vec<FieldFilter>,
    /// Words or phrases that must occur in any text value of the event (case-insensitive).
    pub text: Vec<String>,
    /// Words or phrases that must occur in the `message` field (case-insensitive).
    pub message: Vec<String>,
    /// The most hits to return, 1..=[`MAX_LIMIT`].
    pub limit: usize,
    /// Continue after the hit this cursor came from ([`crate::EventHit::cursor`]).
    pub cursor: Option<String>,
    /// The order of hits.
    pub order: SortOrder,
}

impl EventQuery {
    /// Every event the scope may see, newest first, [`DEFAULT_LIMIT`] of them; the
    /// scope is the policy's ([`nigehban_app::EventScope`]).
    pub fn new(tenants: impl Into<TenantScope>) -> Self {
        EventQuery {
            tenants: tenants.into(),
            from: None,
            to: None,
            filters: Vec::new(),
            text: Vec::new(),
            message: Vec::new(),
            limit: DEFAULT_LIMIT,
            cursor: None,
            order: SortOrder::NewestFirst,
        }
    }

    /// Restricts `@timestamp` to `from..to` (from inclusive, to exclusive).
    pub fn between(mut self, from: OffsetDateTime, to: OffsetDateTime) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    /// Adds an exact-match filter.
    pub fn filter(mut self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.filters.push(FieldFilter {
            field: field.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a free-text term (a word, or a phrase of several).
    pub fn text(mut self, term: impl Into<String>) -> Self {
        self.text.push(term.into());
        self
    }

    /// Adds a term that must occur in `message`.
    pub fn message(mut self, term: impl Into<String>) -> Self {
        self.message.push(term.into());
        self
    }

    /// Sets the most hits to return.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continues after a cursor.
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Sets the order.
    pub fn order(mut self, order: SortOrder) -> Self {
        self.order = order;
        self
    }
}

/// A position in the sort order: `@timestamp` in microseconds and the id's sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct SortKey {
    pub micros: i64,
    pub key: u128,
}

impl SortKey {
    /// A value where smaller is earlier in `order`, so one comparison serves both orders.
    #[inline]
    pub fn rank(self, order: SortOrder) -> (u64, u128) {
        // Flipping the sign bit maps i64 order onto u64 order.
        let time = (self.micros as u64) ^ (1 << 63);
        match order {
            SortOrder::OldestFirst => (time, self.key),
            SortOrder::NewestFirst => (!time, !self.key),
        }
    }

    /// The opaque cursor text for this position in `order`.
    pub fn cursor(self, order: SortOrder) -> String {
        let tag = match order {
            SortOrder::NewestFirst => 'n',
            SortOrder::OldestFirst => 'o',
        };
        format!("{tag}{:016x}{:032x}", self.micros as u64, self.key)
    }

    /// Reads a cursor written by [`SortKey::cursor`] for the same order.
    pub fn from_cursor(cursor: &str, order: SortOrder) -> Result<SortKey, QueryError> {
        let bad = |reason| QueryError::Cursor {
            cursor: cursor.chars().take(80).collect(),
            reason,
        };
        if cursor.len() != 49 || !cursor.is_ascii() {
            return Err(bad("it was not produced by this index"));
        }
        let (tag, rest) = cursor.split_at(1);
        let expected = match order {
            SortOrder::NewestFirst => "n",
            SortOrder::OldestFirst => "o",
        };
        if tag != expected {
            return Err(if tag == "n" || tag == "o" {
                bad("it belongs to the other sort order")
            } else {
                bad("it was not produced by this index")
            });
        }
        let micros = u64::from_str_radix(&rest[..16], 16)
            .map_err(|_| bad("it was not produced by this index"))?;
        let key = u128::from_str_radix(&rest[16..], 16)
            .map_err(|_| bad("it was not produced by this index"))?;
        Ok(SortKey {
            micros: micros as i64,
            key,
        })
    }
}

/// A checked query, ready to run page by page.
pub(crate) struct Plan {
    /// Clauses every hit must match (tenant, filters, text), without the time range.
    pub clauses: Vec<Box<dyn Query>>,
    /// Earliest `@timestamp` in microseconds (inclusive).
    pub from: Option<i64>,
    /// Latest `@timestamp` in microseconds (exclusive).
    pub to: Option<i64>,
    /// Hits come strictly after this position.
    pub after: Option<SortKey>,
    /// The order.
    pub order: SortOrder,
    /// The most hits.
    pub limit: usize,
    /// The scope sees nothing: answer without searching.
    pub matches_nothing: bool,
}

impl Plan {
    /// The tantivy query for hits strictly after `after`, narrowed to the time range.
    pub fn page_query(&self, timestamp: Field, after: Option<SortKey>) -> Box<dyn Query> {
        let mut lower = self.from.map(Bound::Included).unwrap_or(Bound::Unbounded);
        let mut upper = self.to.map(Bound::Excluded).unwrap_or(Bound::Unbounded);
        // The cursor's own timestamp stays in range: ties on it are decided by the id.
        if let Some(after) = after {
            match self.order {
                SortOrder::NewestFirst => upper = tighter_upper(upper, after.micros),
                SortOrder::OldestFirst => lower = tighter_lower(lower, after.micros),
            }
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = self
            .clauses
            .iter()
            .map(|q| (Occur::Must, q.box_clone()))
            .collect();
        if !matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
            let term = |micros: i64| {
                Term::from_field_date(timestamp, DateTime::from_timestamp_micros(micros))
            };
            let range = RangeQuery::new(map_bound(lower, term), map_bound(upper, term));
            clauses.push((Occur::Must, Box::new(range)));
        }
        match clauses.len() {
            0 => Box::new(AllQuery),
            _ => Box::new(BooleanQuery::new(clauses)),
        }
    }
}

fn map_bound(bound: Bound<i64>, f: impl Fn(i64) -> Term) -> Bound<Term> {
    match bound {
        Bound::Included(v) => Bound::Included(f(v)),
        Bound::Excluded(v) => Bound::Excluded(f(v)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn tighter_upper(upper: Bound<i64>, at: i64) -> Bound<i64> {
    match upper {
        Bound::Excluded(to) if to <= at => Bound::Excluded(to),
        _ => Bound::Included(at),
    }
}

fn tighter_lower(lower: Bound<i64>, at: i64) -> Bound<i64> {
    match lower {
        Bound::Included(from) if from > at => Bound::Included(from),
        _ => Bound::Included(at),
    }
}

/// Checks `query` and turns it into a plan.
pub(crate) fn plan(
    schema: &EventSchema,
    analyzer: &TextAnalyzer,
    query: &EventQuery,
) -> Result<Plan, QueryError> {
    if query.limit == 0 || query.limit > MAX_LIMIT {
        return Err(QueryError::Limit {
            limit: query.limit,
            max: MAX_LIMIT,
        });
    }
    if query.filters.len() > MAX_FILTERS {
        return Err(QueryError::TooMany {
            what: "field filters",
            count: query.filters.len(),
            max: MAX_FILTERS,
        });
    }
    let terms = query.text.len() + query.message.len();
    if terms > MAX_TEXT_TERMS {
        return Err(QueryError::TooMany {
            what: "text terms",
            count: terms,
            max: MAX_TEXT_TERMS,
        });
    }
    let from = query.from.map(micros).transpose()?;
    let to = query.to.map(micros).transpose()?;
    if let (Some(f), Some(t), Some(from_time), Some(to_time)) = (from, to, query.from, query.to)
        && f > t
    {
        return Err(QueryError::TimeRange {
            from: rfc3339(from_time),
            to: rfc3339(to_time),
        });
    }
    let after = query
        .cursor
        .as_deref()
        .map(|c| SortKey::from_cursor(c, query.order))
        .transpose()?;

    let mut clauses: Vec<Box<dyn Query>> = Vec::new();
    if let Some(set) = query.tenants.tenant_set() {
        let terms = set
            .iter()
            .map(|tenant| Term::from_field_text(schema.tenant, tenant));
        clauses.push(Box::new(TermSetQuery::new(terms)));
    }

    // Group filters by field, keeping the order fields were first named in.
    let mut by_field: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for filter in &query.filters {
        check_field_name(&filter.field)?;
        by_field
            .entry(filter.field.as_str())
            .or_default()
            .push(filter.value.as_str());
    }
    for (field, values) in by_field {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for value in values {
            alternatives.push((Occur::Should, filter_query(schema, field, value)?));
        }
        clauses.push(Box::new(BooleanQuery::new(alternatives)));
    }

    let mut analyzer = analyzer.clone();
    for term in &query.text {
        // A message's text is indexed in `message` only, not again in `text`.
        clauses.push(Box::new(BooleanQuery::new(vec![
            (Occur::Should, text_query(&mut analyzer, schema.text, term)?),
            (
                Occur::Should,
                text_query(&mut analyzer, schema.message, term)?,
            ),
        ])));
    }
    for term in &query.message {
        clauses.push(text_query(&mut analyzer, schema.message, term)?);
    }

    Ok(Plan {
        clauses,
        from,
        to,
        after,
        order: query.order,
        limit: query.limit,
        matches_nothing: query.tenants.is_empty(),
    })
}

fn micros(at: OffsetDateTime) -> Result<i64, QueryError> {
    to_index_date(at)
        .map(DateTime::into_timestamp_micros)
        .ok_or_else(|| QueryError::TimeOutOfRange { time: rfc3339(at) })
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Checks a filter's field name: dotted words of letters, digits and `_ @ - : $ #`.
pub(crate) fn check_field_name(name: &str) -> Result<(), QueryError> {
    let bad = |reason: String| QueryError::FieldName {
        name: name.chars().take(MAX_FIELD_NAME_BYTES).collect(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if name.len() > MAX_FIELD_NAME_BYTES {
        return Err(bad(format!(
            "it is longer than {MAX_FIELD_NAME_BYTES} bytes"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '@' | '-' | ':' | '$' | '#' | '.')))
    {
        return Err(bad(format!(
            "character {c:?} is not allowed in a field name"
        )));
    }
    if name.split('.').any(str::is_empty) {
        return Err(bad("it has an empty part between dots".into()));
    }
    if TIME_FIELDS.contains(&name) {
        return Err(bad("time fields are searched with the from/to range".into()));
    }
    Ok(())
}

fn filter_query(
    schema: &EventSchema,
    field: &str,
    value: &str,
) -> Result<Box<dyn Query>, QueryError> {
    let bad = |reason: &str| QueryError::FieldValue {
        field: field.to_owned(),
        value: value.chars().take(200).collect(),
        reason: reason.to_owned(),
    };
    if value.is_empty() {
        return Err(bad("it is empty"));
    }
    if value.len() > MAX_EXACT_VALUE_BYTES {
        return Err(bad(
            "values this long are not indexed for exact match; search them as a text term",
        ));
    }
    let term_query =
        |term: Term| -> Box<dyn Query> { Box::new(TermQuery::new(term, IndexRecordOption::Basic)) };
    let catch_all = || {
        term_query(Term::from_field_text(
            schema.fields,
            &format!("{field}={value}"),
        ))
    };
    let Some((dedicated, tantivy_field)) = schema.dedicated(field) else {
        return Ok(catch_all());
    };
    let typed = match dedicated.kind {
        DedicatedKind::Keyword { .. } => term_query(Term::from_field_text(tantivy_field, value)),
        DedicatedKind::Ip => {
            if let Some(ip) = parse_ip(value) {
                term_query(Term::from_field_ip_addr(tantivy_field, ip))
            } else if let Some((low, high)) = parse_cidr(value).map_err(bad)? {
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_ip_addr(tantivy_field, low)),
                    Bound::Included(Term::from_field_ip_addr(tantivy_field, high)),
                ))
            } else {
                // Not an address: senders' odd values were kept as `name=value` terms.
                return Ok(catch_all());
            }
        }
        DedicatedKind::Unsigned => match value.trim().parse::<u64>() {
            Ok(number) => term_query(Term::from_field_u64(tantivy_field, number)),
            Err(_) => return Ok(catch_all()),
        },
    };
    // The same name may also be a member of a JSON record's original (`user.name` in JSON
    // of no known format, which normalisation does not map), kept as a `name=value` term:
    // either matches.
    Ok(Box::new(BooleanQuery::new(vec![
        (Occur::Should, typed),
        (Occur::Should, catch_all()),
    ])))
}

/// A CIDR block as its first and last address (IPv4 mapped into IPv6); `Ok(None)` when the
/// text is not CIDR at all.
fn parse_cidr(text: &str) -> Result<Option<(Ipv6Addr, Ipv6Addr)>, &'static str> {
    let Some((address, prefix)) = text.trim().split_once('/') else {
        return Ok(None);
    };
    let Some(ip) = parse_ip(address) else {
        return Ok(None);
    };
    let prefix: u32 = prefix
        .parse()
        .map_err(|_| "the CIDR prefix length is not a number")?;
    let is_v4 = ip.to_ipv4_mapped().is_some();
    let (max, offset) = if is_v4 { (32, 96) } else { (128, 0) };
    if prefix > max {
        return Err("the CIDR prefix length is too long for the address");
    }
    let bits = prefix + offset;
    let mask: u128 = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    let value = u128::from(ip);
    Ok(Some((
        Ipv6Addr::from(value & mask),
        Ipv6Addr::from(value | !mask),
    )))
}

fn text_query(
    analyzer: &mut TextAnalyzer,
    field: Field,
    text: &str,
) -> Result<Box<dyn Query>, QueryError> {
    let mut terms = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        terms.push(Term::from_field_text(field, &token.text));
    }
    match terms.len() {
        0 => Err(QueryError::TextTerm {
            term: text.chars().take(200).collect(),
            reason: "it has no letters or digits to search for",
        }),
        1 => Ok(Box::new(TermQuery::new(
            terms.remove(0),
            IndexRecordOption::Basic,
        ))),
        _ => Ok(Box::new(PhraseQuery::new(terms))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_the_other_order() {
        let key = SortKey {
            micros: -5,
            key: u128::MAX - 3,
        };
        let text = key.cursor(SortOrder::NewestFirst);
        assert_eq!(SortKey::from_cursor(&text, SortOrder::NewestFirst), Ok(key));
        assert!(matches!(
            SortKey::from_cursor(&text, SortOrder::OldestFirst),
            Err(QueryError::Cursor { reason, .. }) if reason.contains("other sort order")
        ));
        assert!(SortKey::from_cursor("garbage", SortOrder::NewestFirst).is_err());
        assert!(SortKey::from_cursor(&"n".repeat(49), SortOrder::NewestFirst).is_err());
    }

    #[test]
    fn rank_orders_both_ways() {
        let early = SortKey {
            micros: -10,
            key: 5,
        };
        let late = SortKey { micros: 10, key: 1 };
        let late_bigger_id = SortKey { micros: 10, key: 2 };
        assert!(early.rank(SortOrder::OldestFirst) < late.rank(SortOrder::OldestFirst));
        assert!(late.rank(SortOrder::OldestFirst) < late_bigger_id.rank(SortOrder::OldestFirst));
        assert!(late_bigger_id.rank(SortOrder::NewestFirst) < late.rank(SortOrder::NewestFirst));
        assert!(late.rank(SortOrder::NewestFirst) < early.rank(SortOrder::NewestFirst));
    }

    #[test]
    fn cidr_blocks() {
        let (low, high) = parse_cidr("10.1.0.0/16").unwrap().unwrap();
        assert_eq!(low.to_ipv4_mapped(), Some("10.1.0.0".parse().unwrap()));
        assert_eq!(high.to_ipv4_mapped(), Some("10.1.255.255".parse().unwrap()));
        let (low, high) = parse_cidr("2001:db8::/32").unwrap().unwrap();
        assert_eq!(low, "2001:db8::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            high,
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(parse_cidr("10.0.0.1"), Ok(None));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0.0/x").is_err());
        let (low, high) = parse_cidr("0.0.0.0/0").unwrap().unwrap();
        assert_eq!(low.to_ipv4_mapped(), Some("0.0.0.0".parse().unwrap()));
        assert_eq!(
            high.to_ipv4_mapped(),
            Some("255.255.255.255".parse().unwrap())
        );
    }

    #[test]
    fn typed_fields_fall_back_to_name_value_terms_for_odd_values() {
        let schema = EventSchema::new();
        for (field, value) in [
            ("source.ip", "unknown"),
            ("source.ip", "10.0.0.1"),
            ("source.ip", "10.0.0.0/8"),
            ("process.pid", "n/a"),
            ("process.pid", "42"),
        ] {
            assert!(
                filter_query(&schema, field, value).is_ok(),
                "{field}={value}"
            );
        }
        assert!(filter_query(&schema, "source.ip", "10.0.0.0/99").is_err());
    }

    #[test]
    fn field_names() {
        for good in [
            "host.name",
            "winlog.event_data.Image",
            "@version",
            "id.orig_h",
            "cs1Label",
        ] {
            assert_eq!(check_field_name(good), Ok(()), "{good}");
        }
        for bad in ["", "a..b", ".a", "a.", "a b", "a=b", "@timestamp", "x\n"] {
            assert!(check_field_name(bad).is_err(), "{bad:?}");
        }
    }

    mod properties {
        use super::*;
        use crate::schema::text_analyzer;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn cursors_round_trip(micros in any::<i64>(), key in any::<u128>(), newest in any::<bool>()) {
                let order = if newest { SortOrder::NewestFirst } else { SortOrder::OldestFirst };
                let at = SortKey { micros, key };
                prop_assert_eq!(SortKey::from_cursor(&at.cursor(order), order), Ok(at));
            }

            #[test]
            fn any_cursor_text_is_read_or_refused_without_panicking(text in "\\PC{0,60}") {
                let _ = SortKey::from_cursor(&text, SortOrder::NewestFirst);
            }

            #[test]
            fn accepted_field_names_hold_no_separator_or_space(name in "\\PC{0,40}") {
                if check_field_name(&name).is_ok() {
                    prop_assert!(!name.is_empty());
                    prop_assert!(!name.contains('=') && !name.chars().any(char::is_whitespace));
                    prop_assert!(!name.contains(".."));
                }
            }

            #[test]
            fn cidr_blocks_hold_their_address(a in any::<[u8; 4]>(), prefix in 0u32..=32) {
                let ip = std::net::Ipv4Addr::from(a);
                let (low, high) = parse_cidr(&format!("{ip}/{prefix}")).unwrap().unwrap();
                let mapped = ip.to_ipv6_mapped();
                prop_assert!(low <= mapped && mapped <= high);
                let width = u128::from(high) - u128::from(low);
                prop_assert_eq!(width, (1u128 << (32 - prefix)) - 1);
            }

            #[test]
            fn any_query_is_planned_or_refused_without_panicking(
                filters in proptest::collection::vec(("\\PC{0,20}", "\\PC{0,20}"), 0..6),
                text in proptest::collection::vec("\\PC{0,20}", 0..4),
                limit in 0usize..2_000_000,
                cursor in proptest::option::of("\\PC{0,50}"),
            ) {
                let schema = EventSchema::new();
                let mut query = EventQuery::new(TenantScope::tenant("t")).limit(limit);
                for (field, value) in filters {
                    query = query.filter(field, value);
                }
                for term in text {
                    query = query.text(term);
                }
                query.cursor = cursor;
                if let Ok(plan) = plan(&schema, &text_analyzer(), &query) {
                    let _ = plan.page_query(schema.timestamp, plan.after);
                }
            }
        }
    }
}
