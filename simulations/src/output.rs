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
        "{}\n\n| metric | Vouch | blocklist baseline | target | result |\n|---|---:|---:|---|---|\n",
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
            "| {} | {} | {} | {} | {} |",
            row.metric,
            figure(row.vouch),
            figure(row.baseline),
            row.target,
            result
        );
    }
    out
}

/// Writes `<dir>/<name>.csv`.
pub fn csv(outcome: &Outcome, dir: &Path) -> std::io::Result<()> {
    let mut out = String::from("metric,vouch,baseline,target,pass\n");
    for row in &outcome.rows {
        let pass = row.pass.map_or(String::new(), |p| p.to_string());
        let _ = writeln!(
            out,
            "\"{}\",{},{},\"{}\",{}",
            row.metric.replace('"', "'"),
            row.vouch,
            row.baseline,
            row.target,
            pass
        );
    }
    std::fs::write(dir.join(format!("{}.csv", outcome.name)), out)
}

/// Writes `<dir>/<name>.svg`: Vouch against the baseline for every row
/// measured in percent.
pub fn chart(outcome: &Outcome, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
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
        let baseline = if row.baseline.is_finite() {
            row.baseline
        } else {
            0.0
        };
        chart.draw_series([
            Rectangle::new(
                [(0.0, y + 0.55), (row.vouch.clamp(0.0, 100.0), y + 0.85)],
                BLUE.filled(),
            ),
            Rectangle::new(
                [(0.0, y + 0.2), (baseline.clamp(0.0, 100.0), y + 0.5)],
                RED.mix(0.6).filled(),
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
        .label("blocklist baseline")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], RED.mix(0.6).filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
