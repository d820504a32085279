//! The latency-percentile plot: x = percentile on a "nines" axis, y = ns on
//! a log scale, one line per peer; full speed and paced side by side.

use std::path::Path;

use std::ops::Range;

use plotters::coord::combinators::IntoLogRange;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;

use crate::harness::QUANTILES;

/// One panel: a title and, per peer, the latency at each of [`QUANTILES`].
pub struct Panel {
    pub title: String,
    pub lines: Vec<(String, [f64; 6])>,
}

const COLORS: [RGBColor; 10] = [
    RGBColor(0, 0, 0),
    RGBColor(140, 140, 140),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// The x axis: "nines" (p50 at 0.3, p90 at 1, p99 at 2, …) with one key
/// point per reported percentile.
struct Nines;

const X_RANGE: Range<f64> = 0.0..5.3;

impl Ranged for Nines {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - X_RANGE.start) / (X_RANGE.end - X_RANGE.start);
        limit.0 + (t * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        QUANTILES.iter().map(|&q| nines(q)).collect()
    }

    fn range(&self) -> Range<f64> {
        X_RANGE
    }
}

/// `0.999` → 3 ("nines").
fn nines(q: f64) -> f64 {
    -(1.0 - q).log10()
}

fn percent_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-*x));
    let s = format!("{p:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("p{s}")
}

fn ns_label(y: &f64) -> String {
    match *y {
        y if y >= 1e6 => format!("{} ms", y / 1e6),
        y if y >= 1e3 => format!("{} µs", y / 1e3),
        y => format!("{y} ns"),
    }
}

/// Writes the panels side by side into one SVG.
pub fn write(path: &Path, panels: &[Panel]) -> Result<(), Box<dyn std::error::Error>> {
    let width = 760 * panels.len().max(1) as u32;
    let root = SVGBackend::new(path, (width, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    let all = panels.iter().flat_map(|p| p.lines.iter().flat_map(|(_, v)| v.iter().copied()));
    let top = all.fold(10.0f64, f64::max);
    let y_max = 10f64.powf(top.log10().ceil());
    for (area, panel) in areas.iter().zip(panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(Nines, (1f64..y_max).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("caller latency (log scale)")
            .x_label_formatter(&percent_label)
            .y_label_formatter(&ns_label)
            .draw()?;
        for (i, (peer, v)) in panel.lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64)> = QUANTILES.iter().zip(v).map(|(&q, &ns)| (nines(q), ns.max(1.0))).collect();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)).point_size(3))?
                .label(peer.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
