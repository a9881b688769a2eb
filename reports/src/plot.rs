//! The plots of a run, each as PNG and SVG from one drawing function:
//! latency over time (failover windows shaded, faults marked, failed
//! requests crossed), VRRP state lanes per node, the latency CDF before /
//! during / after failovers, and requests per server over time.

use crate::run::Run;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::Once;

/// One of the plots a report holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plot {
    /// Latency over time.
    Latency,
    /// VRRP state per node and instance.
    Vrrp,
    /// Latency distribution.
    Cdf,
    /// Requests per server.
    Servers,
    /// The `k`-th failover, zoomed (0-based; `summary.json`'s order).
    Failover(usize),
}

impl Plot {
    /// File stem (`latency` → `latency.png`, `latency.svg`).
    pub fn stem(self) -> String {
        match self {
            Self::Latency => "latency".into(),
            Self::Vrrp => "vrrp".into(),
            Self::Cdf => "latency-cdf".into(),
            Self::Servers => "servers".into(),
            Self::Failover(k) => format!("failover-{}", k + 1),
        }
    }

    /// Title for the HTML report.
    pub fn title(self) -> String {
        match self {
            Self::Latency => "Latency over time".into(),
            Self::Vrrp => "VRRP state of each node".into(),
            Self::Cdf => "Latency distribution before, during and after failovers".into(),
            Self::Servers => "Requests per server".into(),
            Self::Failover(k) => format!("Failover {}, zoomed", k + 1),
        }
    }

    /// Width of the room left of the axis for its labels, in pixels.
    fn y_label_area(self) -> u32 {
        match self {
            Self::Vrrp | Self::Failover(_) => crate::zoom::Y_LABELS_PX,
            Self::Cdf => 50,
            _ => 60,
        }
    }

    /// Width of the time axis, in pixels.
    fn axis_px(self) -> u32 {
        self.width() - 2 * MARGIN - self.y_label_area()
    }

    /// Width in pixels.
    fn width(self) -> u32 {
        match self {
            Self::Cdf => 760,
            _ => 1000,
        }
    }

    /// Pixel size.
    fn size(self, run: &Run) -> (u32, u32) {
        if let Self::Failover(k) = self {
            if let Some(zoom) = crate::zoom::zooms(run).get(k) {
                return crate::zoom::size(run, zoom);
            }
        }
        let height = match self {
            Self::Vrrp => 122 + LANE_PX * lanes(run).len().max(1) as u32 + label_room_px(run),
            Self::Cdf => 460,
            _ => 420,
        };
        (self.width(), height)
    }
}

/// Margin around every chart, in pixels.
pub(crate) const MARGIN: u32 = 12;

pub(crate) type DrawResult = Result<(), Box<dyn std::error::Error>>;

static FONT: Once = Once::new();

