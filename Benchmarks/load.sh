#!/usr/bin/env bash
# Delivery benchmarks: tailcast against websocketd + `tail -F | grep` per connection, side by
# side in one run, with the same writer and the same client (tailcast-bench load).
# Usage: Benchmarks/load.sh [a|b|c|d|all]   (release binaries in .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/tailcast}
BENCH=${BENCH:-.build/release/tailcast-bench}
WORK=$(mktemp -d /tmp/tailcast-load.XXXXXX)
ulimit -n 65536 2>/dev/null || true
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
wait_port() { for _ in $(seq 1 200); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

start_tailcast() {  # $1 file, $2 extra config
  local port; port=$(free_port)
  cat > "$WORK/tailcast.toml" <<CONF
[server]
listen = "127.0.0.1:$port"
max_connections = 20000
max_connections_per_address = 20000
$2
[[source]]
name = "bench"
kind = "file"
path = "$1"
CONF
  "$BIN" --config "$WORK/tailcast.toml" --log-level error 2>"$WORK/tailcast.err" &
  TC_PID=$!
  wait_http "$port"
  TC_URL="ws://127.0.0.1:$port/ws"
}

start_websocketd() {  # $1 file
  local port; port=$(free_port)
  BENCH_FILE=$1 websocketd --address=127.0.0.1 --port="$port" --loglevel=error --passenv=BENCH_FILE Benchmarks/websocketd-tail.sh 2>"$WORK/wsd.err" &
  WSD_PID=$!
  wait_port "$port"
  WSD_URL="ws://127.0.0.1:$port/"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# $1 label, $2 lines, $3 rate, $4 clients, $5 query-for-tailcast, $6 query-for-websocketd, $7 extra bench args, $8 extra config
pair() {
  local f="$WORK/$RANDOM.log"; : > "$f"
  start_tailcast "$f" "${8:-}"
  # shellcheck disable=SC2086
  "$BENCH" load --label "tailcast $1" --url "$TC_URL" --file "$f" --lines "$2" --rate "$3" --clients "$4" \
    --query "$5" --server-pid "$TC_PID" --timeout 180 ${7:-}
  stop "$TC_PID"
  if [ "${SKIP_BASELINE:-}" = "" ] && [ "$4" -le 100 ]; then
    local g="$WORK/$RANDOM.log"; : > "$g"
    start_websocketd "$g"
    # shellcheck disable=SC2086
    "$BENCH" load --label "websocketd $1" --url "$WSD_URL" --file "$g" --lines "$2" --rate "$3" --clients "$4" \
      --query "$6" --server-pid "$WSD_PID" --timeout 180 ${7:-} || true
    stop "$WSD_PID"
    pkill -f "tail -n0 -F $g" 2>/dev/null || true
  fi
}

case "${1:-all}" in
  a|all) echo "## (a) one client, no filter, written as fast as possible"
         pair "(a) default ring" 2000000 0 1 "" ""
         pair "(a) ring of 2M lines" 2000000 0 1 "" "" "" $'[defaults]\nring_lines = 2000000\nring_bytes = 2147483648' ;;&
  b|all) echo "## (b) latency at 1 000 and 50 000 lines/s, one client"
         pair "(b) 1000/s" 10000 1000 1 "" ""
         pair "(b) 50000/s" 500000 50000 1 "" "" ;;&
  c|all) echo "## (c) clients with distinct patterns (1 % of lines each) at 10 000 lines/s"
         for n in 1 10 100 500; do pair "(c) $n clients" 100000 10000 "$n" "q=TAG&F" "tag=TAG"; done ;;&
  d|all) echo "## (d) one stalled client and one normal client at 50 000 lines/s for 20 s"
         pair "(d)" 1000000 50000 2 "" "" "--stalled 1 --stall-seconds 20" ;;&
  e|all) echo "## (e) 10 000 idle connections"
         f="$WORK/idle.log"; : > "$f"
         start_tailcast "$f" ""
         "$BENCH" idle --url "$TC_URL" --connections 10000 --server-pid "$TC_PID"
         stop "$TC_PID" ;;&
  *) ;;
esac
