#!/usr/bin/env bash
# Large bodies through haven run and haproxy (Debian package), same config,
# in front of one nginx on loopback: 1 MB and 100 MB downloads (nginx
# serves the files), 10 MB uploads (nginx reads and drops them), each
# moved by curl, ROUNDS times, alternating. Prints each program's median
# bytes per second, time to first byte and peak memory growth (VmHWM
# after the runs less VmHWM after a warm-up), and haven / haproxy.
# bench/proxy.sh runs it as its `bodies` variant, and with LB_DEFAULTS
# (`option splice-auto`) and LB_MODE (`tcp`) as `splice` and `tcp-splice`.
# Needs: apt-get install haproxy nginx-light curl. Sends only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${ROUNDS:-5}
need haproxy nginx curl
start_bench
b=$(free_port)
mkdir -p "$dir/www" "$dir/nginx"
head -c 1000000 /dev/urandom > "$dir/www/1m"
head -c 100000000 /dev/urandom > "$dir/www/100m"
head -c 10000000 /dev/urandom > "$dir/up10m"
chmod -R a+rX "$dir"  # nginx's worker reads the files as nobody
cat > "$dir/nginx.conf" <<CFG
daemon off;
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/nginx;
    proxy_temp_path $dir/nginx;
    fastcgi_temp_path $dir/nginx;
    uwsgi_temp_path $dir/nginx;
    scgi_temp_path $dir/nginx;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:$b;
        root $dir/www;
        location = /up { return 200 "ok\n"; }
    }
}
CFG
nginx -c "$dir/nginx.conf" -p "$dir/nginx" 2> "$dir/nginx-start.log" & pids+=($!)
wait_port "$b"
hp=$(free_port); hv=$(free_port)
lb_config "$hp" 1 4000 "$b" > "$dir/haproxy.cfg"
lb_config "$hv" 1 4000 "$b" > "$dir/haven.cfg"
haproxy -f "$dir/haproxy.cfg" 2> "$dir/haproxy.log" & hpid=$!; pids+=($hpid)
./target/release/haven run -f "$dir/haven.cfg" 2> "$dir/haven.log" & vpid=$!; pids+=($vpid)
wait_port "$hp"; wait_port "$hv"
peak_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# One transfer on port $1: "bytes_per_second ttfb_ms"; stops on anything
# but a 200.
rate() { awk '$1 != 200 { print "bench/bodies.sh: status " $1 > "/dev/stderr"; exit 1 } { printf "%.0f %.3f\n", $2, $3 * 1000 }'; }
download() { curl -s -o /dev/null -w '%{http_code} %{speed_download} %{time_starttransfer}\n' "http://127.0.0.1:$1/$2" | rate; }
upload() { curl -s -o /dev/null --data-binary "@$dir/up10m" -H 'Content-Type: application/octet-stream' -w '%{http_code} %{speed_upload} %{time_starttransfer}\n' "http://127.0.0.1:$1/up" | rate; }
for port in "$hp" "$hv"; do download "$port" 1m > /dev/null; upload "$port" > /dev/null; done
hbase=$(peak_kb "$hpid"); vbase=$(peak_kb "$vpid")
echo "haproxy $(haproxy -v | head -1 | cut -d' ' -f3), $(nproc) cores, $ROUNDS rounds, medians:"
for kind in 1m 100m up10m; do
    : > "$dir/h.txt"; : > "$dir/v.txt"
    for _ in $(seq "$ROUNDS"); do
        if [ "$kind" = up10m ]; then
            upload "$hp" >> "$dir/h.txt"; upload "$hv" >> "$dir/v.txt"
        else
            download "$hp" "$kind" >> "$dir/h.txt"; download "$hv" "$kind" >> "$dir/v.txt"
        fi
    done
    hr=$(cut -d' ' -f1 "$dir/h.txt" | median); vr=$(cut -d' ' -f1 "$dir/v.txt" | median)
    ht=$(cut -d' ' -f2 "$dir/h.txt" | median); vt=$(cut -d' ' -f2 "$dir/v.txt" | median)
    awk -v k="$kind" -v hr="$hr" -v vr="$vr" -v ht="$ht" -v vt="$vt" 'BEGIN {
        printf "  %-6s haproxy %7.1f MB/s, first byte %.3f ms | haven %7.1f MB/s, first byte %.3f ms | haven / haproxy %.2fx (goal >= 1.0)\n",
            k, hr / 1e6, ht, vr / 1e6, vt, vr / hr }'
done
hgrow=$(( $(peak_kb "$hpid") - hbase )); vgrow=$(( $(peak_kb "$vpid") - vbase ))
echo "  peak memory growth over the runs: haproxy ${hgrow} kB, haven ${vgrow} kB (goal: haven <= haproxy + 2048 kB)"