/// Registers the embedded font once; text needs no system fonts.
pub(crate) fn font() {
    FONT.call_once(|| {
        // A font that fails to load shows as missing labels, which tests catch.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Renders every plot the run has data for into `dir` (PNG and SVG);
/// returns those written.
pub fn render_all(run: &Run, dir: &Path) -> Result<Vec<Plot>, Box<dyn std::error::Error>> {
    font();
    let mut done = Vec::new();
    let zoomed = (0..crate::zoom::zooms(run).len()).map(Plot::Failover);
    for plot in [Plot::Latency, Plot::Vrrp, Plot::Cdf, Plot::Servers]
        .into_iter()
        .chain(zoomed)
    {
        let has_data = match plot {
            Plot::Vrrp | Plot::Failover(_) => !lanes(run).is_empty(),
            _ => run.requests.iter().any(|r| !r.failed()),
        };
        if !has_data {
            continue;
        }
        let size = plot.size(run);
        let png = dir.join(format!("{}.png", plot.stem()));
        draw(
            plot,
            run,
            BitMapBackend::new(&png, size).into_drawing_area(),
        )?;
        let svg = dir.join(format!("{}.svg", plot.stem()));
        draw(plot, run, SVGBackend::new(&svg, size).into_drawing_area())?;
        done.push(plot);
    }
    Ok(done)
}

fn draw<DB: DrawingBackend>(plot: Plot, run: &Run, area: DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    match plot {
        Plot::Latency => latency(run, &area)?,
        Plot::Vrrp => vrrp(run, &area)?,
        Plot::Cdf => cdf(run, &area)?,
        Plot::Servers => servers(run, &area)?,
        Plot::Failover(k) => {
            if let Some(zoom) = crate::zoom::zooms(run).get(k) {
                crate::zoom::draw(run, zoom, &area)?;
            }
        }
    }
    area.present()?;
    Ok(())
}

pub(crate) const FAIL: RGBColor = RGBColor(200, 30, 30);
const SHADE: RGBColor = RGBColor(255, 215, 210);
pub(crate) const P50: RGBColor = RGBColor(40, 90, 200);
const P99: RGBColor = RGBColor(240, 140, 20);
const MAX: RGBColor = RGBColor(150, 150, 150);
pub(crate) const MASTER: RGBColor = RGBColor(40, 160, 70);
/// Distinct, print-safe colours for one line per server.
const SERIES: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// A chart with time on x and a number on y.
pub(crate) type TimeChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws a vertical line at each fault across `y0..y1`; with `labels`,
/// names it at the top as that plot places its labels
/// ([`fault_labels`]).
fn mark_faults<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    run: &Run,
    (y0, y1): (f64, f64),
    labels: Option<Plot>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let faults = run.faults();
    let placed = labels
        .map(|plot| fault_labels(plot, run))
        .unwrap_or_default();
    for (k, (t, label)) in faults.into_iter().enumerate() {
        chart.draw_series(LineSeries::new(
            vec![(t, y0), (t, y1)],
            BLACK.stroke_width(1),
        ))?;
        if let Some(at) = placed.get(k) {
            let y = y1 - per_px(chart, y1 - y0) * (3.0 + ROW_PX * at.row as f64);
            chart.draw_series(std::iter::once(Text::new(
                format!(" {label}"),
                (at.start, y),
                ("sans-serif", 13).into_font(),
            )))?;
        }
    }
    Ok(())
}

/// Marks each VIP move with a dashed green line and "VIP → owner" below
/// the fault labels.
fn mark_vip_moves<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    run: &Run,
    top: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let moves = vip_moves(run);
    let placed = vip_labels(run);
    for ((t, label), at) in moves.into_iter().zip(placed) {
        let y = top * 0.8 - per_px(chart, top) * ROW_PX * at.row as f64;
        chart.draw_series(DashedLineSeries::new(
            vec![(t, 0.0), (t, y)],
            4,
            3,
            MASTER.stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!(" {label}"),
            (at.start, y),
            ("sans-serif", 12).into_font().color(&MASTER),
        )))?;
    }
    Ok(())
}

/// Height of a row of labels, in pixels.
pub(crate) const ROW_PX: f64 = 16.0;

/// Height of a lane of the VRRP plot, in pixels.
pub(crate) const LANE_PX: u32 = 46;

/// How much of the y axis one pixel of `chart` is, on a y span `span`.
pub(crate) fn per_px<DB: DrawingBackend>(chart: &TimeChart<'_, DB>, span: f64) -> f64 {
    span / f64::from(chart.plotting_area().dim_in_pixel().1.max(1))
}

/// Room above the VRRP plot's top lane for its rows of fault labels, in
/// pixels.
fn label_room_px(run: &Run) -> u32 {
    let rows = fault_labels(Plot::Vrrp, run)
        .iter()
        .map(|p| p.row + 1)
        .max()
        .unwrap_or(0);
    rows as u32 * ROW_PX as u32 + 4
}

/// Each VIP move: (time, "instance VIP → owner").
fn vip_moves(run: &Run) -> Vec<(f64, String)> {
    run.vip_moves()
        .into_iter()
        .map(|(t, inst, host)| (t, format!("{inst} VIP \u{2192} {host}")))
        .collect()
}

/// Where `plot` labels the run's faults.
pub fn fault_labels(plot: Plot, run: &Run) -> Vec<Placed> {
    place_labels(&run.faults(), 0.0..run.end(), plot.axis_px())
}

/// Where the latency plot labels the run's VIP moves (below the faults').
pub fn vip_labels(run: &Run) -> Vec<Placed> {
    place_labels(&vip_moves(run), 0.0..run.end(), Plot::Latency.axis_px())
}

