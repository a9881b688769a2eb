//! haven's reports: the CSV schemas of a run's outputs (`requests.csv`,
//! `timeline.csv`, `sweep.csv`), readers for a run or sweep directory, the
//! plots (PNG and SVG, text in an embedded DejaVu font, so they render on a
//! machine with no fonts), and the self-contained `report.html`.

mod html;
mod plot;
mod run;
pub mod schema;
mod sweep;
mod sweep_html;
mod sweep_plot;
mod zoom;

pub use html::write_report;
pub use plot::{fault_labels, place_labels, render_all, vip_labels, Placed, Plot};
pub use run::{Run, RunError};
pub use sweep::{load_sweep, shard_file, Sweep, SweepError, SweepRow};
pub use sweep_html::{write_comparison_report, write_sweep_report};
pub use sweep_plot::{render_sweep, SweepPlot};
pub use zoom::{zoom_labels, zooms, Zoom};
