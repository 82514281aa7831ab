#!/usr/bin/env bash
# Journal read speed: tailcast loading a journal directory of 1 000 000 entries into its ring
# (kind = "journald", directory = DIR, initial_lines = 1000000) against
# `journalctl --directory DIR -o cat | wc -l`, side by side in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/tailcast}
ENTRIES=${ENTRIES:-1000000}
DIR=${JOURNAL_DIR:-/tmp/tailcast-bench-journal}
REMOTE=/lib/systemd/systemd-journal-remote
[ -x "$REMOTE" ] || { echo "journal benchmark skipped: $REMOTE missing (apt-get install systemd-journal-remote)"; exit 0; }

if [ "$(journalctl --directory "$DIR" -o cat 2>/dev/null | wc -l)" -ne "$ENTRIES" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  python3 - "$ENTRIES" <<'PY' | "$REMOTE" --output="$DIR/remote.journal" --split-mode=none - 2>/dev/null
import sys, time
n = int(sys.argv[1]); t0 = int(time.time() * 1e6) - n
out = sys.stdout.buffer
units = [b"nginx.service", b"ssh.service", b"cron.service", b"app.service"]
for i in range(n):
    out.write(b"__CURSOR=s=bench;i=%x\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"
              b"_HOSTNAME=bench\n_SYSTEMD_UNIT=%s\nSYSLOG_IDENTIFIER=bench\nPRIORITY=%d\n_PID=%d\n"
              b"MESSAGE=request %d completed in %d ms for client 10.0.%d.%d status=200 bytes=%d\n\n"
              % (i, t0 + i, i + 1, units[i % 4], 3 + i % 5, 1000 + i % 50, i, i % 900, i % 256, (i * 7) % 256, i % 65536))
PY
fi

now() { date +%s%N; }
# CPU seconds (user + system) of a finished child, from bash's `time`.
TIMEFORMAT='%U %S'
cpu_of() { { time "$@" > /dev/null; } 2>&1 | awk '{printf "%.3f", $1 + $2}'; }
t0=$(now); count=$(journalctl --directory "$DIR" -o cat | wc -l); t1=$(now)
jsecs=$(echo "scale=3; ($t1 - $t0) / 1000000000" | bc)
jcpu=$(cpu_of journalctl --directory "$DIR" -o cat)
# What tailcast does at start: the last ENTRIES entries (seek to the tail, step back).
ncpu=$(cpu_of journalctl --directory "$DIR" -o cat -n "$ENTRIES")
tick=$(getconf CLK_TCK)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cfg=$(mktemp /tmp/tailcast-journal-bench.XXXXXX.toml)
cat > "$cfg" <<CONF
[server]
listen = "127.0.0.1:$port"
[[source]]
name = "journal"
kind = "journald"
directory = "$DIR"
initial_lines = $ENTRIES
ring_lines = $((ENTRIES + 1000))
ring_bytes = 4294967296
CONF
t0=$(now)
"$BIN" --config "$cfg" --log-level error &
pid=$!
seq=0
for _ in $(seq 1 6000); do
  seq=$(curl -fsS "http://127.0.0.1:$port/api/sources" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])' 2>/dev/null || echo 0)
  [ "$seq" -ge "$ENTRIES" ] && break
  sleep 0.02
done
t1=$(now)
# utime + stime of the server so far (start-up, load, and the idle polling: a few ms).
tcpu=$(awk -v t="$tick" '{printf "%.3f", ($14 + $15) / t}' "/proc/$pid/stat")
kill "$pid"; wait "$pid" 2>/dev/null || true
rm -f "$cfg"
tsecs=$(echo "scale=3; ($t1 - $t0) / 1000000000" | bc)
echo "| reader | entries | wall seconds | CPU seconds | entries per CPU second |"
echo "|---|---:|---:|---:|---:|"
echo "| journalctl --directory DIR -o cat > /dev/null | $count | $jsecs | $jcpu | $(echo "$count / $jcpu" | bc) |"
echo "| journalctl --directory DIR -o cat -n $ENTRIES > /dev/null | $count | | $ncpu | $(echo "$count / $ncpu" | bc) |"
echo "| tailcast (journald source, start to last entry in the ring) | $seq | $tsecs | $tcpu | $(echo "$seq / $tcpu" | bc) |"
echo "CPU ratio tailcast / journalctl -o cat: $(echo "scale=2; $tcpu / $jcpu" | bc)"
