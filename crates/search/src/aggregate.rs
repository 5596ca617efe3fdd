//! Counting the events a query matches: the total, a field's top values, events over time.
//!
//! One pass over the matching documents' fast columns (no stored event is read), within
//! the query's plan, so the tenant scope of a search is the scope of its counts.

use std::net::Ipv6Addr;
use std::time::Duration;

use rustc_hash::FxHashMap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DateTime, DocId, Score, Searcher, SegmentOrdinal, SegmentReader};
use time::OffsetDateTime;

use crate::error::{QueryError, SearchError};
use crate::query::Plan;
use crate::schema::{DEDICATED, DedicatedKind, EventSchema, TIMESTAMP_COLUMN};

/// The most top values one aggregation returns.
pub const MAX_TOP_VALUES: usize = 1000;

/// The most time buckets one aggregation returns.
pub const MAX_BUCKETS: usize = 10_000;

/// What to count besides the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregation {
    /// Count the top values of this field (one whose `aggregatable` is true in the field list).
    pub top: Option<String>,
    /// How many top values to return (1..=[`MAX_TOP_VALUES`]).
    pub size: usize,
    /// Count events per interval of `@timestamp` (buckets aligned on the Unix epoch).
    pub interval: Option<Duration>,
}

impl Default for Aggregation {
    fn default() -> Self {
        Aggregation {
            top: None,
            size: 10,
            interval: None,
        }
    }
}

/// The counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregations {
    /// Events matching.
    pub total: u64,
    /// The field's top values, when asked for.
    pub top: Option<TopValues>,
    /// Events per interval from the first to the last (empty intervals between them
    /// counted as 0), when asked for.
    pub over_time: Option<Vec<Bucket>>,
}

/// A field's most frequent values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopValues {
    /// The field.
    pub field: String,
    /// The values, most frequent first (ties by value).
    pub values: Vec<ValueCount>,
    /// Events whose value is not among those returned.
    pub other: u64,
    /// Events without the field.
    pub missing: u64,
}

/// One value and how many events have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    /// The value as text.
    pub value: String,
    /// Events with it.
    pub count: u64,
}

/// Events in one interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The interval's start.
    pub start: OffsetDateTime,
    /// Events in `[start, start + interval)`.
    pub count: u64,
}

