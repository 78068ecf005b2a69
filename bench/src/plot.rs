//! The timeline plot: each echo reply the client got, as a tick on a row per agent and
//! timer, around the failure (t = 0). A gap in a row is the outage.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// Where the glyphs come from (Debian: fonts-dejavu-core).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Makes the system font known to plotters (once).
fn font() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let bytes =
            std::fs::read(FONT).map_err(|e| format!("{FONT}: {e} (install fonts-dejavu-core)"))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{FONT} is not a font plotters can read"))
    })
    .clone()
}

/// One row: its label and the reply times (seconds from the failure).
pub struct Row {
    pub label: String,
    pub replies: Vec<f64>,
}

/// Draws `rows` between `from` and `to` seconds into a PNG at `path`.
pub fn timeline(path: &Path, title: &str, rows: &[Row], from: f64, to: f64) -> Result<(), String> {
    font()?;
    let err = |e: &dyn std::fmt::Display| format!("plotting {}: {e}", path.display());
    let height = 90 + 40 * rows.len() as u32;
    let root = BitMapBackend::new(path, (1200, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let n = rows.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(230)
        .build_cartesian_2d(from..to, 0.0..n)
        .map_err(|e| err(&e))?;
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len() * 2 + 1)
        .y_label_formatter(&|y| {
            // Rows are drawn top to bottom; a row's label sits at its middle.
            let k = (n - y - 0.5).round();
            if ((n - y - 0.5) - k).abs() < 0.01 && k >= 0.0 {
                labels.get(k as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("seconds from the failure (each tick: an echo reply; ping every 5 ms)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| err(&e))?;
    for (i, row) in rows.iter().enumerate() {
        let y = n - i as f64 - 1.0;
        let colour = if row.label.starts_with("vipd") {
            BLUE
        } else {
            RED
        };
        chart
            .draw_series(
                row.replies
                    .iter()
                    .filter(|t| **t >= from && **t <= to)
                    .map(|t| {
                        Rectangle::new([(*t, y + 0.2), (*t + 0.002, y + 0.8)], colour.filled())
                    }),
            )
            .map_err(|e| err(&e))?;
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (0.0, n)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
