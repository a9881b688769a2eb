//! haven's reports: the CSV schemas of a run's outputs (`requests.csv`,
//! `timeline.csv`), readers for a run directory, the plots (PNG and SVG,
//! text in an embedded DejaVu font, so they render on a machine with no
//! fonts), and the self-contained `report.html`.

mod html;
mod plot;
mod run;
pub mod schema;

pub use html::write_report;
pub use plot::{render_all, Plot};
pub use run::{Run, RunError};
