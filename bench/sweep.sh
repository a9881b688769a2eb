#!/usr/bin/env bash
# Sweep speed and scaling: the April 4 scenario over advert_int 1,2,3 x
# fall 2,3 x 200 seeds (1,200 runs of 300 simulated seconds, 5 req/s of
# traffic each), sweep.csv included, first on one core (--jobs 1), then on
# every core with the sweep report. Prints runs per wall second of each,
# the scaling (issue #11's goal: 2 jobs >= 1.8x one job, 0.9x per core)
# and how much cluster time that covers; the real programs have no
# equivalent: each run would take 300 s of wall time on a real pair.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cores=$(nproc)
# sweep JOBS [more arguments]: prints the wall time in ns.
sweep() {
    local jobs=$1; shift
    local t0 t1
    t0=$(date +%s%N)
    ./target/release/haven sweep scenarios/april4-failover.toml \
        --set advert_int=1,2,3 --set fall=2,3 --seeds 200 --jobs "$jobs" --out "$out/$jobs" "$@" > /dev/null 2>&1
    t1=$(date +%s%N)
    echo $((t1 - t0))
}
one=$(sweep 1)
all=$(sweep "$cores" --report)
awk -v one="$one" -v all="$all" -v cores="$cores" 'BEGIN {
    s1 = one / 1e9; sn = all / 1e9
    printf "sweep 3 x 2 x 200 = 1200 runs:\n"
    printf "  1 job:  %.2f s wall, %.0f runs/s\n", s1, 1200 / s1
    printf "  %d jobs: %.2f s wall with the report, %.0f runs/s (target: under 60 s)\n", cores, sn, 1200 / sn
    printf "  scaling %.2fx on %d cores (goal >= %.1fx)\n", s1 / sn, cores, 0.9 * cores
    printf "  covers %.0f h of cluster time (1200 x 300 s): %.0f x faster than living through it\n", 1200 * 300 / 3600, 1200 * 300 / sn
}'