/// Which fast column holds the field's values.
#[derive(Debug, Clone, Copy)]
enum ColumnKind {
    Text(&'static str),
    Number(&'static str),
    Ip(&'static str),
}

fn column_of(field: &str) -> Result<ColumnKind, QueryError> {
    let found = DEDICATED.iter().find(|d| d.ecs == field);
    match found.map(|d| (d.kind, d.name)) {
        Some((DedicatedKind::Keyword { fast: true }, name)) => Ok(ColumnKind::Text(name)),
        Some((DedicatedKind::Unsigned, name)) => Ok(ColumnKind::Number(name)),
        Some((DedicatedKind::Ip, name)) => Ok(ColumnKind::Ip(name)),
        _ => {
            let aggregatable: Vec<&str> = DEDICATED
                .iter()
                .filter(|d| !matches!(d.kind, DedicatedKind::Keyword { fast: false }))
                .map(|d| d.ecs)
                .collect();
            Err(QueryError::FieldName {
                name: field.to_owned(),
                reason: format!(
                    "its top values cannot be counted; these fields' can: {}",
                    aggregatable.join(", ")
                ),
            })
        }
    }
}

/// Runs the counts of `aggregation` over what `plan` matches.
pub(crate) fn run(
    searcher: &Searcher,
    schema: &EventSchema,
    plan: &Plan,
    aggregation: &Aggregation,
) -> Result<Aggregations, SearchError> {
    let column = aggregation.top.as_deref().map(column_of).transpose()?;
    if aggregation.top.is_some() && !(1..=MAX_TOP_VALUES).contains(&aggregation.size) {
        return Err(QueryError::Limit {
            limit: aggregation.size,
            max: MAX_TOP_VALUES,
        }
        .into());
    }
    let interval = match aggregation.interval {
        Some(interval) => {
            let micros = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX);
            if micros < 1_000_000 {
                return Err(SearchError::InvalidQuery(QueryError::FieldValue {
                    field: "@timestamp".into(),
                    value: format!("{interval:?}"),
                    reason: "the interval must be at least one second".into(),
                }));
            }
            Some(micros)
        }
        None => None,
    };
    let mut result = Aggregations {
        total: 0,
        top: aggregation.top.as_ref().map(|field| TopValues {
            field: field.clone(),
            values: Vec::new(),
            other: 0,
            missing: 0,
        }),
        over_time: interval.map(|_| Vec::new()),
    };
    if plan.matches_nothing {
        return Ok(result);
    }
    let collector = CountCollector { column, interval };
    let query = plan.page_query(schema.timestamp, None);
    let counts = searcher
        .search(&*query, &collector)
        .map_err(SearchError::index("aggregate"))?;
    result.total = counts.total;
    if let Some(top) = &mut result.top {
        let mut values: Vec<(String, u64)> = counts.values.into_iter().collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let with_value = counts.total - counts.missing;
        let kept: u64 = values.iter().take(aggregation.size).map(|v| v.1).sum();
        top.values = values
            .into_iter()
            .take(aggregation.size)
            .map(|(value, count)| ValueCount { value, count })
            .collect();
        top.other = with_value.saturating_sub(kept);
        top.missing = counts.missing;
    }
    if let (Some(interval), Some(over_time)) = (interval, &mut result.over_time) {
        // From the query's own range when it has one, else from the first to the last event.
        let first = plan
            .from
            .map(|f| f.div_euclid(interval))
            .or_else(|| counts.buckets.keys().min().copied());
        let last = plan
            .to
            .map(|t| (t - 1).div_euclid(interval))
            .or_else(|| counts.buckets.keys().max().copied());
        if let (Some(first), Some(last)) = (first, last)
            && first <= last
        {
            let span = (last - first) as u128 + 1;
            if span > MAX_BUCKETS as u128 {
                return Err(SearchError::InvalidQuery(QueryError::TooMany {
                    what: "time buckets (widen the interval or narrow from/to)",
                    count: usize::try_from(span).unwrap_or(usize::MAX),
                    max: MAX_BUCKETS,
                }));
            }
            for bucket in first..=last {
                let start = DateTime::from_timestamp_micros(bucket.saturating_mul(interval));
                over_time.push(Bucket {
                    start: start.into_utc(),
                    count: counts.buckets.get(&bucket).copied().unwrap_or(0),
                });
            }
        }
    }
    Ok(result)
}

/// Counts per segment, merged.
struct CountCollector {
    column: Option<ColumnKind>,
    /// Bucket width in microseconds.
    interval: Option<i64>,
}

/// What a segment (and then every segment) counted.
#[derive(Default)]
struct Counts {
    total: u64,
    missing: u64,
    values: FxHashMap<String, u64>,
    buckets: FxHashMap<i64, u64>,
}

enum Values {
    None,
    Text(Option<StrColumn>, Vec<u64>),
    Number(Column<u64>, FxHashMap<u64, u64>),
    Ip(Option<Column<Ipv6Addr>>, FxHashMap<Ipv6Addr, u64>),
}

struct SegmentCounts {
    values: Values,
    timestamp: Option<Column<DateTime>>,
    interval: i64,
    counts: Counts,
}

impl Collector for CountCollector {
    type Fruit = Counts;
    type Child = SegmentCounts;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentCounts> {
        let fast = segment.fast_fields();
        let values = match self.column {
            None => Values::None,
            Some(ColumnKind::Text(name)) => {
                let column = fast.str(name)?;
                let terms = column.as_ref().map_or(0, |c| c.num_terms());
                Values::Text(column, vec![0; terms])
            }
            Some(ColumnKind::Number(name)) => Values::Number(fast.u64(name)?, FxHashMap::default()),
            Some(ColumnKind::Ip(name)) => {
                Values::Ip(fast.column_opt::<Ipv6Addr>(name)?, FxHashMap::default())
            }
        };
        let timestamp = match self.interval {
            Some(_) => Some(fast.date(TIMESTAMP_COLUMN)?),
            None => None,
        };
        Ok(SegmentCounts {
            values,
            timestamp,
            interval: self.interval.unwrap_or(1),
            counts: Counts::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut all = Counts::default();
        for fruit in fruits {
            all.total += fruit.total;
            all.missing += fruit.missing;
            for (value, count) in fruit.values {
                *all.values.entry(value).or_default() += count;
            }
            for (bucket, count) in fruit.buckets {
                *all.buckets.entry(bucket).or_default() += count;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentCounts {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.counts.total += 1;
        let found = match &mut self.values {
            Values::None => true,
            Values::Text(Some(column), counts) => {
                let mut any = false;
                for ord in column.term_ords(doc) {
                    if let Some(slot) = counts.get_mut(ord as usize) {
                        *slot += 1;
                    }
                    any = true;
                }
                any
            }
            Values::Text(None, _) | Values::Ip(None, _) => false,
            Values::Number(column, counts) => {
                let mut any = false;
                for value in column.values_for_doc(doc) {
                    *counts.entry(value).or_default() += 1;
                    any = true;
                }
                any
            }
            Values::Ip(Some(column), counts) => {
                let mut any = false;
                for value in column.values_for_doc(doc) {
                    *counts.entry(value).or_default() += 1;
                    any = true;
                }
                any
            }
        };
        if !found {
            self.counts.missing += 1;
        }
        if let Some(timestamp) = &self.timestamp
            && let Some(at) = timestamp.first(doc)
        {
            let bucket = at.into_timestamp_micros().div_euclid(self.interval);
            *self.counts.buckets.entry(bucket).or_default() += 1;
        }
    }

    fn harvest(mut self) -> Counts {
        match self.values {
            Values::None => {}
            Values::Text(Some(column), counts) => {
                let mut text = String::new();
                for (ord, count) in counts.into_iter().enumerate() {
                    if count > 0 && column.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                        *self.counts.values.entry(text.clone()).or_default() += count;
                    }
                }
            }
            Values::Text(None, _) | Values::Ip(None, _) => {}
            Values::Number(_, counts) => {
                for (value, count) in counts {
                    *self.counts.values.entry(value.to_string()).or_default() += count;
                }
            }
            Values::Ip(Some(_), counts) => {
                for (ip, count) in counts {
                    let text = match ip.to_ipv4_mapped() {
                        Some(v4) => v4.to_string(),
                        None => ip.to_string(),
                    };
                    *self.counts.values.entry(text).or_default() += count;
                }
            }
        }
        self.counts
    }
}
