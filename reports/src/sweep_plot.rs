//! The plots of a sweep: for each parameter combination, the distribution
//! of one figure over its seeds — every run a dot, a box from p25 to p75,
//! whiskers from p5 to p95 and a bar at the median.

use crate::plot::{font, quantile, DrawResult, FAIL, MASTER, P50};
use crate::sweep::{Sweep, SweepRow};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One of a sweep report's plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepPlot {
    /// Client-visible downtime.
    Downtime,
    /// Failed requests.
    Failed,
    /// Fault to VIP move.
    VipMove,
}

impl SweepPlot {
    /// Every sweep plot, in report order.
    pub const ALL: [Self; 3] = [Self::Downtime, Self::Failed, Self::VipMove];

    /// File stem.
    pub fn stem(self) -> &'static str {
        match self {
            Self::Downtime => "sweep-downtime",
            Self::Failed => "sweep-failed",
            Self::VipMove => "sweep-vip-move",
        }
    }

    /// Title, also on the plot.
    pub fn title(self) -> &'static str {
        match self {
            Self::Downtime => "Client downtime per parameter combination",
            Self::Failed => "Failed requests per parameter combination",
            Self::VipMove => "Fault to VIP move per parameter combination",
        }
    }

    fn axis(self) -> &'static str {
        match self {
            Self::Downtime => "client downtime (s)",
            Self::Failed => "failed requests",
            Self::VipMove => "fault to VIP move (s)",
        }
    }

    fn color(self) -> RGBColor {
        match self {
            Self::Downtime => FAIL,
            Self::Failed => P50,
            Self::VipMove => MASTER,
        }
    }

    /// The figure this plot shows, when the run has it.
    pub fn value(self, row: &SweepRow) -> Option<f64> {
        match self {
            Self::Downtime => Some(row.client_downtime_s),
            Self::Failed => Some(row.failed_requests as f64),
            Self::VipMove => row.vip_move_s,
        }
    }
}

/// Renders the sweep plots that have data into `dir`; returns those written.
pub fn render_sweep(
    sweep: &Sweep,
    dir: &Path,
) -> Result<Vec<SweepPlot>, Box<dyn std::error::Error>> {
    font();
    let width = (200 + 150 * sweep.combinations().len()).clamp(700, 1600) as u32;
    let mut done = Vec::new();
    for plot in SweepPlot::ALL {
        if !sweep.rows.iter().any(|r| plot.value(r).is_some()) {
            continue;
        }
        let png = dir.join(format!("{}.png", plot.stem()));
        draw(
            plot,
            sweep,
            &BitMapBackend::new(&png, (width, 440)).into_drawing_area(),
        )?;
        let svg = dir.join(format!("{}.svg", plot.stem()));
        draw(
            plot,
            sweep,
            &SVGBackend::new(&svg, (width, 440)).into_drawing_area(),
        )?;
        done.push(plot);
    }
    Ok(done)
}

fn draw<DB: DrawingBackend>(
    plot: SweepPlot,
    sweep: &Sweep,
    area: &DrawingArea<DB, Shift>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let combos = sweep.combinations();
    let labels: Vec<String> = combos.iter().map(|(v, _)| sweep.label(v)).collect();
    let columns: Vec<Vec<f64>> = combos
        .iter()
        .map(|(_, rows)| {
            let mut v: Vec<f64> = rows.iter().filter_map(|r| plot.value(r)).collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    let top = columns
        .iter()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;
    let n = combos.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(plot.title(), ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..(n - 0.5), 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(combos.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            let label = (i >= 0.0 && (x - i).abs() < 0.01)
                .then(|| labels.get(i as usize))
                .flatten();
            label.cloned().unwrap_or_default()
        })
        .y_desc(plot.axis())
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let color = plot.color();
    for (i, v) in columns.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
        let x = i as f64;
        // Dots spread across the column by a fixed low-discrepancy offset.
        chart.draw_series(v.iter().enumerate().map(|(k, y)| {
            let dx = ((k as f64 * 0.618_034) % 1.0 - 0.5) * 0.5;
            Circle::new((x + dx, *y), 2, color.mix(0.35).filled())
        }))?;
        let (p5, p25, p50, p75, p95) = (
            quantile(v, 0.05),
            quantile(v, 0.25),
            quantile(v, 0.5),
            quantile(v, 0.75),
            quantile(v, 0.95),
        );
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, p5), (x, p95)],
            BLACK.stroke_width(1),
        )))?;
        for y in [p5, p95] {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.08, y), (x + 0.08, y)],
                BLACK.stroke_width(1),
            )))?;
        }
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.2, p25), (x + 0.2, p75)],
            BLACK.stroke_width(1),
        )))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x - 0.2, p50), (x + 0.2, p50)],
            BLACK.stroke_width(3),
        )))?;
    }
    area.present()?;
    Ok(())
}
