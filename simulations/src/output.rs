//! Tables for the terminal, CSV files and SVG charts.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::scenarios::Outcome;

fn figure(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else if value.is_infinite() {
        "never".into()
    } else if value.fract() == 0.0 && value.abs() < 1e9 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// The scenario as a Markdown table (readable in a terminal and in the README).
pub fn table(outcome: &Outcome) -> String {
    let mut out = format!(
        "{}\n\n| metric | Vouch | SpamCop-style | global trust | target | result |\n|---|---:|---:|---:|---|---|\n",
        outcome.title
    );
    for row in &outcome.rows {
        let result = match row.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.metric,
            figure(row.vouch),
            figure(row.baseline),
            figure(row.global),
            row.target,
            result
        );
    }
    out
}

/// Writes `<dir>/<name>.csv`, and `<dir>/<name>-curves.csv` when the
/// scenario draws operating curves.
pub fn csv(outcome: &Outcome, dir: &Path) -> std::io::Result<()> {
    if !outcome.curves.is_empty() {
        let mut out = String::from("judge,legit_blocked_pct,spam_stopped_pct,threshold\n");
        for curve in &outcome.curves {
            for (legit, spam, threshold) in &curve.points {
                let _ = writeln!(out, "{},{legit},{spam},{threshold}", curve.name);
            }
        }
        std::fs::write(dir.join(format!("{}-curves.csv", outcome.name)), out)?;
    }
    let mut out = String::from("metric,vouch,spamcop,global,target,pass\n");
    for row in &outcome.rows {
        let pass = row.pass.map_or(String::new(), |p| p.to_string());
        let _ = writeln!(
            out,
            "\"{}\",{},{},{},\"{}\",{}",
            row.metric.replace('"', "'"),
            row.vouch,
            row.baseline,
            row.global,
            row.target,
            pass
        );
    }
    std::fs::write(dir.join(format!("{}.csv", outcome.name)), out)
}

/// Writes `<dir>/<name>.svg`: Vouch against the baselines for every row
/// measured in percent; and `<dir>/<name>-curves.svg`, the operating
/// curves, when the scenario draws them.
pub fn chart(outcome: &Outcome, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    if !outcome.curves.is_empty() {
        curves(outcome, dir)?;
    }
    let rows: Vec<_> = outcome
        .rows
        .iter()
        .filter(|r| r.metric.contains("(%)") && r.vouch.is_finite())
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let path = dir.join(format!("{}.svg", outcome.name));
    let root = SVGBackend::new(&path, (900, 120 + 60 * rows.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(outcome.title, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(20)
        .build_cartesian_2d(0.0..100.0, 0.0..rows.len() as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc("percent")
        .draw()?;
    for (i, row) in rows.iter().enumerate() {
        let y = rows.len() as f64 - i as f64 - 1.0;
        let bar = |v: f64| {
            if v.is_finite() {
                v.clamp(0.0, 100.0)
            } else {
                0.0
            }
        };
        chart.draw_series([
            Rectangle::new([(0.0, y + 0.6), (bar(row.vouch), y + 0.85)], BLUE.filled()),
            Rectangle::new(
                [(0.0, y + 0.35), (bar(row.baseline), y + 0.6)],
                RED.mix(0.6).filled(),
            ),
            Rectangle::new(
                [(0.0, y + 0.1), (bar(row.global), y + 0.35)],
                GREEN.mix(0.6).filled(),
            ),
        ])?;
        chart.draw_series([Text::new(
            row.metric.clone(),
            (1.0, y + 0.95),
            ("sans-serif", 13),
        )])?;
    }
    chart
        .draw_series([Rectangle::new([(70.0, 0.05), (72.0, 0.1)], BLUE.filled())])?
        .label("Vouch")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], BLUE.filled()));
    chart
        .draw_series([Rectangle::new(
            [(70.0, 0.05), (72.0, 0.1)],
            RED.mix(0.6).filled(),
        )])?
        .label("SpamCop-style")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], RED.mix(0.6).filled()));
    chart
        .draw_series([Rectangle::new(
            [(70.0, 0.05), (72.0, 0.1)],
            GREEN.mix(0.6).filled(),
        )])?
        .label("global trust")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], GREEN.mix(0.6).filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The widest share of legitimate senders blocked the curves chart shows:
/// beyond a few percent no list is usable, and the interesting part is
/// near zero.
const CURVE_MAX_LEGIT_PERCENT: f64 = 5.0;

/// Spam stopped against legitimate senders blocked, one line per baseline
/// as its threshold moves, and Vouch's operating point.
fn curves(outcome: &Outcome, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let path = dir.join(format!("{}-curves.svg", outcome.name));
    let root = SVGBackend::new(&path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_legit = outcome
        .curves
        .iter()
        .flat_map(|c| &c.points)
        .map(|p| p.0)
        .filter(|x| x.is_finite())
        .fold(1.0f64, f64::max)
        .min(CURVE_MAX_LEGIT_PERCENT);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Spam messages stopped against legitimate senders blocked",
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..max_legit, 0.0..100.0)?;
    chart
        .configure_mesh()
        .x_desc("legitimate senders blocked at any moment (%)")
        .y_desc("spam messages stopped (%)")
        .draw()?;
    let colours = [RED.mix(0.8), GREEN.mix(0.8)];
    for (curve, colour) in outcome
        .curves
        .iter()
        .filter(|c| c.points.len() > 1)
        .zip(colours)
    {
        let mut points: Vec<(f64, f64)> = curve
            .points
            .iter()
            .filter(|p| p.0 <= max_legit)
            .map(|p| (p.0, p.1))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(curve.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
    }
    for curve in outcome.curves.iter().filter(|c| c.points.len() == 1) {
        chart
            .draw_series(
                curve
                    .points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), 6, BLUE.filled())),
            )?
            .label(curve.name)
            .legend(|(x, y)| Circle::new((x + 8, y), 5, BLUE.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
