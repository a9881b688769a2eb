//! One panel per failover, from a second before its fault to a second after
//! the clients' ARP converged: each node's state with the adverts it sent
//! (its priority where it changes), its VIP and its gratuitous ARPs, the
//! failed requests below, the fault, its detection, the VIP move and ARP
//! convergence marked; the axis in wall-clock time as the logs print it.

use crate::plot::{
    lanes, name_lanes, per_px, place_labels, state_color, DrawResult, Placed, TimeChart, FAIL,
    LANE_PX, MARGIN, MASTER, ROW_PX,
};
use crate::run::Run;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Width of the panel's time axis, in pixels.
pub(crate) const AXIS_PX: u32 = 1000 - MARGIN - RIGHT_PX - Y_LABELS_PX;

/// Room right of the axis, so that the last time under it is not cut.
const RIGHT_PX: u32 = 45;

/// Room left of the axis for the lanes' names, in pixels.
pub(crate) const Y_LABELS_PX: u32 = 230;

/// One failover's window and what happened in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Zoom {
    /// The fault, as the timeline names it.
    pub fault: String,
    /// When it came (run time, s).
    pub at: f64,
    /// The window (run time, s).
    pub lo: f64,
    /// Its end.
    pub hi: f64,
    /// The moments marked: (time, label), in time order.
    pub marks: Vec<(f64, String)>,
}

/// The failovers of `run` (the faults of `summary.json` that moved a VIP
/// or failed requests), each with its window: a second before the fault to
/// a second after ARP converged (or the VIP moved, or the fault was seen;
/// 10 s when nothing followed).
pub fn zooms(run: &Run) -> Vec<Zoom> {
    let failovers = run.summary["failovers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    failovers
        .iter()
        .filter(|f| {
            f["vip_moved"].as_f64().is_some() || f["failed_requests"].as_u64().unwrap_or(0) > 0
        })
        .filter_map(|f| {
            let at = f["at"].as_f64()?;
            let time = |key: &str| f[key].as_f64();
            let moved = time("vip_moved");
            let mut marks = vec![(at, f["fault"].as_str().unwrap_or("fault").to_owned())];
            if let Some(t) = time("detected") {
                marks.push((t, "first log line".to_owned()));
            }
            if let (Some(t), Some(owner)) = (moved, f["new_owner"].as_str()) {
                marks.push((t, format!("VIP \u{2192} {owner}")));
            }
            if let Some(t) = time("arp_converged") {
                marks.push((t, "ARP converged".to_owned()));
            }
            marks.sort_by(|a, b| a.0.total_cmp(&b.0));
            let last = marks.iter().map(|(t, _)| *t).fold(at, f64::max);
            let hi = if last > at { last + 1.0 } else { at + 10.0 };
            Some(Zoom {
                fault: marks
                    .iter()
                    .find(|(t, _)| *t == at)
                    .map(|(_, l)| l.clone())?,
                at,
                lo: (at - 1.0).max(0.0),
                hi: hi.min(run.end()).max(at + 1.0),
                marks,
            })
        })
        .collect()
}

/// Where panel `zoom` labels its marks.
pub fn zoom_labels(zoom: &Zoom) -> Vec<Placed> {
    place_labels(&zoom.marks, zoom.lo..zoom.hi, AXIS_PX)
}

/// Pixel size of a panel of `run` showing `zoom`.
pub(crate) fn size(run: &Run, zoom: &Zoom) -> (u32, u32) {
    let rows = zoom_labels(zoom)
        .iter()
        .map(|p| p.row + 1)
        .max()
        .unwrap_or(0);
    let lanes = lanes(run).len() as u32 + 1;
    (1000, 130 + LANE_PX * lanes + rows as u32 * ROW_PX as u32)
}

/// `20:57:51.000`: run time `t` on the wall clock of a run started at
/// `start` (Unix s); `+19.500s` when the run does not say when it started.
fn clock(start: Option<f64>, t: f64) -> String {
    let Some(start) = start else {
        return format!("+{t:.3}s");
    };
    let ms = ((start + t) * 1000.0).round() as i64;
    let day = ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day / 3_600_000,
        day / 60_000 % 60,
        day / 1000 % 60,
        day % 1000
    )
}

