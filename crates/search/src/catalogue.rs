//! Which fields can be searched: the built-in ones, and those the scope's events have.
//!
//! Every `name=value` term an event gets also records `tenant \x1f name` in the `names`
//! field, so the fields a tenant's events have are a range of one small term dictionary
//! per segment. A query naming a field none of the scope's events have is refused with
//! the closest known names, instead of answering an empty page.

use std::collections::BTreeSet;

use serde::Serialize;
use tantivy::Searcher;

use crate::document::KEY_SEPARATOR;
use crate::error::SearchError;
use crate::query::TenantScope;
use crate::schema::{DEDICATED, DedicatedKind, EventSchema, TIME_FIELDS, is_name_field};

/// How a field's values are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Exact values (and wildcards); without case on name fields.
    Keyword,
    /// Full text: words and phrases.
    Text,
    /// Whole numbers: exact values and ranges.
    Number,
    /// IP addresses: exact addresses, CIDR blocks and ranges.
    Ip,
    /// Times: ranges only.
    Date,
}

/// A searchable field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldInfo {
    /// The dotted name, as queries write it.
    pub name: String,
    /// How its values are searched.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Whether `field:value` matches its values without case (`field:=value` keeps case).
    pub case_insensitive: bool,
    /// Whether `GET /api/v1/events/aggregate` can count its top values.
    pub aggregatable: bool,
}

/// The fields every index has, whatever its events: typed ECS fields, the times and
/// `message`.
pub(crate) fn built_in() -> Vec<FieldInfo> {
    let mut fields: Vec<FieldInfo> = DEDICATED
        .iter()
        .map(|d| {
            let (kind, aggregatable) = match d.kind {
                DedicatedKind::Keyword { fast } => (FieldType::Keyword, fast),
                DedicatedKind::Ip => (FieldType::Ip, true),
                DedicatedKind::Unsigned => (FieldType::Number, true),
            };
            FieldInfo {
                name: d.ecs.to_owned(),
                kind,
                case_insensitive: kind == FieldType::Keyword && is_name_field(d.ecs),
                aggregatable,
            }
        })
        .collect();
    fields.extend(TIME_FIELDS.iter().map(|name| FieldInfo {
        name: (*name).to_owned(),
        kind: FieldType::Date,
        case_insensitive: false,
        aggregatable: false,
    }));
    fields.push(FieldInfo {
        name: "message".to_owned(),
        kind: FieldType::Text,
        case_insensitive: true,
        aggregatable: false,
    });
    fields
}

/// Whether `name` is a built-in field.
pub(crate) fn is_built_in(name: &str) -> bool {
    name == "message" || TIME_FIELDS.contains(&name) || DEDICATED.iter().any(|d| d.ecs == name)
}

/// The key range of one tenant's names: `tenant \x1f` up to `tenant \x20`.
fn tenant_prefix(tenant: &str) -> String {
    let mut prefix = String::with_capacity(tenant.len() + 1);
    prefix.push_str(tenant);
    prefix.push(KEY_SEPARATOR);
    prefix
}

