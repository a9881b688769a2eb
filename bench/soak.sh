#!/usr/bin/env bash
# Soak: haven run under a steady load at RATE_PCT % of its measured maximum
# for DURATION seconds (30 minutes by default), in front of two nginx
# backends, one of which stops gracefully and starts again every minute.
# Samples haven's RSS and open file descriptors every minute and checks:
#   - no failed request (non-2xx or socket errors) while the other server
#     is up, which is always;
#   - RSS at the last minute within 5 % of minute 2; no fd growth;
#   - log lines complete: one well-formed `option httplog` line per
#     request, and each flap's DOWN and UP line.
# Needs: apt-get install nginx-light wrk. Sends only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${DURATION:-1800}
RATE_PCT=${RATE_PCT:-80}
need nginx wrk
cargo build --release --quiet
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$dir/b2/nginx.pid" ] && kill "$(cat "$dir/b2/nginx.pid")" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
b1=$(free_port); b2=$(free_port); hv=$(free_port)
for b in b1 b2; do nginx_config "$dir/$b" "${!b}" > "$dir/$b.conf"; done
cat > "$dir/haven.cfg" <<CFG
global
    maxconn 4000
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    # A stopping nginx resets connections still in its accept queue after
    # they carried a request: send those again (haproxy's L7 retry).
    retry-on conn-failure empty-response
frontend fe
    bind 127.0.0.1:$hv
    default_backend be
backend be
    balance roundrobin
    server s1 127.0.0.1:$b1 check inter 1s fall 1 rise 2
    server s2 127.0.0.1:$b2 check inter 1s fall 1 rise 2
CFG
nginx -c "$dir/b1.conf" -p "$dir/b1" 2>/dev/null & pids+=($!)
nginx -c "$dir/b2.conf" -p "$dir/b2" 2>/dev/null &
# The log checker: counts well-formed request lines, s2's DOWN and UP
# lines, and anything else.
d='[0-9]'
request="^127[.]0[.]0[.]1:$d+ [[]$d$d/[A-Z][a-z][a-z]/$d$d$d$d:$d$d:$d$d:$d$d[.]$d$d$d[]] fe be/(s1|s2|<NOSRV>) (-1|$d+)/(-1|$d+)/(-1|$d+)/(-1|$d+)/$d+ $d$d$d $d+ - - [-a-zA-Z][-a-zA-Z][-a-zA-Z][-a-zA-Z] $d+/$d+/$d+/$d+/[+]?$d+ $d+/$d+ \"GET / HTTP/1[.]1\"$"
mkfifo "$dir/log"
awk -v request="$request" '
    $0 ~ request { requests++; next }
    /^Server be\/s2 is DOWN, / { down++; next }
    /^Server be\/s2 is UP, / { up++; next }
    /^Server be\/s1 is (DOWN|UP), / { next }   # the first checks may beat nginx
    { other++; if (other <= 5) print "soak: unexpected log line: " $0 > "/dev/stderr" }
    END { print requests + 0, down + 0, up + 0, other + 0 }' < "$dir/log" > "$dir/logcheck.txt" & checker=$!
./target/release/haven run -f "$dir/haven.cfg" > "$dir/log" 2> "$dir/haven.log" & haven=$!; pids+=($haven)
for p in "$b1" "$b2" "$hv"; do wait_port "$p"; done
wrk -t1 -c50 -d10s "http://127.0.0.1:$hv/" > "$dir/max.txt"
max=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$dir/max.txt")
target=$((max * RATE_PCT / 100))
# wrk paces each connection with delay(): CONNS connections, each sending
# one request, waiting for the answer (about the latency at the maximum,
# in µs) and then DELAY ms.
DELAY=2
latency_us=$(awk '/Latency/ { v = $2; if (v ~ /us$/) v = v + 0; else if (v ~ /ms$/) v = v * 1000; else v = v * 1000000; printf "%.0f", v }' "$dir/max.txt")
CONNS=$(( (target * (DELAY * 1000 + latency_us) + 999999) / 1000000 ))
cat > "$dir/pace.lua" <<LUA
function delay() return $DELAY end
LUA
echo "soak: max $max req/s; ${RATE_PCT}% = $target req/s as $CONNS connections x 1 request / ${DELAY} ms, for ${DURATION}s; backend s2 flaps every 60 s"
# A client waits up to 10 s: a retry of the same server comes after
# haproxy's 1 s turn-around, and the redispatch on the last one.
wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$dir/pace.lua" "http://127.0.0.1:$hv/" > "$dir/wrk.txt" &
load=$!
sample() { echo "$(awk '/VmRSS/ { print $2 }' "/proc/$haven/status") $(ls "/proc/$haven/fd" | wc -l)"; }
: > "$dir/samples.txt"
for minute in $(seq $((DURATION / 60))); do
    sleep 30
    kill -QUIT "$(cat "$dir/b2/nginx.pid")"   # graceful: finishes what it serves
    sleep 5
    nginx -c "$dir/b2.conf" -p "$dir/b2" 2>/dev/null &
    sleep 25
    s=$(sample); echo "$minute $s" >> "$dir/samples.txt"
    echo "minute $minute: rss ${s% *} kB, fds ${s#* }"
done
wait "$load" || true
kill -TERM "$haven"
for _ in $(seq 100); do kill -0 "$haven" 2>/dev/null || break; sleep 0.1; done
wait "$checker"
cat "$dir/wrk.txt"
awk '/Requests\/sec/ { print "soak: " $2 " req/s sustained" }' "$dir/wrk.txt"
errors=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 } /Non-2xx/ { print $NF }' "$dir/wrk.txt" | awk '{ s += $1 } END { print s + 0 }')
read -r _ rss2 fd2 < <(sed -n '2p;$p' "$dir/samples.txt" | head -n 1)
read -r _ rssN fdN < <(tail -n 1 "$dir/samples.txt")
echo "soak: failed requests $errors; rss minute 2 $rss2 kB, last $rssN kB; fds minute 2 $fd2, last $fdN"
ok=1
[ "$errors" -eq 0 ] || { echo "soak: FAILED: $errors failed requests"; ok=0; }
awk -v a="$rss2" -v b="$rssN" 'BEGIN { exit !(b <= a * 1.05) }' || { echo "soak: FAILED: RSS grew more than 5 %"; ok=0; }
[ "$fdN" -le $((fd2 + 4)) ] || { echo "soak: FAILED: file descriptors grew"; ok=0; }
# Every answered request is logged; the two wrk runs may leave up to
# their connections' worth answered after they stopped counting.
read -r logged down up other < "$dir/logcheck.txt"
answered=$(cat "$dir/max.txt" "$dir/wrk.txt" | awk '/requests in/ { s += $1 } END { print s }')
flaps=$((DURATION / 60))
echo "soak: log lines: $logged requests ($answered answered), s2 DOWN $down / UP $up for $flaps flaps, $other other"
[ "$logged" -ge "$answered" ] && [ "$logged" -le $((answered + 50 + CONNS)) ] || { echo "soak: FAILED: request log lines missing or extra"; ok=0; }
[ "$down" -eq "$flaps" ] && [ "$up" -eq "$flaps" ] && [ "$other" -eq 0 ] || { echo "soak: FAILED: event log lines"; ok=0; }
[ "$ok" -eq 1 ] && echo "soak: passed"
[ "$ok" -eq 1 ]
