//! haven's deterministic simulator: a virtual-clock world that drives
//! `haven_core` nodes over a simulated L2 segment, from a scenario file
//! (`scenarios/README.md`) to syslog files, `timeline.csv` and a summary.
//!
//! Same scenario and seed, same bytes out: the clock is virtual, every
//! random draw comes from a ChaCha stream derived from the seed and the
//! name of whatever draws (so adding a host does not reshuffle the others),
//! and every queue breaks ties by insertion order.

mod access_log;
mod api;
pub mod chaos;
mod invariants;
mod load;
mod net;
mod outcome;
mod params;
mod record;
mod requests;
mod requests_csv;
pub mod scenario;
mod traffic;
mod world;

pub use access_log::{first_request, Replayed};
pub use api::Api;
pub use invariants::Violation;
pub use load::{load, Loaded};
pub use outcome::Outcome;
pub use params::{apply, Param};
pub use record::{Failover, Recorder, Verdict};
pub use scenario::ScenarioError;

/// Runs a loaded scenario with `seed` (the scenario's own unless given).
pub fn run(sc: &Loaded, seed: Option<u64>) -> Recorder {
    world::World::new(sc, seed.unwrap_or(sc.seed)).run()
}

/// Runs like [`run`], writing `requests.csv` to `requests` as the run
/// goes, so memory stays flat however long the run; close it with
/// [`Recorder::close_requests`].
pub fn run_streaming(
    sc: &Loaded,
    seed: Option<u64>,
    requests: Box<dyn std::io::Write>,
) -> Recorder {
    let mut world = world::World::new(sc, seed.unwrap_or(sc.seed));
    world.rec.stream_requests(requests);
    world.run()
}
