//! Loading rule files: YAML documents into [`Rule`]s plus diagnostics.

use std::collections::HashMap;
use std::sync::Arc;

use crate::condition::parse_condition;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::modifiers::{Placeholders, parse_item};
use crate::rule::{
    Cond, Correlation, CorrelationOp, CorrelationType, Detection, Filter, Level, Logsource, Rule,
    RuleBody, RuleMeta, Search, Status,
};
use crate::yaml::{Node, NodeKind, Pos, ScalarType, parse_documents};

/// A collection of loaded rules and everything found wrong while loading them.
///
/// One broken rule never stops the others: it is left out and reported.
/// Rule ids must be unique across the collection; a second rule with a known
/// id is reported as an error naming both places and is left out.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    diagnostics: Vec<Diagnostic>,
    placeholders: Placeholders,
    /// id -> (origin, line, title, index into `rules` when it loaded)
    ids: HashMap<String, (String, u32, String, Option<usize>)>,
}

/// What [`parse_source`] found in one source text.
#[derive(Debug, Clone, Default)]
pub struct ParsedSource {
    /// Rules that loaded.
    pub rules: Vec<Rule>,
    /// Everything reported.
    pub diagnostics: Vec<Diagnostic>,
    /// Metadata of documents that did not load but named an id (they still
    /// take part in the duplicate-id check).
    pub failed: Vec<RuleMeta>,
}

impl RuleSet {
    /// An empty rule set with no placeholder values.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty rule set that expands `%name%` placeholders with `placeholders`.
    pub fn with_placeholders(placeholders: Placeholders) -> Self {
        Self {
            placeholders,
            ..Self::default()
        }
    }

    /// Loads one source text (possibly several `---` documents) named `origin`.
    pub fn load_str(source: &str, origin: &str) -> RuleSet {
        let mut set = RuleSet::new();
        set.add_str(source, origin);
        set
    }

    /// Parses `source` and adds its rules; returns how many rules were added.
    pub fn add_str(&mut self, source: &str, origin: &str) -> usize {
        let parsed = parse_source(source, origin, &self.placeholders);
        self.add_parsed(parsed)
    }

    /// Adds the result of [`parse_source`] (which may run on other threads),
    /// checking ids for duplicates; returns how many rules were added.
    pub fn add_parsed(&mut self, parsed: ParsedSource) -> usize {
        self.diagnostics.extend(parsed.diagnostics);
        for meta in &parsed.failed {
            self.check_id(meta);
        }
        let mut added = 0;
        for rule in parsed.rules {
            if !self.check_id(&rule.meta) {
                continue;
            }
            if let Some(id) = &rule.meta.id
                && let Some(entry) = self.ids.get_mut(id)
            {
                entry.3 = Some(self.rules.len());
            }
            self.rules.push(rule);
            added += 1;
        }
        added
    }

    /// Records the id of `meta`; false (and an error) when it was seen before.
    fn check_id(&mut self, meta: &RuleMeta) -> bool {
        let Some(id) = &meta.id else {
            return true;
        };
        if let Some((origin, line, title, _)) = self.ids.get(id) {
            self.diagnostics.push(Diagnostic {
                origin: meta.origin.clone(),
                line: meta.line,
                column: 0,
                rule_id: Some(id.clone()),
                title: Some(meta.title.clone()),
                kind: DiagnosticKind::Error,
                message: format!(
                    "duplicate rule id {id}: already defined at {origin}:{line} ({title})"
                ),
            });
            return false;
        }
        self.ids.insert(
            id.clone(),
            (meta.origin.clone(), meta.line, meta.title.clone(), None),
        );
        true
    }

    /// Adds diagnostics found elsewhere (e.g. by [`parse_source`] on other threads).
    pub fn add_diagnostics(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.diagnostics.extend(diagnostics);
    }

    /// The loaded rules, detection rules, correlations and filters alike, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Everything reported so far.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.ids.get(id).and_then(|e| e.3).map(|i| &self.rules[i])
    }

    /// The placeholder values used for `expand`.
    pub fn placeholders(&self) -> &Placeholders {
        &self.placeholders
    }
}