/// Width of one character of a label, in pixels (13 px sans-serif).
const CHAR_PX: f64 = 7.5;

/// Where a label goes: the x it starts at, the x it ends at, and its row
/// (0 = top).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// Left edge.
    pub start: f64,
    /// Right edge.
    pub end: f64,
    /// Row, from the top.
    pub row: usize,
}

/// Places labels marking times `labels` (in time order) on an x axis of
/// `range` drawn `px` pixels wide: each starts at its time, or ends there
/// when it would run past the axis, and goes to the first row whose last
/// label has ended, so none overlaps another or leaves the plot.
pub fn place_labels(labels: &[(f64, String)], range: std::ops::Range<f64>, px: u32) -> Vec<Placed> {
    let per_char = (range.end - range.start) * CHAR_PX / f64::from(px.max(1));
    let mut row_ends: Vec<f64> = Vec::new();
    labels
        .iter()
        .map(|(t, label)| {
            let width = (label.chars().count() + 2) as f64 * per_char;
            let start = if t + width > range.end {
                (t - width).max(range.start)
            } else {
                *t
            };
            let end = start + width;
            let row = match row_ends.iter().position(|e| *e <= start) {
                Some(row) => row,
                None => {
                    row_ends.push(f64::NEG_INFINITY);
                    row_ends.len() - 1
                }
            };
            row_ends[row] = end;
            Placed { start, end, row }
        })
        .collect()
}

/// Splits points into runs whose x steps by at most `gap`, so a line does
/// not bridge a stretch with no data.
fn segments(points: &[(f64, f64)], gap: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in points {
        match out.last_mut() {
            Some(seg) if seg.last().is_some_and(|q| p.0 - q.0 <= gap) => seg.push(*p),
            _ => out.push(vec![*p]),
        }
    }
    out
}

/// Draws `points` as a line broken at gaps wider than `gap`, with one
/// legend entry.
fn broken_line<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    points: &[(f64, f64)],
    gap: f64,
    color: RGBColor,
    name: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for seg in segments(points, gap) {
        chart.draw_series(LineSeries::new(seg, color.stroke_width(2)))?;
    }
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    Ok(())
}

/// Value at quantile `p` of sorted, non-empty `v` (nearest rank).
pub(crate) fn quantile(v: &[f64], p: f64) -> f64 {
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

fn latency<DB: DrawingBackend>(run: &Run, area: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let end = run.end();
    // Fine bins, but wide enough to hold a few requests each at the run's rate.
    let rate = run.requests.len() as f64 / end;
    let width = (end / 300.0).max(8.0 / rate).max(0.1);
    let nbins = (end / width).ceil() as usize + 1;
    let mut bins: Vec<Vec<f64>> = vec![Vec::new(); nbins];
    for r in run.requests.iter().filter(|r| !r.failed()) {
        bins[((r.start / width) as usize).min(nbins - 1)].push(r.latency_ms);
    }
    let mut rows = Vec::new();
    for (i, b) in bins.iter_mut().enumerate().filter(|(_, b)| !b.is_empty()) {
        b.sort_by(f64::total_cmp);
        rows.push((
            i as f64 * width + width / 2.0,
            quantile(b, 0.5),
            quantile(b, 0.99),
            b[b.len() - 1],
        ));
    }
    let top = rows.iter().map(|r| r.2).fold(1.0, f64::max) * 1.4;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Latency over time (failover windows shaded)",
            ("sans-serif", 22),
        )
        .margin(MARGIN)
        .x_label_area_size(40)
        .y_label_area_size(Plot::Latency.y_label_area())
        .build_cartesian_2d(0.0..end, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("latency (ms)")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (from, to) in run.failover_windows() {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(from, 0.0), (to, top)],
            SHADE.filled(),
        )))?;
    }
    mark_faults(&mut chart, run, (0.0, top), Some(Plot::Latency))?;
    mark_vip_moves(&mut chart, run, top)?;
    chart
        .draw_series(
            rows.iter()
                .map(|r| Circle::new((r.0, r.3.min(top)), 2, MAX.filled())),
        )?
        .label("max")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, MAX.filled()));
    let gap = width * 1.5;
    broken_line(
        &mut chart,
        &rows.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>(),
        gap,
        P99,
        "p99",
    )?;
    broken_line(
        &mut chart,
        &rows.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        gap,
        P50,
        "p50",
    )?;
    let failed: Vec<f64> = run
        .requests
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.start)
        .collect();
    chart
        .draw_series(
            failed
                .iter()
                .map(|t| Cross::new((*t, top * 0.93), 4, FAIL.stroke_width(2))),
        )?
        .label(format!("failed request ({})", failed.len()))
        .legend(|(x, y)| Cross::new((x + 10, y), 4, FAIL.stroke_width(2)));
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