/// Draws panel `zoom` of `run`.
pub(crate) fn draw<DB: DrawingBackend>(
    run: &Run,
    zoom: &Zoom,
    area: &DrawingArea<DB, Shift>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let start = run.summary["start_unix"].as_f64();
    let lanes = lanes(run);
    let n = lanes.len() as f64 + 1.0;
    let placed = zoom_labels(zoom);
    let rows = placed.iter().map(|p| p.row + 1).max().unwrap_or(0);
    let room = rows as f64 * ROW_PX / f64::from(LANE_PX);
    let failed: Vec<f64> = run
        .requests
        .iter()
        .filter(|r| r.failed() && r.start >= zoom.lo && r.start <= zoom.hi)
        .map(|r| r.start)
        .collect();
    let caption = format!(
        "{} at {} (t = {:.3} s): {} failed requests",
        zoom.fault,
        clock(start, zoom.at),
        zoom.at,
        failed.len()
    );
    let formatter = |t: &f64| clock(start, *t);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(MARGIN)
        .margin_right(RIGHT_PX)
        .x_label_area_size(40)
        .y_label_area_size(Y_LABELS_PX)
        .build_cartesian_2d(zoom.lo..zoom.hi, -0.5..(n - 0.5 + room))?;
    chart
        .configure_mesh()
        .x_desc("wall clock, as the hosts' logs print it")
        .x_label_formatter(&formatter)
        .x_labels(6)
        .y_labels(0)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let mut names: Vec<String> = lanes.iter().map(|(i, h)| format!("{i} @ {h}")).collect();
    names.push("clients (x: a failed request)".to_owned());
    name_lanes(&chart, area, &names, zoom.lo)?;
    for (lane, (inst, host)) in lanes.iter().enumerate() {
        let y = n - 1.0 - lane as f64;
        draw_lane(&mut chart, run, zoom, (inst, host), y)?;
    }
    let crosses = failed
        .iter()
        .map(|t| Cross::new((*t, 0.0), 5, FAIL.stroke_width(2)));
    chart.draw_series(crosses)?;
    let top = n - 0.5 + room;
    for ((t, label), at) in zoom.marks.iter().zip(&placed) {
        let color = if label.starts_with("VIP") {
            MASTER
        } else {
            BLACK
        };
        chart.draw_series(DashedLineSeries::new(
            vec![(*t, -0.5), (*t, top)],
            4,
            3,
            color.stroke_width(1),
        ))?;
        let y = top - per_px(&chart, top + 0.5) * (3.0 + ROW_PX * at.row as f64);
        chart.draw_series(std::iter::once(Text::new(
            format!(" {label}"),
            (at.start, y),
            ("sans-serif", 13).into_font().color(&color),
        )))?;
    }
    Ok(())
}

/// Lane `y` of `host`'s `inst`: its state, the adverts it sent (ticks,
/// the priority written where it changes), its VIP added (a green triangle
/// up) or removed (down), its GARPs (small triangles below).
fn draw_lane<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    run: &Run,
    zoom: &Zoom,
    (inst, host): (&str, &str),
    y: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mine = |event: &'static str| {
        run.timeline
            .iter()
            .filter(move |r| r.event == event && r.host == host)
    };
    let states: Vec<(f64, &str)> = mine("state")
        .filter(|r| r.instance == inst)
        .map(|r| (r.time, r.detail.split_whitespace().next().unwrap_or("")))
        .collect();
    for (k, (t, s)) in states.iter().enumerate() {
        let t1 = states.get(k + 1).map_or(zoom.hi, |n| n.0);
        if t1 < zoom.lo || *t > zoom.hi {
            continue;
        }
        chart.draw_series(std::iter::once(Rectangle::new(
            [(t.max(zoom.lo), y - 0.18), (t1.min(zoom.hi), y + 0.18)],
            state_color(s).mix(0.6).filled(),
        )))?;
    }
    let inside = |t: f64| (zoom.lo..=zoom.hi).contains(&t);
    let mut last_priority = "";
    for r in mine("advert").filter(|r| r.instance == inst) {
        let priority = r.detail.trim_start_matches("priority ");
        if inside(r.time) {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(r.time, y - 0.3), (r.time, y + 0.3)],
                BLACK.stroke_width(1),
            )))?;
            if priority != last_priority {
                chart.draw_series(std::iter::once(Text::new(
                    priority.to_owned(),
                    (r.time, y + 0.42),
                    ("sans-serif", 11).into_font(),
                )))?;
            }
        }
        last_priority = priority;
    }
    for (event, up) in [("vip_add", true), ("vip_remove", false)] {
        for r in mine(event).filter(|r| r.instance == inst && inside(r.time)) {
            let tip = if up { y + 0.3 } else { y - 0.3 };
            let half = 0.004 * (zoom.hi - zoom.lo);
            chart.draw_series(std::iter::once(Polygon::new(
                vec![(r.time, tip), (r.time - half, y), (r.time + half, y)],
                MASTER.filled(),
            )))?;
        }
    }
    let garps = mine("garp")
        .filter(|r| inside(r.time))
        .map(|r| TriangleMarker::new((r.time, y - 0.36), 4, MASTER.filled()));
    chart.draw_series(garps)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_reads_as_the_logs_print_time() {
        // 2015-04-04 20:57:31.5 UTC, plus 19.5 s.
        assert_eq!(clock(Some(1_428_181_051.5), 19.5), "20:57:51.000");
        assert_eq!(clock(None, 19.5), "+19.500s");
    }
}
