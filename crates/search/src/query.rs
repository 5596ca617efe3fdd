//! What a caller asks for ([`EventQuery`]), how it is checked, and how it becomes a tantivy query.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, ExistsQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Searcher, Term};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use nigehban_app::EventScope;

use crate::catalogue;
use crate::document::{parse_ip, push_lowercase, to_index_date};
use crate::error::{QueryError, SearchError};
use crate::language::{self, Condition, Expr, Pattern};
use crate::schema::{
    DEDICATED, DedicatedKind, EventSchema, MAX_EXACT_VALUE_BYTES, TIME_FIELDS, is_name_field,
};

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
    /// Queries in the query language ([`crate::language`]) that must all match.
    pub expressions: Vec<Expr>,
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
            expressions: Vec::new(),
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

    /// Adds a parsed query that must match.
    pub fn matching(mut self, expr: Expr) -> Self {
        self.expressions.push(expr);
        self
    }

    /// Reads `text` in the query language and adds it; a syntax error names its column.
    pub fn query_text(self, text: &str) -> Result<Self, QueryError> {
        match language::parse(text) {
            Ok(expr) => Ok(self.matching(expr)),
            Err(error) => Err(QueryError::Syntax {
                query: text.chars().take(200).collect(),
                column: error.column,
                reason: error.reason,
            }),
        }
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

/// Checks `query` against the fields the scope's events have, and turns it into a plan.
pub(crate) fn plan(
    searcher: &Searcher,
    schema: &EventSchema,
    analyzer: &TextAnalyzer,
    query: &EventQuery,
) -> Result<Plan, SearchError> {
    let plan = plan_checked(schema, analyzer, query)?;
    if !plan.matches_nothing {
        let names = query
            .filters
            .iter()
            .map(|f| f.field.as_str())
            .chain(query.expressions.iter().flat_map(Expr::fields));
        for name in names {
            if !catalogue::is_known(searcher, schema, &query.tenants, name)? {
                let known = catalogue::fields_in_scope(searcher, schema, &query.tenants)?;
                return Err(QueryError::UnknownField {
                    field: name.to_owned(),
                    closest: catalogue::closest(name, &known),
                }
                .into());
            }
        }
    }
    Ok(plan)
}

/// Checks `query` on its own and turns it into a plan (fields are not looked up).
pub(crate) fn plan_checked(
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
    for expr in &query.expressions {
        clauses.push(expr_query(schema, &mut analyzer, expr)?);
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

/// Checks a filter's field name: dotted words of letters, digits and `_ @ - : $ #`, not a
/// time field (filters take times as the from/to range).
pub(crate) fn check_field_name(name: &str) -> Result<(), QueryError> {
    check_name_syntax(name)?;
    if TIME_FIELDS.contains(&name) {
        return Err(QueryError::FieldName {
            name: name.to_owned(),
            reason: "time fields are searched with the from/to range".into(),
        });
    }
    Ok(())
}

/// Checks the characters of a field name.
fn check_name_syntax(name: &str) -> Result<(), QueryError> {
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

/// A query-language expression as a tantivy query.
fn expr_query(
    schema: &EventSchema,
    analyzer: &mut TextAnalyzer,
    expr: &Expr,
) -> Result<Box<dyn Query>, QueryError> {
    Ok(match expr {
        Expr::And(items) => {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(items.len() + 1);
            for item in items {
                match item {
                    Expr::Not(inner) => {
                        clauses.push((Occur::MustNot, expr_query(schema, analyzer, inner)?));
                    }
                    _ => clauses.push((Occur::Must, expr_query(schema, analyzer, item)?)),
                }
            }
            // Only exclusions: they exclude from every event, not from none.
            if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                clauses.push((Occur::Must, Box::new(AllQuery)));
            }
            Box::new(BooleanQuery::new(clauses))
        }
        Expr::Or(items) => Box::new(BooleanQuery::new(
            items
                .iter()
                .map(|item| Ok((Occur::Should, expr_query(schema, analyzer, item)?)))
                .collect::<Result<Vec<_>, QueryError>>()?,
        )),
        Expr::Not(inner) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
            (Occur::MustNot, expr_query(schema, analyzer, inner)?),
        ])),
        Expr::Text(Pattern::Value(value)) => Box::new(BooleanQuery::new(vec![
            (Occur::Should, text_query(analyzer, schema.text, value)?),
            (Occur::Should, text_query(analyzer, schema.message, value)?),
        ])),
        Expr::Text(Pattern::Wildcard(pattern)) => {
            if pattern.chars().all(|c| c == '*') {
                return Ok(Box::new(AllQuery));
            }
            Box::new(BooleanQuery::new(vec![
                (Occur::Should, word_wildcard(schema.text, pattern)?),
                (Occur::Should, word_wildcard(schema.message, pattern)?),
            ]))
        }
        Expr::Field { field, condition } => field_query(schema, analyzer, field, condition)?,
    })
}

