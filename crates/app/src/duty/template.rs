//! Message templates administrators edit: plain text with `{{name}}`
//! placeholders and nothing else — no expressions, loops or calls, so a
//! template can never run code. An unknown placeholder is refused when the
//! template is saved, not when a page goes out at night.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AppError, AppResult};

/// The placeholders a page's message may use.
pub const PAGE_VARIABLES: &[&str] = &[
    "title",
    "severity",
    "tenant",
    "source",
    "link",
    "ack_link",
    "rsit_class",
    "recipient",
    "step",
    "tlp",
];

/// Longest template, in characters.
const MAX_TEMPLATE_CHARS: usize = 8_000;

/// The subject and body of a page's e-mail (and the text of its webhook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTemplates {
    /// The subject (the TLP label is put in front of it, always).
    pub subject: String,
    /// The body.
    pub body: String,
}

impl Default for MessageTemplates {
    fn default() -> Self {
        Self {
            subject: "{{severity}}: {{title}}".into(),
            body: "{{title}}\n\nTenant: {{tenant}}\nSeverity: {{severity}}\nRaised by: {{source}}\nDetails: {{link}}\n\nYou are paged as step {{step}} of the escalation.\nAcknowledge (stops the escalation): {{ack_link}}\n".into(),
        }
    }
}

impl MessageTemplates {
    /// Refuses templates with unknown placeholders, broken braces or a
    /// line break in the subject; names the template and the problem.
    pub fn check(&self) -> AppResult<()> {
        check("templates.subject", &self.subject, PAGE_VARIABLES)?;
        check("templates.body", &self.body, PAGE_VARIABLES)?;
        if self.subject.contains(['\r', '\n']) {
            return Err(AppError::Invalid(
                "templates.subject: a subject is one line".into(),
            ));
        }
        Ok(())
    }
}

/// The pieces of a template: text and placeholders.
enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

fn pieces<'a>(field: &str, template: &'a str) -> AppResult<Vec<Piece<'a>>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            AppError::Invalid(format!(
                "{field}: `{{{{` at character {} is never closed by `}}}}`",
                template.len() - rest.len() + open
            ))
        })?;
        out.push(Piece::Variable(after[..close].trim()));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err(AppError::Invalid(format!(
            "{field}: `}}}}` without an opening `{{{{`"
        )));
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Refuses a template longer than allowed, with broken braces or naming a
/// placeholder outside `known`.
pub fn check(field: &str, template: &str, known: &[&str]) -> AppResult<()> {
    if template.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(AppError::Invalid(format!(
            "{field}: at most {MAX_TEMPLATE_CHARS} characters"
        )));
    }
    for piece in pieces(field, template)? {
        if let Piece::Variable(name) = piece
            && !known.contains(&name)
        {
            return Err(AppError::Invalid(format!(
                "{field}: unknown placeholder {{{{{name}}}}}; known: {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Fills a checked template: each `{{name}}` becomes its value, verbatim
/// (values are never read as templates themselves).
pub fn render(template: &str, values: &BTreeMap<&str, String>) -> AppResult<String> {
    let mut out = String::with_capacity(template.len() + 64);
    for piece in pieces("template", template)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Variable(name) => {
                out.push_str(values.get(name).ok_or_else(|| {
                    AppError::Invalid(format!("template: unknown {{{{{name}}}}}"))
                })?)
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_verbatim() {
        let values = BTreeMap::from([("title", "{{severity}} <b>".to_owned())]);
        assert_eq!(
            render("Alert: {{ title }}!", &values).unwrap(),
            "Alert: {{severity}} <b>!"
        );
    }

    #[test]
    fn unknown_and_broken_placeholders_are_refused_at_save() {
        let unknown = check("t", "hi {{password}}", PAGE_VARIABLES).unwrap_err();
        assert!(unknown.to_string().contains("{{password}}"), "{unknown}");
        assert!(check("t", "hi {{title", PAGE_VARIABLES).is_err());
        assert!(check("t", "hi title}}", PAGE_VARIABLES).is_err());
        assert!(check("t", "{{title}} {{ack_link}}", PAGE_VARIABLES).is_ok());
        assert!(MessageTemplates::default().check().is_ok());
        let two_lines = MessageTemplates {
            subject: "a\nb".into(),
            ..MessageTemplates::default()
        };
        assert!(two_lines.check().is_err());
    }
}
