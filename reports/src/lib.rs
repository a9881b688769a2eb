//! haven's reports: CSV schemas, plots and sweep summaries. Built in a later
//! issue; for now this crate only fixes its place in the workspace.
