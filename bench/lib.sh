# Shared by the bench scripts (sourced): free ports, waiting for a
# listener, nginx backends. Everything stays on 127.0.0.1.

# A TCP port nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits up to 10 s for something to listen on port $1.
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "$(basename "$0"): nothing listens on port $1"
    return 1
}

# nginx_config DIR PORT...: the config of one nginx worker that answers
# "ok\n" (200) on every PORT, its files kept in DIR.
nginx_config() {
    local dir=$1; shift
    mkdir -p "$dir"
    echo "daemon off;"
    echo "worker_processes 1;"
    echo "pid $dir/nginx.pid;"
    echo "error_log $dir/error.log;"
    echo "events { worker_connections 4096; }"
    echo "http {"
    echo "    access_log off;"
    for kind in client_body proxy fastcgi uwsgi scgi; do echo "    ${kind}_temp_path $dir;"; done
    echo "    keepalive_requests 1000000;"
    for port in "$@"; do echo "    server { listen 127.0.0.1:$port; location / { return 200 \"ok\\n\"; } }"; done
    echo "}"
}

# Ten typical HTTP rules (ACLs, a deny and a redirect not taken, header
# rewrites, a variable, a response header), read alike by both programs:
# the `rules` variant of bench/proxy.sh puts them in the frontend.
TYPICAL_RULES='    acl is_api path_beg /api
    acl is_static path_end .css .js .png
    acl bad_bot hdr_sub(user-agent) -i badbot
    acl internal src 10.0.0.0/8
    http-request deny if bad_bot
    http-request redirect scheme https code 301 if { hdr(x-forwarded-proto) -m str http }
    http-request set-header X-Forwarded-Host %[req.hdr(host),lower]
    http-request del-header X-Debug
    http-request set-var(txn.path) path
    http-request set-header X-Internal yes if internal
    http-response set-header X-Frame-Options DENY
    http-response set-header X-Path %[var(txn.path)] if { var(txn.path) -m beg /api }
    use_backend be if is_api || is_static'

# lb_config PORT NBTHREAD MAXCONN BACKEND_PORT...: the book-equivalent
# haproxy.cfg, read alike by haproxy and haven: one frontend on PORT,
# round robin over the backends; with LB_RULES set, its lines go in the
# frontend; with LB_BIND set, its words end the bind line (`ssl crt F`);
# LB_MODE sets the mode (http) and LB_DEFAULTS adds lines to `defaults`.
lb_config() {
    local port=$1 threads=$2 maxconn=$3 n=0; shift 3
    cat <<CFG
global
    maxconn $maxconn
    nbthread $threads
${LB_GLOBAL:-}
defaults
    mode ${LB_MODE:-http}
    timeout connect 5s
    timeout client 60s
    timeout server 30s
    retries 3
${LB_DEFAULTS:-}
frontend fe
    bind 127.0.0.1:$port${LB_BIND:-}
${LB_RULES:-}
    default_backend be
backend be
    balance roundrobin
CFG
    for b in "$@"; do n=$((n + 1)); echo "    server s$n 127.0.0.1:$b"; done
}

# bench_certificate FILE: a self-signed ECDSA P-256 certificate for
# 127.0.0.1 with its key, made for this run only.
bench_certificate() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$1.key" -out "$1" 2> /dev/null
    cat "$1.key" >> "$1" && rm "$1.key"
}

# need TOOL...: stops with what to install when a tool is missing.
need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null && continue
        local package=$tool
        [ "$tool" = nginx ] && package=nginx-light
        echo "$(basename "$0"): $tool is missing (apt-get install $package)"
        exit 1
    done
}

# start_bench: builds haven and makes $dir; on exit, every pid in $pids
# is killed and $dir removed.
start_bench() {
    cargo build --release --quiet
    dir=$(mktemp -d)
    pids=()
    trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
}
