#!/usr/bin/env bash
# User-space instructions per request, haven against haproxy (Debian
# package), counted by valgrind's callgrind: unlike req/s and CPU time on
# a shared 2-core machine, the count is the same run after run, so a
# change of a few hundred instructions a request shows. Each program runs
# the same config in front of an nginx backend on loopback, under
# callgrind, and is sent N and then 2N requests by h2load (10 connections,
# 10 streams each for HTTP/2); the difference of the two totals over N is
# the cost of a request, start-up left out. Modes (MODES picks some):
# `h1` (HTTP/1.1 keep-alive) and `h2` (HTTP/2 with prior knowledge, a
# `proto h2` bind) and `rules` (HTTP/1.1 keep-alive with bench/lib.sh's
# ten typical HTTP rules in the frontend). The kernel's share (the socket calls) is not counted:
# see bench/proxy.sh for the whole. With CACHE=1, callgrind also models
# this CPU's first-level caches and each mode prints the misses per
# request: instruction fetches (I1) and data reads and writes (D1), what
# makes a count of instructions run slower or faster than another.
# Needs: apt-get install haproxy nginx-light valgrind nghttp2-client.
# Sends only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${N:-20000}
MODES=${MODES:-h1 h2}
need haproxy nginx valgrind h2load
start_bench
b1=$(free_port)
nginx_config "$dir/nginx" "$b1" > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir/nginx" 2> "$dir/nginx-start.log" & pids+=($!)
wait_port "$b1"

# instructions PROGRAM MODE COUNT: callgrind's total for PROGRAM (haven or
# haproxy) serving COUNT requests in MODE, start-up and stop included.
instructions() {
    local program=$1 mode=$2 count=$3 port bind="" rules="" out
    port=$(free_port)
    [ "$mode" = h2 ] && bind=" proto h2"
    [ "$mode" = rules ] && rules=$TYPICAL_RULES
    LB_BIND=$bind LB_RULES=$rules lb_config "$port" 1 4096 "$b1" > "$dir/lb.cfg"
    out="$dir/callgrind.$program.$mode.$count"
    local cache=()
    [ "${CACHE:-0}" = 1 ] && cache=(--cache-sim=yes)
    if [ "$program" = haven ]; then
        valgrind --tool=callgrind "${cache[@]}" --callgrind-out-file="$out" \
            ./target/release/haven run -f "$dir/lb.cfg" 2> "$dir/vg.log" &
    else
        valgrind --tool=callgrind "${cache[@]}" --callgrind-out-file="$out" \
            haproxy -db -f "$dir/lb.cfg" 2> "$dir/vg.log" &
    fi
    local pid=$!
    pids+=("$pid")
    wait_port "$port" > /dev/null || sleep 5
    if [ "$mode" != h2 ]; then
        h2load --h1 -t1 -c10 -n"$count" "http://127.0.0.1:$port/" > "$dir/h2load.txt"
    else
        h2load -t1 -c10 -m10 -n"$count" "http://127.0.0.1:$port/" > "$dir/h2load.txt"
    fi
    grep -q "$count succeeded" "$dir/h2load.txt" || { echo "not all $count requests succeeded"; exit 1; }
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    # Instructions, then (with CACHE=1) I1, D1 read and D1 write misses.
    awk '/^events:/ { for (i = 2; i <= NF; i++) at[$i] = i }
        /^totals:/ { printf "%s", $at["Ir"]
            if ("D1mw" in at) printf " %s %s %s", $at["I1mr"], $at["D1mr"], $at["D1mw"]
            print "" }' "$out"
}

echo "haproxy $(haproxy -v | head -1 | cut -d' ' -f3); instructions per request over $N requests"
for mode in $MODES; do
    for program in haproxy haven; do
        one=($(instructions "$program" "$mode" "$N"))
        two=($(instructions "$program" "$mode" $((2 * N))))
        per=()
        for i in "${!one[@]}"; do per+=($(( (two[i] - one[i]) / N ))); done
        eval "${program}_$mode=(${per[*]})"
    done
    eval 'h=("${haproxy_'"$mode"'[@]}"); v=("${haven_'"$mode"'[@]}")'
    awk -v m="$mode" -v h="${h[0]}" -v v="${v[0]}" 'BEGIN {
        printf "  %s: haproxy %d, haven %d instructions per request: haven / haproxy %.2fx\n", m, h, v, v / h }'
    if [ "${#v[@]}" = 4 ]; then
        echo "  $mode, misses per request in callgrind's model of this CPU's caches:" \
            "haproxy I1 ${h[1]}, D1 read ${h[2]}, D1 write ${h[3]};" \
            "haven I1 ${v[1]}, D1 read ${v[2]}, D1 write ${v[3]}"
    fi
done
