#!/usr/bin/env bash
# Memory with idle keep-alive clients: haven run against haproxy (Debian
# package), the same config (nbthread 1) in front of two nginx backends.
# A client opens CONNS connections to one of them, makes one request on
# each and leaves them all open and idle; the proxy's RSS is read before
# (after one request, which pages in the code requests run) and then. haproxy first, then haven, one at a time. Prints both, the
# cost per idle connection and the ratios haven / haproxy, of the RSS
# and of the cost per connection (goal of both: at most 1.0).
# Needs: apt-get install haproxy nginx-light. Sends only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
# haproxy wants 2 fds per connection of its maxconn (and 14 more) within
# the hard fd limit: 10,000 connections need a limit of 20,214, so with a
# lower one the default is what the limit allows.
fds=$(ulimit -Hn)
fit=$(( (fds - 14) / 2 - 100 ))
CONNS=${CONNS:-$(( fit < 10000 ? fit : 10000 ))}
MAXCONN=$((CONNS + 100))
need haproxy nginx
start_bench
ulimit -n "$(ulimit -Hn)"
b1=$(free_port); b2=$(free_port)
nginx_config "$dir/nginx" "$b1" "$b2" > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir/nginx" 2> "$dir/nginx-start.log" & pids+=($!)
wait_port "$b1"; wait_port "$b2"
# Opens $2 connections to port $1, one request on each; says "ready" and
# holds them until its input closes.
cat > "$dir/clients.py" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
    answer = b""
    while not answer.endswith(b"ok\n"):
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection closed before the answer")
        answer += chunk
    held.append(s)
print("ready", flush=True)
sys.stdin.read()
PY
rss() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
# measure NAME COMMAND...: prints "RSS_BEFORE RSS_WITH_CONNS" in kB.
measure() {
    local name=$1 port; shift
    port=$(free_port)
    lb_config "$port" 1 "$MAXCONN" "$b1" "$b2" > "$dir/$name.cfg"
    "$@" -f "$dir/$name.cfg" 2> "$dir/$name.log" & local pid=$!
    pids+=("$pid")
    wait_port "$port"
    # One request first: the code a request runs is paged in once, not
    # per connection.
    python3 "$dir/clients.py" "$port" 1 < /dev/null > /dev/null
    local before with
    before=$(rss "$pid")
    coproc CLIENTS { python3 "$dir/clients.py" "$port" "$CONNS"; }
    read -r ready <&"${CLIENTS[0]}"
    [ "$ready" = ready ] || { echo "bench/idle.sh: $name: the client failed"; exit 1; }
    with=$(rss "$pid")
    exec {CLIENTS[1]}>&-
    wait "$CLIENTS_PID" 2>/dev/null || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "$before $with"
}
read -r hb hw < <(measure haproxy haproxy)
read -r vb vw < <(measure haven ./target/release/haven run)
echo "haproxy $(haproxy -v | head -1 | cut -d' ' -f3), $CONNS idle keep-alive client connections (hard fd limit $fds), nbthread 1, maxconn $MAXCONN:"
awk -v hb="$hb" -v hw="$hw" -v vb="$vb" -v vw="$vw" -v n="$CONNS" 'BEGIN {
    printf "  haproxy: RSS %d kB idle, %d kB with the connections (%.2f kB each)\n", hb, hw, (hw - hb) / n
    printf "  haven:   RSS %d kB idle, %d kB with the connections (%.2f kB each)\n", vb, vw, (vw - vb) / n
    printf "  haven / haproxy: RSS with the connections %.2fx, per connection %.2fx (goal <= 1.0)\n", vw / hw, (vw - vb) / (hw - hb) }'
