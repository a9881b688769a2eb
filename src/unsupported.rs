//! Whether a config may run although haven does not honour all of it: a
//! keyword that would change who is let in, where traffic goes or what is
//! served stops the start, unless the operator says
//! `--accept-unsupported`; then each is said at start. `check` only warns.

use haven_core::config::support::{Impact, Unsupported};
use haven_runtime::eprintln_whole;

/// Says which of `unsupported` change traffic; true when the process may
/// start (none does, or `accept`).
pub(crate) fn may_start<'a>(
    unsupported: impl IntoIterator<Item = &'a Unsupported>,
    accept: bool,
) -> bool {
    let traffic: Vec<&Unsupported> = unsupported
        .into_iter()
        .filter(|u| u.gap.impact == Impact::Traffic)
        .collect();
    for u in &traffic {
        if accept {
            eprintln_whole!("haven: starting anyway: {}", u.describe());
        } else {
            eprintln_whole!("haven: {}", u.describe());
        }
    }
    if traffic.is_empty() || accept {
        return true;
    }
    let n = traffic.len();
    let these = if n == 1 {
        "this keyword"
    } else {
        "these keywords"
    };
    eprintln_whole!(
        "haven: not starting: without {these} haven would change who is let in, where traffic goes or what is served; --accept-unsupported starts anyway"
    );
    false
}