/// Draws the series legend boxed at `position`.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// (instance, host) lanes in order of appearance.
/// Names each of the `names` lanes (top first, one unit apart down to 0)
/// beside the axis at its centre; `x0` is where the time axis starts.
pub(crate) fn name_lanes<DB: DrawingBackend>(
    chart: &TimeChart<'_, DB>,
    area: &DrawingArea<DB, Shift>,
    names: &[String],
    x0: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = names.len() as f64;
    for (lane, name) in names.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(x0, n - 1.0 - lane as f64));
        area.draw(&Text::new(
            name.as_str(),
            (x - 8, y),
            TextStyle::from(("sans-serif", 13).into_font())
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    Ok(())
}

pub(crate) fn lanes(run: &Run) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in run.timeline.iter().filter(|r| r.event == "state") {
        let key = (r.instance.clone(), r.host.clone());
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out.sort();
    out
}

pub(crate) fn state_color(state: &str) -> RGBColor {
    match state {
        "MASTER" => MASTER,
        "BACKUP" => RGBColor(120, 160, 220),
        "FAULT" => FAIL,
        _ => RGBColor(210, 210, 210),
    }
}

fn vrrp<DB: DrawingBackend>(run: &Run, area: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let end = run.end();
    let lanes = lanes(run);
    let n = lanes.len() as f64;
    let names: Vec<String> = lanes.iter().map(|(i, h)| format!("{i} @ {h}")).collect();
    // Room for the fault labels above the top lane, in lanes.
    let room = f64::from(label_room_px(run)) / f64::from(LANE_PX);
    let (area, legend) = area.split_vertically(area.dim_in_pixel().1 - 28);
    let mut chart = ChartBuilder::on(&area)
        .caption(
            "VRRP state of each node (green: MASTER, owns the VIP)",
            ("sans-serif", 22),
        )
        .margin(MARGIN)
        .x_label_area_size(40)
        .y_label_area_size(Plot::Vrrp.y_label_area())
        .build_cartesian_2d(0.0..end, -0.5..(n - 0.5 + room))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_labels(0)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    name_lanes(&chart, &area, &names, 0.0)?;
    for (lane, (inst, host)) in lanes.iter().enumerate() {
        let states: Vec<(f64, String)> = run
            .timeline
            .iter()
            .filter(|r| r.event == "state" && &r.instance == inst && &r.host == host)
            .map(|r| {
                (
                    r.time,
                    r.detail.split_whitespace().next().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let y = n - 1.0 - lane as f64;
        for (k, (t, s)) in states.iter().enumerate() {
            let t1 = states.get(k + 1).map_or(end, |n| n.0);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(*t, y - 0.32), (t1, y + 0.32)],
                state_color(s).filled(),
            )))?;
        }
    }
    mark_faults(&mut chart, run, (-0.5, n - 0.5 + room), Some(Plot::Vrrp))?;
    for (k, state) in ["MASTER", "BACKUP", "FAULT", "STOP"]
        .into_iter()
        .enumerate()
    {
        let x = 240 + 110 * k as i32;
        legend.draw(&Rectangle::new(
            [(x, 8), (x + 14, 20)],
            state_color(state).filled(),
        ))?;
        legend.draw(&Text::new(
            state,
            (x + 20, 7),
            ("sans-serif", 13).into_font(),
        ))?;
    }
    Ok(())
}