/// One field clause of the query language.
fn field_query(
    schema: &EventSchema,
    analyzer: &mut TextAnalyzer,
    field: &str,
    condition: &Condition,
) -> Result<Box<dyn Query>, QueryError> {
    check_name_syntax(field)?;
    let bad = |value: String, reason: String| QueryError::FieldValue {
        field: field.to_owned(),
        value: value.chars().take(200).collect(),
        reason,
    };
    if let Condition::Range { low, high } = condition {
        return range_query(schema, field, low, high);
    }
    if TIME_FIELDS.contains(&field) {
        return Err(bad(
            condition_value(condition).to_owned(),
            format!("a time field takes a range, e.g. {field}:[2026-01-01 TO 2026-01-02}}"),
        ));
    }
    match condition {
        Condition::Matches(Pattern::Value(value)) if field == "message" => {
            text_query(analyzer, schema.message, value)
        }
        Condition::Matches(Pattern::Wildcard(pattern)) if field == "message" => {
            word_wildcard(schema.message, pattern)
        }
        Condition::Matches(Pattern::Value(value))
            if is_name_field(field) && !is_typed(schema, field) =>
        {
            if value.is_empty() {
                return Err(bad(value.clone(), "it is empty".into()));
            }
            if value.len() > MAX_EXACT_VALUE_BYTES {
                return Err(bad(
                    value.clone(),
                    "values this long are not indexed for exact match; search them as a text term"
                        .into(),
                ));
            }
            let mut term = String::with_capacity(field.len() + 1 + value.len());
            term.push_str(field);
            term.push('=');
            push_lowercase(&mut term, value);
            Ok(Box::new(TermQuery::new(
                Term::from_field_text(schema.folded, &term),
                IndexRecordOption::Basic,
            )))
        }
        Condition::Matches(Pattern::Value(value)) | Condition::Exactly(Pattern::Value(value)) => {
            filter_query(schema, field, value)
        }
        Condition::Matches(Pattern::Wildcard(pattern)) => {
            field_wildcard(schema, field, pattern, is_name_field(field))
        }
        Condition::Exactly(Pattern::Wildcard(pattern)) => {
            field_wildcard(schema, field, pattern, false)
        }
        Condition::Range { .. } => Err(bad(String::new(), "unreachable".into())),
    }
}

fn condition_value(condition: &Condition) -> &str {
    match condition {
        Condition::Matches(Pattern::Value(v) | Pattern::Wildcard(v))
        | Condition::Exactly(Pattern::Value(v) | Pattern::Wildcard(v)) => v,
        Condition::Range { .. } => "",
    }
}

/// Whether the field has a typed (IP or number) field of its own.
fn is_typed(schema: &EventSchema, field: &str) -> bool {
    schema
        .dedicated(field)
        .is_some_and(|(d, _)| !matches!(d.kind, DedicatedKind::Keyword { .. }))
}

/// A wildcard pattern as a regular expression over whole terms: `*` any run, `?` any one
/// character, everything else literal.
fn wildcard_regex(pattern: &str, out: &mut String) {
    for c in pattern.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' | '.' | '+' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' | '&'
            | '-' | '~' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
}

fn regex_query(
    field: Field,
    regex: &str,
    name: &str,
    pattern: &str,
) -> Result<Box<dyn Query>, QueryError> {
    RegexQuery::from_pattern(regex, field)
        .map(|q| Box::new(q) as Box<dyn Query>)
        .map_err(|_| QueryError::FieldValue {
            field: name.to_owned(),
            value: pattern.chars().take(200).collect(),
            reason: "the wildcard pattern is too complex to search".into(),
        })
}

/// A wildcard over one word of full text (words are letters and digits, lower-cased).
fn word_wildcard(field: Field, pattern: &str) -> Result<Box<dyn Query>, QueryError> {
    if let Some(c) = pattern
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '*' | '?')))
    {
        return Err(QueryError::TextTerm {
            term: pattern.chars().take(200).collect(),
            reason: if c.is_whitespace() {
                "a wildcard matches within one word"
            } else {
                "a wildcard in free text matches within one word of letters and digits; put it on a field instead (process.name:*power*)"
            },
        });
    }
    let mut regex = String::new();
    let mut lower = String::new();
    push_lowercase(&mut lower, pattern);
    wildcard_regex(&lower, &mut regex);
    regex_query(field, &regex, "text", pattern)
}