/// Whether some event of the scope has a field called `name` (built-in fields always exist).
pub(crate) fn is_known(
    searcher: &Searcher,
    schema: &EventSchema,
    scope: &TenantScope,
    name: &str,
) -> Result<bool, SearchError> {
    if is_built_in(name) {
        return Ok(true);
    }
    match scope.tenant_set() {
        Some(tenants) => {
            for segment in searcher.segment_readers() {
                let index = segment
                    .inverted_index(schema.names)
                    .map_err(SearchError::index("read field names"))?;
                for tenant in tenants {
                    let mut key = tenant_prefix(tenant);
                    key.push_str(name);
                    let found = index
                        .terms()
                        .get(key.as_bytes())
                        .map_err(|e| SearchError::index("read field names")(e.into()))?;
                    if found.is_some() {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        }
        None => Ok(names_in_scope(searcher, schema, scope)?.contains(name)),
    }
}

/// The names the scope's events have.
fn names_in_scope(
    searcher: &Searcher,
    schema: &EventSchema,
    scope: &TenantScope,
) -> Result<BTreeSet<String>, SearchError> {
    let mut names = BTreeSet::new();
    let read_error = |e: std::io::Error| SearchError::index("read field names")(e.into());
    for segment in searcher.segment_readers() {
        let index = segment
            .inverted_index(schema.names)
            .map_err(SearchError::index("read field names"))?;
        let mut collect = |low: Option<String>, high: Option<String>| -> Result<(), SearchError> {
            let mut range = index.terms().range();
            if let Some(low) = &low {
                range = range.ge(low.as_bytes());
            }
            if let Some(high) = &high {
                range = range.lt(high.as_bytes());
            }
            let mut stream = range.into_stream().map_err(read_error)?;
            while stream.advance() {
                let key = String::from_utf8_lossy(stream.key());
                if let Some((_, name)) = key.split_once(KEY_SEPARATOR) {
                    names.insert(name.to_owned());
                }
            }
            Ok(())
        };
        match scope.tenant_set() {
            Some(tenants) => {
                for tenant in tenants {
                    let low = tenant_prefix(tenant);
                    let mut high = low.clone();
                    high.pop();
                    high.push(crate::document::KEY_SEPARATOR_NEXT);
                    collect(Some(low), Some(high))?;
                }
            }
            None => collect(None, None)?,
        }
    }
    Ok(names)
}

/// Every field the scope can search: the built-in ones, then the names its events have.
pub(crate) fn fields_in_scope(
    searcher: &Searcher,
    schema: &EventSchema,
    scope: &TenantScope,
) -> Result<Vec<FieldInfo>, SearchError> {
    let mut fields = built_in();
    if scope.is_empty() {
        return Ok(fields);
    }
    for name in names_in_scope(searcher, schema, scope)? {
        if is_built_in(&name) {
            continue;
        }
        fields.push(FieldInfo {
            case_insensitive: is_name_field(&name),
            name,
            kind: FieldType::Keyword,
            aggregatable: false,
        });
    }
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(fields)
}

/// Up to five known names closest to `name`: the same last part first (`Image` for
/// `winlog.event_data.Image`), then by edit distance without case.
pub(crate) fn closest(name: &str, known: &[FieldInfo]) -> Vec<String> {
    let wanted = name.to_lowercase();
    let wanted_last = wanted.rsplit('.').next().unwrap_or(&wanted).to_owned();
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .filter_map(|field| {
            let candidate = field.name.to_lowercase();
            let last = candidate.rsplit('.').next().unwrap_or(&candidate);
            let distance = edit_distance(&wanted, &candidate);
            if distance <= limit {
                Some((distance, field.name.as_str()))
            } else if last == wanted_last || edit_distance(&wanted_last, last) <= 1 {
                Some((limit + 1, field.name.as_str()))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(5)
        .map(|(_, name)| name.to_owned())
        .collect()
}

/// Edit distance over characters, a swap of two neighbours counting as one edit
/// (optimal string alignment: `hots` is one edit from `host`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, slot) in d.iter_mut().enumerate().take(width) {
        *slot = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names_by_last_part_and_distance() {
        let known = built_in()
            .into_iter()
            .chain(
                ["winlog.event_data.Image", "log.syslog.appname"].map(|name| FieldInfo {
                    name: name.to_owned(),
                    kind: FieldType::Keyword,
                    case_insensitive: true,
                    aggregatable: false,
                }),
            )
            .collect::<Vec<_>>();
        assert_eq!(closest("hots.name", &known)[0], "host.name");
        assert_eq!(closest("Image", &known), ["winlog.event_data.Image"]);
        assert_eq!(closest("source.ipp", &known)[0], "source.ip");
        assert!(closest("zzzzzzzz", &known).is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("hots.name", "host.name"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