/// Parses one source text into rules and diagnostics, without duplicate-id
/// checks (those happen in [`RuleSet::add_rules`]). Safe to call from many threads.
pub fn parse_source(source: &str, origin: &str, placeholders: &Placeholders) -> ParsedSource {
    let (docs, syntax) = parse_documents(source);
    let mut rules = Vec::new();
    let mut diags = Vec::new();
    let mut failed = Vec::new();
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    for doc in docs {
        if doc.is_null() {
            continue;
        }
        if doc.as_map().is_none() {
            diags.push(Diagnostic {
                origin: origin.to_string(),
                line: doc.pos.line,
                column: doc.pos.column,
                rule_id: None,
                title: None,
                kind: DiagnosticKind::Error,
                message: format!("a rule document must be a map, not a {}", doc.kind_name()),
            });
            continue;
        }
        // Sigma 1.0 collections: `action: global | reset | repeat`.
        let doc = match doc.get("action").and_then(Node::as_str) {
            Some("global") => {
                global = Some(without_key(&doc, "action"));
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => match &previous {
                Some(prev) => merge(prev, &without_key(&doc, "action")),
                None => {
                    diags.push(doc_diag(
                        origin,
                        doc.pos,
                        "'action: repeat' without a previous rule".into(),
                    ));
                    continue;
                }
            },
            Some(other) if doc.get("detection").is_none() && doc.get("logsource").is_none() => {
                diags.push(doc_diag(
                    origin,
                    doc.pos,
                    format!("unknown collection action '{other}'"),
                ));
                continue;
            }
            _ => match &global {
                Some(g) => merge(g, &doc),
                None => doc,
            },
        };
        previous = Some(doc.clone());
        let mut ctx = DocContext {
            origin,
            placeholders,
            diags: Vec::new(),
            id: None,
            title: None,
            failed: false,
        };
        let rule = ctx.rule(&doc, &mut failed);
        diags.append(&mut ctx.diags);
        if let Some(rule) = rule {
            rules.push(rule);
        }
    }
    if let Some(e) = syntax {
        diags.push(Diagnostic {
            origin: origin.to_string(),
            line: e.pos.line,
            column: e.pos.column,
            rule_id: None,
            title: None,
            kind: DiagnosticKind::Error,
            message: format!("invalid YAML: {}", e.message),
        });
    }
    ParsedSource {
        rules,
        diagnostics: diags,
        failed,
    }
}

fn doc_diag(origin: &str, pos: Pos, message: String) -> Diagnostic {
    Diagnostic {
        origin: origin.to_string(),
        line: pos.line,
        column: pos.column,
        rule_id: None,
        title: None,
        kind: DiagnosticKind::Error,
        message,
    }
}

fn without_key(doc: &Node, key: &str) -> Node {
    let mut d = doc.clone();
    if let NodeKind::Map(m) = &mut d.kind {
        m.retain(|(k, _)| k.as_str() != Some(key));
    }
    d
}

/// Deep-merges `over` onto `base` (maps merge key by key; anything else replaces).
fn merge(base: &Node, over: &Node) -> Node {
    match (&base.kind, &over.kind) {
        (NodeKind::Map(b), NodeKind::Map(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                match out.iter_mut().find(|(bk, _)| bk.as_str() == k.as_str()) {
                    Some((_, bv)) => *bv = merge(bv, v),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            Node {
                kind: NodeKind::Map(out),
                pos: over.pos,
            }
        }
        _ => over.clone(),
    }
}

struct DocContext<'a> {
    origin: &'a str,
    placeholders: &'a Placeholders,
    diags: Vec<Diagnostic>,
    id: Option<String>,
    title: Option<String>,
    failed: bool,
}

impl DocContext<'_> {
    fn report(&mut self, pos: Pos, kind: DiagnosticKind, message: String) {
        if kind == DiagnosticKind::Error {
            self.failed = true;
        }
        self.diags.push(Diagnostic {
            origin: self.origin.to_string(),
            line: pos.line,
            column: pos.column,
            rule_id: self.id.clone(),
            title: self.title.clone(),
            kind,
            message,
        });
    }

    fn error(&mut self, pos: Pos, message: String) {
        self.report(pos, DiagnosticKind::Error, message);
    }

    fn string(&mut self, doc: &Node, key: &str) -> Option<String> {
        let node = doc.get(key)?;
        match &node.kind {
            NodeKind::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
            NodeKind::Scalar { .. } => None,
            _ => {
                self.error(
                    node.pos,
                    format!("'{key}' must be a string, not a {}", node.kind_name()),
                );
                None
            }
        }
    }

    fn strings(&mut self, doc: &Node, key: &str) -> Vec<String> {
        let Some(node) = doc.get(key) else {
            return Vec::new();
        };
        match &node.kind {
            NodeKind::Seq(items) => {
                let mut out = Vec::new();
                for i in items {
                    match i.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => self.error(i.pos, format!("items of '{key}' must be strings")),
                    }
                }
                out
            }
            NodeKind::Scalar { text, .. } if !node.is_null() => vec![text.clone()],
            NodeKind::Scalar { .. } => Vec::new(),
            NodeKind::Map(_) => {
                self.error(node.pos, format!("'{key}' must be a list, not a map"));
                Vec::new()
            }
        }
    }

    fn rule(&mut self, doc: &Node, failed: &mut Vec<RuleMeta>) -> Option<Rule> {
        self.id = self.string(doc, "id");
        self.title = self.string(doc, "title");
        let title = match self.title.clone() {
            Some(t) => t,
            None => {
                self.error(doc.pos, "missing required 'title'".into());
                String::new()
            }
        };
        let level = match self.string(doc, "level") {
            Some(l) => match Level::parse(&l) {
                Some(level) => Some(level),
                None => {
                    let pos = doc.get("level").map_or(doc.pos, |n| n.pos);
                    self.report(pos, DiagnosticKind::Warning, format!("unknown level '{l}'"));
                    None
                }
            },
            None => None,
        };
        let status = match self.string(doc, "status") {
            Some(s) => match Status::parse(&s) {
                Some(st) => Some(st),
                None => {
                    let pos = doc.get("status").map_or(doc.pos, |n| n.pos);
                    self.report(
                        pos,
                        DiagnosticKind::Warning,
                        format!("unknown status '{s}'"),
                    );
                    None
                }
            },
            None => None,
        };
        let logsource = match doc.get("logsource") {
            Some(ls) if ls.as_map().is_some() => Logsource {
                product: self.string(ls, "product"),
                category: self.string(ls, "category"),
                service: self.string(ls, "service"),
                definition: self.string(ls, "definition"),
            },
            Some(ls) => {
                self.error(
                    ls.pos,
                    format!("'logsource' must be a map, not a {}", ls.kind_name()),
                );
                Logsource::default()
            }
            None => Logsource::default(),
        };
        let meta = RuleMeta {
            id: self.id.clone(),
            name: self.string(doc, "name"),
            title,
            level,
            status,
            author: self.string(doc, "author"),
            description: self.string(doc, "description"),
            tags: self.strings(doc, "tags"),
            references: self.strings(doc, "references"),
            falsepositives: self.strings(doc, "falsepositives"),
            date: self.string(doc, "date"),
            modified: self.string(doc, "modified"),
            fields: self.strings(doc, "fields"),
            logsource,
            origin: self.origin.to_string(),
            line: doc.pos.line,
        };
        let body = if let Some(c) = doc.get("correlation") {
            self.correlation(c).map(RuleBody::Correlation)
        } else if let Some(f) = doc.get("filter") {
            if doc.get("logsource").is_none() {
                self.error(doc.pos, "missing required 'logsource'".into());
            }
            self.filter(f).map(RuleBody::Filter)
        } else if let Some(d) = doc.get("detection") {
            if doc.get("logsource").is_none() {
                self.error(doc.pos, "missing required 'logsource'".into());
            }
            self.detection(d, &[]).map(RuleBody::Detection)
        } else {
            self.error(
                doc.pos,
                "missing required 'detection' (or 'correlation' / 'filter')".into(),
            );
            None
        };
        if self.failed {
            if meta.id.is_some() {
                failed.push(meta);
            }
            return None;
        }
        Some(Rule {
            meta: Arc::new(meta),
            body: body?,
        })
    }

    fn detection(&mut self, d: &Node, skip: &[&str]) -> Option<Detection> {
        let Some(entries) = d.as_map() else {
            self.error(
                d.pos,
                format!("'detection' must be a map, not a {}", d.kind_name()),
            );
            return None;
        };
        let mut searches = Vec::new();
        let mut condition_node = None;
        for (k, v) in entries {
            let Some(name) = k.as_str() else {
                self.error(k.pos, "search identifiers must be strings".into());
                continue;
            };
            if name == "condition" {
                condition_node = Some(v);
                continue;
            }
            if name == "timeframe" {
                self.report(
                    k.pos,
                    DiagnosticKind::Warning,
                    "'timeframe' is deprecated and ignored; use a correlation rule".into(),
                );
                continue;
            }
            if skip.contains(&name) {
                continue;
            }
            if let Some(s) = self.search(name, v) {
                searches.push(s);
            }
        }
        let Some(cn) = condition_node else {
            self.error(d.pos, "missing required 'condition'".into());
            return None;
        };
        let names: Vec<String> = searches.iter().map(|s: &Search| s.name.clone()).collect();
        let texts: Vec<&Node> = match &cn.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            _ => vec![cn],
        };
        let mut conds = Vec::new();
        let mut unresolved = None;
        for t in texts {
            let Some(text) = t.as_str().filter(|_| !t.is_null()) else {
                self.error(t.pos, "a condition must be a string".into());
                continue;
            };
            match parse_condition(text, &names) {
                Ok(c) => conds.push(c),
                Err(e) => {
                    let kind = if e.unsupported {
                        DiagnosticKind::Unsupported
                    } else {
                        DiagnosticKind::Error
                    };
                    // Plain scalars start at their first character: point at the offending token.
                    let column = if matches!(t.kind, NodeKind::Scalar { plain: true, .. }) {
                        t.pos.column + u32::try_from(e.offset).unwrap_or(0)
                    } else {
                        t.pos.column
                    };
                    let pos = Pos {
                        line: t.pos.line,
                        column,
                    };
                    if e.unresolved {
                        unresolved.get_or_insert((
                            pos.line,
                            pos.column,
                            format!("invalid condition: {}", e.message),
                        ));
                        conds.push(Cond::Or(Vec::new()));
                    } else if kind == DiagnosticKind::Unsupported {
                        // A rule we cannot evaluate faithfully is not loaded for matching.
                        self.failed = true;
                        self.diags.push(Diagnostic {
                            origin: self.origin.to_string(),
                            line: pos.line,
                            column: pos.column,
                            rule_id: self.id.clone(),
                            title: self.title.clone(),
                            kind,
                            message: e.message,
                        });
                    } else {
                        self.error(pos, format!("invalid condition: {}", e.message));
                    }
                }
            }
        }
        if conds.is_empty() {
            if !self.failed {
                self.error(cn.pos, "empty condition".into());
            }
            return None;
        }
        let condition = if conds.len() == 1 {
            conds.remove(0)
        } else {
            Cond::Or(conds)
        };
        Some(Detection {
            searches,
            condition,
            unresolved,
        })
    }

    fn search(&mut self, name: &str, v: &Node) -> Option<Search> {
        let mut alternatives = Vec::new();
        let mut problems = Vec::new();
        match &v.kind {
            NodeKind::Map(entries) => {
                if entries.is_empty() {
                    self.error(v.pos, format!("search '{name}' is empty"));
                    return None;
                }
                alternatives.push(self.items(entries, &mut problems)?);
            }
            NodeKind::Seq(items) => {
                if items.is_empty() {
                    self.error(v.pos, format!("search '{name}' is empty"));
                    return None;
                }
                let scalars: Vec<Node> = items
                    .iter()
                    .filter(|i| i.as_str().is_some())
                    .cloned()
                    .collect();
                if !scalars.is_empty() {
                    let list = Node {
                        kind: NodeKind::Seq(scalars),
                        pos: v.pos,
                    };
                    let item = parse_item(None, &list, self.placeholders, &mut problems);
                    self.flush(&mut problems);
                    alternatives.push(vec![item?]);
                }
                for i in items {
                    match &i.kind {
                        NodeKind::Map(entries) => {
                            if entries.is_empty() {
                                self.error(i.pos, format!("empty map in search '{name}'"));
                                return None;
                            }
                            alternatives.push(self.items(entries, &mut problems)?);
                        }
                        NodeKind::Seq(_) => {
                            self.error(i.pos, format!("nested list in search '{name}'"));
                            return None;
                        }
                        NodeKind::Scalar { .. } => {}
                    }
                }
            }
            NodeKind::Scalar { .. } if !v.is_null() => {
                let item = parse_item(None, v, self.placeholders, &mut problems);
                self.flush(&mut problems);
                alternatives.push(vec![item?]);
            }
            NodeKind::Scalar { .. } => {
                self.error(v.pos, format!("search '{name}' is empty"));
                return None;
            }
        }
        Some(Search {
            name: name.to_string(),
            alternatives,
        })
    }

    fn items(
        &mut self,
        entries: &[(Node, Node)],
        problems: &mut Vec<crate::modifiers::ItemProblem>,
    ) -> Option<Vec<crate::rule::Item>> {
        let mut items = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            if k.as_str().is_none() {
                self.error(k.pos, "field names must be strings".into());
                ok = false;
                continue;
            }
            match parse_item(Some(k), v, self.placeholders, problems) {
                Some(i) => items.push(i),
                None => ok = false,
            }
            self.flush(problems);
        }
        ok.then_some(items)
    }

    fn flush(&mut self, problems: &mut Vec<crate::modifiers::ItemProblem>) {
        for p in problems.drain(..) {
            let kind = if p.warning {
                DiagnosticKind::Warning
            } else {
                DiagnosticKind::Error
            };
            self.report(p.pos, kind, p.message);
        }
    }

    fn correlation(&mut self, c: &Node) -> Option<Correlation> {
        if c.as_map().is_none() {
            self.error(
                c.pos,
                format!("'correlation' must be a map, not a {}", c.kind_name()),
            );
            return None;
        }
        let kind = match self.string(c, "type") {
            Some(t) => match CorrelationType::parse(&t) {
                Some(k) => Some(k),
                None => {
                    let pos = c.get("type").map_or(c.pos, |n| n.pos);
                    self.error(pos, format!("unknown correlation type '{t}'"));
                    None
                }
            },
            None => {
                self.error(c.pos, "correlation is missing 'type'".into());
                None
            }
        };
        let rules = self.strings(c, "rules");
        if rules.is_empty() {
            self.error(c.pos, "correlation is missing 'rules'".into());
        }
        let group_by = self.strings(c, "group-by");
        let timespan_secs = match self.string(c, "timespan") {
            Some(t) => match parse_timespan(&t) {
                Some(s) => s,
                None => {
                    let pos = c.get("timespan").map_or(c.pos, |n| n.pos);
                    self.error(
                        pos,
                        format!("invalid timespan '{t}' (expected e.g. 30s, 5m, 1h, 2d)"),
                    );
                    0
                }
            },
            None => {
                self.error(c.pos, "correlation is missing 'timespan'".into());
                0
            }
        };
        let mut condition = Vec::new();
        let mut field = None;
        if let Some(cond) = c.get("condition") {
            match cond.as_map() {
                Some(entries) => {
                    for (k, v) in entries {
                        let op = match k.as_str() {
                            Some("gt") => CorrelationOp::Gt,
                            Some("gte") => CorrelationOp::Gte,
                            Some("lt") => CorrelationOp::Lt,
                            Some("lte") => CorrelationOp::Lte,
                            Some("eq") => CorrelationOp::Eq,
                            Some("neq") => CorrelationOp::Neq,
                            Some("field") => {
                                field = v.as_str().map(str::to_string);
                                continue;
                            }
                            other => {
                                self.error(
                                    k.pos,
                                    format!(
                                        "unknown correlation condition '{}'",
                                        other.unwrap_or("?")
                                    ),
                                );
                                continue;
                            }
                        };
                        match v.as_str().and_then(|s| s.parse::<f64>().ok()) {
                            Some(n) if v.scalar_type() == ScalarType::Number => {
                                condition.push((op, n))
                            }
                            _ => self.error(v.pos, "correlation condition needs a number".into()),
                        }
                    }
                }
                None => self.error(cond.pos, "correlation 'condition' must be a map".into()),
            }
        }
        let kind = kind?;
        if condition.is_empty()
            && !matches!(
                kind,
                CorrelationType::Temporal | CorrelationType::TemporalOrdered
            )
        {
            self.error(c.pos, "correlation is missing 'condition'".into());
        }
        let needs_field = matches!(
            kind,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        );
        if needs_field && field.is_none() {
            self.error(
                c.pos,
                "this correlation type needs 'condition.field'".into(),
            );
        }
        let mut aliases = Vec::new();
        if let Some(a) = c.get("aliases").and_then(Node::as_map) {
            for (alias, m) in a {
                let mut per_rule = Vec::new();
                for (r, f) in m.as_map().unwrap_or(&[]) {
                    if let (Some(r), Some(f)) = (r.as_str(), f.as_str()) {
                        per_rule.push((r.to_string(), f.to_string()));
                    }
                }
                aliases.push((alias.as_str().unwrap_or_default().to_string(), per_rule));
            }
        }
        let generate = matches!(
            c.get("generate").map(Node::scalar_type),
            Some(ScalarType::Bool(true))
        );
        Some(Correlation {
            kind,
            rules,
            group_by,
            timespan_secs,
            condition,
            field,
            aliases,
            generate,
        })
    }

    fn filter(&mut self, f: &Node) -> Option<Filter> {
        if f.as_map().is_none() {
            self.error(
                f.pos,
                format!("'filter' must be a map, not a {}", f.kind_name()),
            );
            return None;
        }
        let rules = self.strings(f, "rules");
        if rules.is_empty() {
            self.error(f.pos, "filter is missing 'rules'".into());
        }
        let detection = self.detection(f, &["rules"])?;
        Some(Filter { rules, detection })
    }
}