fn cdf<DB: DrawingBackend>(run: &Run, area: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let windows = run.failover_windows();
    let first = windows.first().map_or(f64::INFINITY, |w| w.0);
    let last = windows.last().map_or(f64::INFINITY, |w| w.1);
    let mut groups: [(&str, RGBColor, Vec<f64>); 3] = [
        ("before the first fault", P50, Vec::new()),
        ("during failovers", FAIL, Vec::new()),
        ("after", MASTER, Vec::new()),
    ];
    for r in run.requests.iter().filter(|r| !r.failed()) {
        let g = if r.start < first {
            0
        } else if windows.iter().any(|(a, b)| r.start >= *a && r.start <= *b) {
            1
        } else if r.start > last {
            2
        } else {
            continue;
        };
        groups[g].2.push(r.latency_ms.max(0.001));
    }
    let all: Vec<f64> = groups.iter().flat_map(|g| g.2.iter().copied()).collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min).max(0.001) * 0.8;
    let hi = all.iter().copied().fold(0.0, f64::max).max(lo * 10.0) * 1.2;
    let mut chart = ChartBuilder::on(area)
        .caption("Latency CDF (log scale)", ("sans-serif", 22))
        .margin(MARGIN)
        .x_label_area_size(40)
        .y_label_area_size(Plot::Cdf.y_label_area())
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms)")
        .y_desc("fraction of requests")
        .x_label_formatter(&one_two_five)
        .draw()?;
    for (name, color, mut v) in groups {
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let points: Vec<(f64, f64)> = v
            .iter()
            .enumerate()
            .map(|(i, x)| (*x, (i + 1) as f64 / n))
            .collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(format!("{name} ({})", v.len()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    Ok(())
}

/// Labels a log axis at 1, 2 and 5 times a power of ten only.
fn one_two_five(v: &f64) -> String {
    let mantissa = v / 10f64.powf(v.log10().floor());
    if [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6) {
        format!("{v}")
    } else {
        String::new()
    }
}

fn servers<DB: DrawingBackend>(run: &Run, area: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let end = run.end();
    let width = (end / 120.0).max(0.5);
    let nbins = (end / width).ceil() as usize + 1;
    let mut names: Vec<String> = Vec::new();
    for r in run.requests.iter().filter(|r| r.server != "-") {
        let key = format!("{}/{}", r.backend, r.server);
        if !names.contains(&key) {
            names.push(key);
        }
    }
    names.sort();
    let mut counts = vec![vec![0u32; nbins]; names.len()];
    for r in run.requests.iter().filter(|r| r.server != "-") {
        let key = format!("{}/{}", r.backend, r.server);
        if let Some(i) = names.iter().position(|n| *n == key) {
            counts[i][((r.start / width) as usize).min(nbins - 1)] += 1;
        }
    }
    let top = counts.iter().flatten().copied().max().unwrap_or(1) as f64 / width * 1.25;
    let mut chart = ChartBuilder::on(area)
        .caption("Requests per server (per second)", ("sans-serif", 22))
        .margin(MARGIN)
        .x_label_area_size(40)
        .y_label_area_size(Plot::Servers.y_label_area())
        .build_cartesian_2d(0.0..end, 0.0..top.max(1.0))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("requests / s")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    mark_faults(&mut chart, run, (0.0, top), None)?;
    for (i, name) in names.iter().enumerate() {
        let pts: Vec<(f64, f64)> = counts[i]
            .iter()
            .enumerate()
            .map(|(b, c)| (b as f64 * width, f64::from(*c) / width))
            .collect();
        broken_line(
            &mut chart,
            &pts,
            f64::INFINITY,
            SERIES[i % SERIES.len()],
            name,
        )?;
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::place_labels;

    #[test]
    fn labels_stack_when_close_and_end_at_their_time_near_the_edge() {
        // 100 s over 750 px: 1 s per 7.5 px, so one character per second.
        let labels = [
            (10.0, "kill haproxy".to_owned()),
            (12.0, "start haproxy".to_owned()),
            (40.0, "heal".to_owned()),
            (95.0, "link down".to_owned()),
        ];
        let placed = place_labels(&labels, 0.0..100.0, 750);
        let rows: Vec<usize> = placed.iter().map(|p| p.row).collect();
        assert_eq!(rows, [0, 1, 0, 0]);
        assert_eq!(placed[0].start, 10.0);
        // " link down " is 11 characters: it ends at its time, 95 s.
        assert!((placed[3].end - 95.0).abs() < 1e-9, "{:?}", placed[3]);
        assert!(placed.iter().all(|p| p.start >= 0.0 && p.end <= 100.0));
    }
}
