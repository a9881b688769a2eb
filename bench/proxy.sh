#!/usr/bin/env bash
# Proxy throughput and latency: haven run against haproxy (Debian package),
# with the same config in front of two nginx backends (one worker each, a
# 3-byte answer), on loopback. wrk drives each in turn, alternating, ROUNDS
# times; prints req/s, p50 and p99 per round, the medians and the ratios
# haven / haproxy against the goals. Variants (VARIANTS picks
# some): `keepalive` (nbthread 1, wrk keeps its connections), `threads2`
# (nbthread 2 each), `threads2-pinned` (the same, each thread bound to a
# CPU of its own by `cpu-map auto:1/1-2 0-1` in both), `close`
# (nbthread 1, every request on a new client
# connection: wrk sends `Connection: close`), `rules` (keepalive with
# ten typical HTTP rules in the frontend), and `ceiling`: haproxy
# against a bare forwarder (runtime/examples/bare_forward.rs) that makes
# only the four socket calls per request any proxy needs, on haven's
# runtime: how far a proxy can get past haproxy here at all; `floor`:
# haven against that bare forwarder, haven's own per-request cost;
# `scaling`: haven with nbthread 2 against itself with nbthread 1;
# `shards`: haven with nbthread 2 against two haven processes with
# nbthread 1 sharing its port (SO_REUSEPORT), which share nothing: what
# threads would cost with no state in common at all; `bodies`
# (bench/bodies.sh): 1 MB and 100 MB downloads and 10 MB uploads;
# `splice`: the same with `option splice-auto` in both; `tcp-splice`: the
# same again through a `mode tcp` listener, splicing;
# `tls`: keepalive over TLS (an ECDSA P-256 certificate made for the run,
# TLS 1.3, haproxy on OpenSSL, haven on rustls with aws-lc-rs), and
# `tls-close`: a new TLS connection, so a full handshake, per request;
# `tls-resume`: a new connection per request resuming the TLS session
# (openssl s_time -reuse);
# `h2`: HTTP/2 over TLS (ALPN), h2load keeping 10 streams in flight on
# each connection (needs nghttp2-client).
# Needs: apt-get install haproxy nginx-light wrk. Sends only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
VARIANTS=${VARIANTS:-keepalive threads2 threads2-pinned close rules ceiling floor scaling bodies splice tcp-splice tls tls-close tls-resume h2}
need haproxy nginx wrk openssl
start_bench
cargo build --release --quiet -p haven-runtime --example bare_forward
b1=$(free_port); b2=$(free_port)
nginx_config "$dir/nginx" "$b1" "$b2" > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir/nginx" 2> "$dir/nginx-start.log" & pids+=($!)
wait_port "$b1"; wait_port "$b2"
# CPU time (user + system, in clock ticks) the processes $1 (their ids,
# joined by commas) have used so far.
cpu_ticks() {
    local pid ticks=0
    for pid in ${1//,/ }; do ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
    echo "$ticks"
}
# One line per run of wrk on port $1 against process $2 (more wrk
# arguments after them): req/s p50_ms p99_ms non-2xx cpu_us_per_request,
# the last being the process's CPU time over the run per request served.
measure() {
    local port=$1 pid=$2 before; shift 2
    before=$(cpu_ticks "$pid")
    case ${CLIENT:-wrk} in
        h2load) measure_h2 "$port" "$pid" "$before"; return ;;
        s_time) measure_resumed "$port" "$pid" "$before"; return ;;
    esac
    wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$@" "${SCHEME:-http}://127.0.0.1:$port/" > "$dir/wrk.txt"
    awk -v ticks=$(($(cpu_ticks "$pid") - before)) -v hz="$(getconf CLK_TCK)" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        / requests in / { total = $1 }
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /Non-2xx/ { bad = $NF }
        END { printf "%.0f %.3f %.3f %s %.2f\n", rps, p50, p99, (bad == "" ? 0 : bad), ticks / hz * 1e6 / total }' "$dir/wrk.txt"
}
# measure's line for h2load (one thread, CONNS connections, STREAMS
# streams each) over TLS with ALPN h2 on port $1 against process $2,
# whose CPU ticks were $3 at the start; the percentiles come from
# h2load's log of every request (its third column: microseconds).
measure_h2() {
    local port=$1 pid=$2 before=$3
    rm -f "$dir/h2load.log"  # h2load appends to it
    h2load -t1 -c"$CONNS" -m"${STREAMS:-10}" -D"${DURATION%s}" --log-file="$dir/h2load.log" \
        "https://127.0.0.1:$port/" > "$dir/h2load.txt"
    sort -n -k3 "$dir/h2load.log" | awk -v ticks=$(($(cpu_ticks "$pid") - before)) -v hz="$(getconf CLK_TCK)" \
        -v rps="$(awk '/^finished in/ { print $4 }' "$dir/h2load.txt")" \
        -v bad="$(awk '/^status codes:/ { print $5 + $7 + $9 }' "$dir/h2load.txt")" '
        { us[NR] = $3 }
        END { printf "%.0f %.3f %.3f %s %.2f\n", rps, us[int(NR * 0.5)] / 1000, us[int(NR * 0.99)] / 1000, bad, ticks / hz * 1e6 / NR }'
}
# measure's line for `openssl s_time -reuse` on port $1 against process
# $2 (CPU ticks $3 at the start): one client making connection after
# connection, each resuming the first one's TLS session and fetching /;
# connections per second in the req/s column, no percentiles.
measure_resumed() {
    local port=$1 pid=$2 before=$3
    openssl s_time -connect "127.0.0.1:$port" -reuse -time "${DURATION%s}" -www / > "$dir/s_time.txt" 2>&1
    awk -v ticks=$(($(cpu_ticks "$pid") - before)) -v hz="$(getconf CLK_TCK)" '
        /connections in .* real seconds/ { n = $1; secs = $4 }
        END { printf "%.0f 0 0 0 %.2f\n", n / secs, ticks / hz * 1e6 / n }' "$dir/s_time.txt"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# variant NAME NBTHREAD RPS_GOAL P99_GOAL [wrk arguments]; with
# BARE=1 the bare forwarder stands in for haven, with BASE=haven haven
# stands in for haproxy (with BASE_THREADS threads, when set; with
# BASE=shards, two haven processes on one port).
variant() {
    local name=$1 threads=$2 rps_goal=$3 p99_goal=$4; shift 4
    local hp hv started=() us=haven base=${BASE:-haproxy} pair
    local label=$base${BASE_THREADS:+ with nbthread $BASE_THREADS}
    hp=$(free_port); hv=$(free_port)
    lb_config "$hp" "${BASE_THREADS:-$threads}" 4000 "$b1" "$b2" > "$dir/haproxy.cfg"
    lb_config "$hv" "$threads" 4000 "$b1" "$b2" > "$dir/haven.cfg"
    if [ "$base" = haven ]; then
        ./target/release/haven run -f "$dir/haproxy.cfg" 2> "$dir/base.log" & started+=($!)
    elif [ "$base" = shards ]; then
        ./target/release/haven run -f "$dir/haproxy.cfg" 2> "$dir/base.log" & pair=$!
        ./target/release/haven run -f "$dir/haproxy.cfg" 2> "$dir/base2.log" & started+=("$pair,$!")
    else
        haproxy -f "$dir/haproxy.cfg" 2> "$dir/haproxy.log" & started+=($!)
    fi
    if [ "${BARE:-0}" = 1 ]; then
        us=bare
        ./target/release/examples/bare_forward "$hv" "$b1" "$b2" 2> "$dir/bare.log" & started+=($!)
    else
        ./target/release/haven run -f "$dir/haven.cfg" 2> "$dir/haven.log" & started+=($!)
    fi
    pids+=(${started[@]//,/ })
    wait_port "$hp"; wait_port "$hv"
    measure "$hp" "${started[0]}" "$@" > /dev/null  # warm-up
    measure "$hv" "${started[1]}" "$@" > /dev/null
    : > "$dir/haproxy.txt"; : > "$dir/haven.txt"
    for round in $(seq "$ROUNDS"); do
        h=$(measure "$hp" "${started[0]}" "$@"); v=$(measure "$hv" "${started[1]}" "$@")
        echo "$h" >> "$dir/haproxy.txt"; echo "$v" >> "$dir/haven.txt"
        printf "%s round %d: %s %s req/s p50 %s ms p99 %s ms (non-2xx %s, CPU %s us/req) | %s %s req/s p50 %s ms p99 %s ms (non-2xx %s, CPU %s us/req)\n" \
            "$name" "$round" "$label" $h "$us" $v
    done
    kill ${started[@]//,/ }; wait ${started[@]//,/ } 2>/dev/null || true
    for col in 1 2 3 5; do
        eval "h$col=$(cut -d' ' -f$col "$dir/haproxy.txt" | median)"
        eval "v$col=$(cut -d' ' -f$col "$dir/haven.txt" | median)"
    done
    echo "$name: nbthread $threads, wrk -t1 -c$CONNS -d$DURATION $*, medians of $ROUNDS rounds:"
    printf "  %-8s %s req/s, p50 %s ms, p99 %s ms, CPU %s us per request\n" "$label:" "$h1" "$h2" "$h3" "$h5"
    printf "  %-8s %s req/s, p50 %s ms, p99 %s ms, CPU %s us per request\n" "$us:" "$v1" "$v2" "$v3" "$v5"
    # Ratios: the median of each round's (the two programs of a round run
    # back to back, so a drift of the machine's speed cancels out).
    paste -d' ' "$dir/haproxy.txt" "$dir/haven.txt" > "$dir/pairs.txt"
    r1=$(awk '{ print $6 / $1 }' "$dir/pairs.txt" | median)
    r3=$(awk '{ print ($3 > 0 ? $8 / $3 : 0) }' "$dir/pairs.txt" | median)
    r5=$(awk '{ print $5 / $10 }' "$dir/pairs.txt" | median)
    awk -v r1="$r1" -v r3="$r3" -v r5="$r5" -v rg="$rps_goal" -v pg="$p99_goal" -v us="$us" -v base="$label" 'BEGIN {
        printf "  %s / %s, median of the rounds: req/s %.2fx (goal >= %s), p99 %.2fx (goal <= %s); requests per CPU second %.2fx\n", us, base, r1, rg, r3, pg, r5 }'
    if [ "$name" = floor ]; then
        awk -v r5="$r5" 'BEGIN { printf "  haven'"'"'s CPU per request / the bare forwarder'"'"'s, median of the rounds: %.2fx (goal <= 1.25)\n", r5 }'
    fi
}
echo "haproxy $(haproxy -v | head -1 | cut -d' ' -f3), $(nproc) cores"
for v in $VARIANTS; do
    case $v in
        keepalive) variant keepalive 1 1.2 0.9 ;;
        threads2) variant threads2 2 1.2 1.0 ;;
        threads2-pinned) LB_GLOBAL="    cpu-map auto:1/1-2 0-1" variant threads2-pinned 2 1.2 1.0 ;;
        close) variant close 1 1.0 1.0 -H "Connection: close" ;;
        # bench/lib.sh's ten typical HTTP rules in the frontend of both.
        rules) LB_RULES=$TYPICAL_RULES variant rules 1 1.0 1.0 ;;
        # The goals printed are keepalive's: can anything reach them here?
        ceiling) BARE=1 variant ceiling 1 1.2 0.9 ;;
        # haven against the bare forwarder, alternating: haven's own
        # per-request cost (issue #24's floor goal).
        floor) BASE=haven BARE=1 variant floor 1 1.0 1.0 ;;
        # haven with nbthread 2 against itself with nbthread 1,
        # alternating: requests per CPU second (goal >= 0.9).
        scaling) BASE=haven BASE_THREADS=1 variant scaling 2 1.0 1.0 ;;
        # haven with nbthread 2 against two haven processes with nbthread
        # 1 on its port: the most a driver per thread could win.
        shards) BASE=shards BASE_THREADS=1 variant shards 2 1.0 1.0 ;;
        # Large bodies both ways: bytes per second, first byte, memory.
        bodies) bench/bodies.sh ;;
        # The same with `option splice-auto` in both (splice() from socket
        # to socket), then in `mode tcp` (a tunnel), splicing too.
        splice) LB_DEFAULTS="    option splice-auto" bench/bodies.sh ;;
        tcp-splice) LB_MODE=tcp LB_DEFAULTS="    option splice-auto" bench/bodies.sh ;;
        tls | tls-close)
            [ -e "$dir/bench.pem" ] || bench_certificate "$dir/bench.pem"
            # The TLS issue's goals: keep-alive 1.2x, full handshakes 1.5x.
            close=(); goal=1.2
            [ "$v" = tls-close ] && close=(-H "Connection: close") && goal=1.5
            SCHEME=https LB_BIND=" ssl crt $dir/bench.pem" variant "$v" 1 "$goal" 1.0 "${close[@]}" ;;
        # Resumed handshakes: a new connection per request, each resuming
        # the TLS session of the first (openssl s_time -reuse, one client).
        tls-resume)
            [ -e "$dir/bench.pem" ] || bench_certificate "$dir/bench.pem"
            CLIENT=s_time LB_BIND=" ssl crt $dir/bench.pem" variant tls-resume 1 1.5 1.0 ;;
        # HTTP/2 over TLS: h2load, each connection with STREAMS (10)
        # requests in flight.
        h2)
            [ -e "$dir/bench.pem" ] || bench_certificate "$dir/bench.pem"
            need h2load
            CLIENT=h2load LB_BIND=" ssl crt $dir/bench.pem alpn h2,http/1.1" variant h2 1 1.2 1.0 ;;
        *) echo "bench/proxy.sh: unknown variant $v (keepalive, threads2, threads2-pinned, close, rules, ceiling, floor, scaling, shards, bodies, splice, tcp-splice, tls, tls-close, tls-resume, h2)"; exit 1 ;;
    esac
done