fn parse_timespan(t: &str) -> Option<u64> {
    let t = t.trim();
    let unit = t.chars().last()?;
    let n: u64 = t[..t.len() - unit.len_utf8()].parse().ok()?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        'M' => 2_592_000,
        'y' => 31_536_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: T\nid: 1\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel\nlevel: high\nauthor: Me\n";

    #[test]
    fn loads_a_rule() {
        let set = RuleSet::load_str(RULE, "a.yml");
        assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
        assert_eq!(set.rules().len(), 1);
        let m = &set.rules()[0].meta;
        assert_eq!(m.level, Some(Level::High));
        assert_eq!(m.author.as_deref(), Some("Me"));
        assert_eq!(m.logsource.category.as_deref(), Some("process_creation"));
    }

    #[test]
    fn unknown_modifier_is_reported_with_position() {
        let text = RULE.replace("endswith", "foo");
        let set = RuleSet::load_str(&text, "a.yml");
        assert_eq!(set.rules().len(), 0);
        let d = &set.diagnostics()[0];
        assert_eq!(
            d.to_string(),
            "a.yml:8:9: error: unknown modifier 'foo' in rule 1 (T)"
        );
    }

    #[test]
    fn broken_document_does_not_stop_others() {
        let text = format!(
            "{}---\ntitle: broken\n---\n{}",
            RULE,
            RULE.replace("id: 1", "id: 2")
        );
        let set = RuleSet::load_str(&text, "m.yml");
        assert_eq!(set.rules().len(), 2);
        assert_eq!(set.diagnostics().len(), 1);
        assert!(set.diagnostics()[0].message.contains("detection"));
    }

    #[test]
    fn duplicate_ids_name_both_places() {
        let mut set = RuleSet::new();
        set.add_str(RULE, "a.yml");
        set.add_str(RULE, "b.yml");
        assert_eq!(set.rules().len(), 1);
        let d = &set.diagnostics()[0];
        assert!(d.is_error());
        assert!(d.to_string().starts_with("b.yml:1"), "{d}");
        assert!(d.message.contains("a.yml:1"), "{d}");
    }

    #[test]
    fn global_action_merges() {
        let text = "action: global\ntitle: G\nlogsource:\n    product: windows\ndetection:\n    condition: sel\n---\nid: a\ndetection:\n    sel:\n        x: 1\n---\nid: b\ndetection:\n    sel:\n        x: 2\n";
        let set = RuleSet::load_str(text, "g.yml");
        assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
        assert_eq!(set.rules().len(), 2);
        assert_eq!(set.rules()[1].meta.title, "G");
    }

    #[test]
    fn aggregation_is_unsupported_not_error() {
        let text = RULE.replace("condition: sel", "condition: sel | count() by x > 3");
        let set = RuleSet::load_str(&text, "a.yml");
        assert_eq!(set.rules().len(), 0);
        assert_eq!(set.diagnostics()[0].kind, DiagnosticKind::Unsupported);
    }
}
