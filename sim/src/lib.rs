//! haven's deterministic simulator: a virtual-clock world that drives
//! `haven_core` nodes over a simulated network. Built in a later issue; for
//! now this crate only fixes its place in the workspace.
