#!/usr/bin/env bash
# Sweep speed: the April 4 scenario over advert_int 1,2,3 x fall 2,3 x 200
# seeds (1,200 runs of 300 simulated seconds, 5 req/s of traffic each) on
# every core, sweep.csv and the sweep report included. Prints the wall
# time of the whole command and how much cluster time that covers; the
# real programs have no equivalent: each run would take 300 s of wall
# time on a real pair.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
t0=$(date +%s%N)
./target/release/haven sweep scenarios/april4-failover.toml \
    --set advert_int=1,2,3 --set fall=2,3 --seeds 200 --out "$out" --report 2>/dev/null | tail -2
t1=$(date +%s%N)
awk -v ns="$((t1 - t0))" -v cpus="$(nproc)" 'BEGIN {
    s = ns / 1e9
    printf "sweep 3 x 2 x 200 = 1200 runs on %d cores: %.2f s wall (target: under 60 s)\n", cpus, s
    printf "  covers %.0f h of cluster time (1200 x 300 s): %.0f x faster than living through it\n", 1200 * 300 / 3600, 1200 * 300 / s
}'