/// A wildcard over a field's values, `fold`ed (without case) or with their case.
fn field_wildcard(
    schema: &EventSchema,
    field: &str,
    pattern: &str,
    fold: bool,
) -> Result<Box<dyn Query>, QueryError> {
    let mut prefixed = String::new();
    wildcard_regex(field, &mut prefixed);
    prefixed.push('=');
    let catch_all = |prefixed: &mut String| {
        wildcard_regex(pattern, prefixed);
        regex_query(schema.fields, prefixed, field, pattern)
    };
    match schema.dedicated(field) {
        Some((dedicated, tantivy_field))
            if !matches!(dedicated.kind, DedicatedKind::Keyword { .. }) =>
        {
            if pattern.chars().all(|c| c == '*') {
                // Has the field at all: a typed value, or a kept odd one.
                let exists: Box<dyn Query> =
                    Box::new(ExistsQuery::new(dedicated.name.to_owned(), false));
                return Ok(Box::new(BooleanQuery::new(vec![
                    (Occur::Should, exists),
                    (Occur::Should, catch_all(&mut prefixed)?),
                ])));
            }
            let _ = tantivy_field;
            Err(QueryError::FieldValue {
                field: field.to_owned(),
                value: pattern.chars().take(200).collect(),
                reason: match dedicated.kind {
                    DedicatedKind::Ip => "an IP field takes an address, a CIDR block (10.0.0.0/8) or a range, not a wildcard".into(),
                    _ => "a number field takes a number or a range (field:[1 TO 1024]), not a wildcard".into(),
                },
            })
        }
        _ if fold => {
            let mut lower = String::new();
            push_lowercase(&mut lower, pattern);
            wildcard_regex(&lower, &mut prefixed);
            regex_query(schema.folded, &prefixed, field, pattern)
        }
        Some((_, tantivy_field)) => {
            let mut regex = String::new();
            wildcard_regex(pattern, &mut regex);
            Ok(Box::new(BooleanQuery::new(vec![
                (
                    Occur::Should,
                    regex_query(tantivy_field, &regex, field, pattern)?,
                ),
                (Occur::Should, catch_all(&mut prefixed)?),
            ])))
        }
        None => catch_all(&mut prefixed),
    }
}

/// `field:[low TO high]` on a time, number or IP field.
fn range_query(
    schema: &EventSchema,
    field: &str,
    low: &Bound<String>,
    high: &Bound<String>,
) -> Result<Box<dyn Query>, QueryError> {
    let bad = |value: &str, reason: String| QueryError::FieldValue {
        field: field.to_owned(),
        value: value.chars().take(200).collect(),
        reason,
    };
    fn bounds<T>(
        low: &Bound<String>,
        high: &Bound<String>,
        mut read: impl FnMut(&str) -> Result<T, QueryError>,
    ) -> Result<(Bound<T>, Bound<T>), QueryError> {
        let mut one = |bound: &Bound<String>| -> Result<Bound<T>, QueryError> {
            Ok(match bound {
                Bound::Included(v) => Bound::Included(read(v)?),
                Bound::Excluded(v) => Bound::Excluded(read(v)?),
                Bound::Unbounded => Bound::Unbounded,
            })
        };
        Ok((one(low)?, one(high)?))
    }
    let range = |(low, high): (Bound<Term>, Bound<Term>)| -> Box<dyn Query> {
        Box::new(RangeQuery::new(low, high))
    };
    let time_field = match field {
        "@timestamp" => Some(schema.timestamp),
        "event.ingested" => Some(schema.ingested),
        _ => None,
    };
    if let Some(tantivy_field) = time_field {
        let (low, high) = bounds(low, high, |v| {
            let at = parse_time_bound(v).ok_or_else(|| {
                bad(v, "a time bound is an RFC 3339 time (2026-03-01T10:00:00Z) or a date (2026-03-01)".into())
            })?;
            let micros = micros(at)?;
            Ok(Term::from_field_date(
                tantivy_field,
                DateTime::from_timestamp_micros(micros),
            ))
        })?;
        return Ok(range((low, high)));
    }
    match schema.dedicated(field) {
        Some((dedicated, tantivy_field)) if dedicated.kind == DedicatedKind::Unsigned => {
            let (low, high) = bounds(low, high, |v| {
                v.trim()
                    .parse::<u64>()
                    .map(|n| Term::from_field_u64(tantivy_field, n))
                    .map_err(|_| {
                        bad(
                            v,
                            "a bound of a number field is a whole number of 0 or more".into(),
                        )
                    })
            })?;
            Ok(range((low, high)))
        }
        Some((dedicated, tantivy_field)) if dedicated.kind == DedicatedKind::Ip => {
            let (low, high) = bounds(low, high, |v| {
                parse_ip(v)
                    .map(|ip| Term::from_field_ip_addr(tantivy_field, ip))
                    .ok_or_else(|| {
                        bad(
                            v,
                            "a bound of an IP field is an IPv4 or IPv6 address".into(),
                        )
                    })
            })?;
            Ok(range((low, high)))
        }
        _ => {
            let rangeable: Vec<&str> = DEDICATED
                .iter()
                .filter(|d| !matches!(d.kind, DedicatedKind::Keyword { .. }))
                .map(|d| d.ecs)
                .chain(TIME_FIELDS.iter().copied())
                .collect();
            Err(bad(
                "",
                format!(
                    "ranges work on number, IP and time fields: {}",
                    rangeable.join(", ")
                ),
            ))
        }
    }
}

/// A time bound: RFC 3339, or a date (its midnight UTC).
fn parse_time_bound(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format)
        .ok()
        .map(|d| d.midnight().assume_utc())
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
                if let Ok(plan) = plan_checked(&schema, &text_analyzer(), &query) {
                    let _ = plan.page_query(schema.timestamp, plan.after);
                }
            }
        }
    }
}
