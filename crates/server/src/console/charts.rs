//! Charts drawn on the server as SVG: no chart library in the browser, no
//! inline style (colours come from the style sheet by class), and a table
//! of the same figures for screen readers and for reading exact numbers.

use std::fmt::Write as _;

use maud::{Markup, PreEscaped, html};

/// One series of a stacked bar chart: a label and one value per bar.
#[derive(Debug, Clone)]
pub struct Series {
    /// What the series counts (e.g. a sector's name).
    pub label: String,
    /// One value per bar, in the order of the bar labels.
    pub values: Vec<u64>,
}

const WIDTH: u32 = 720;
const HEIGHT: u32 = 240;
const LEFT: u32 = 44;
const BOTTOM: u32 = 24;
const TOP: u32 = 8;
/// Colours cycle through this many classes (`series-0` ...).
const PALETTE: usize = 8;

/// A stacked bar chart of `series` over `bars` (their labels), titled `title`,
/// with a table of the figures after it.
pub fn stacked_bars(id: &str, title: &str, bars: &[String], series: &[Series]) -> Markup {
    let totals: Vec<u64> = (0..bars.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let plot_width = WIDTH - LEFT - 4;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let slot = f64::from(plot_width) / bars.len().max(1) as f64;
    let bar_width = (slot * 0.8).max(1.0);
    let mut svg = String::new();
    let scale = |value: u64| value as f64 / max as f64 * f64::from(plot_height);
    // Axes and the top figure.
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y}"/><line class="axis" x1="{LEFT}" y1="{y}" x2="{x}" y2="{y}"/><text x="{tx}" y="{ty}" text-anchor="end">{max}</text><text x="{tx}" y="{y}" text-anchor="end">0</text>"#,
        y = TOP + plot_height,
        x = WIDTH - 4,
        tx = LEFT - 4,
        ty = TOP + 10,
    );
    for (i, label) in bars.iter().enumerate() {
        let x = f64::from(LEFT) + slot * i as f64 + (slot - bar_width) / 2.0;
        let mut base = f64::from(TOP + plot_height);
        for (n, one) in series.iter().enumerate() {
            let value = one.values.get(i).copied().unwrap_or(0);
            if value == 0 {
                continue;
            }
            let h = scale(value);
            base -= h;
            let _ = write!(
                svg,
                r#"<rect class="series-{}" x="{x:.1}" y="{base:.1}" width="{bar_width:.1}" height="{h:.1}"><title>{}: {}, {}</title></rect>"#,
                n % PALETTE,
                escape(label),
                escape(&one.label),
                value
            );
        }
        // Every third label, so they do not overlap at 24 bars.
        if i % 3 == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x + bar_width / 2.0,
                HEIGHT - 6,
                escape(label)
            );
        }
    }
    let title_id = format!("{id}-title");
    html! {
        figure {
            svg.chart #(id) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-labelledby=(title_id) {
                title #(title_id) { (title) }
                (PreEscaped(svg))
            }
            ul.legend {
                @for (n, one) in series.iter().enumerate() {
                    li { span class=(format!("swatch series-{}", n % PALETTE)) aria-hidden="true" {} (one.label) }
                }
            }
            details {
                summary { (title) }
                div.table-wrap tabindex="0" {
                    table {
                        thead { tr { th scope="col" { "" } @for one in series { th scope="col" { (one.label) } } } }
                        tbody {
                            @for (i, label) in bars.iter().enumerate() {
                                tr {
                                    th scope="row" { (label) }
                                    @for one in series { td { (one.values.get(i).copied().unwrap_or(0)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Text made safe inside SVG markup written by hand.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_drawn_to_scale_and_labels_are_escaped() {
        let bars = vec!["00".to_owned(), "01".to_owned()];
        let series = vec![
            Series {
                label: "<Banking>".to_owned(),
                values: vec![2, 0],
            },
            Series {
                label: "Telecom".to_owned(),
                values: vec![2, 1],
            },
        ];
        let html = stacked_bars("c", "Events", &bars, &series).into_string();
        // The tallest bar (4) fills the plot: two rects of half its height each.
        assert!(html.contains(r#"height="104.0""#), "{html}");
        assert!(html.contains("&lt;Banking&gt;"), "{html}");
        assert!(!html.contains("<Banking>"), "{html}");
        // Zero values draw nothing: three rects for three non-zero values.
        assert_eq!(html.matches("<rect").count(), 3, "{html}");
    }
}
