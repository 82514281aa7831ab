#!/usr/bin/env bash
# Checks the systemd unit: `systemd-analyze verify` passes and `systemd-analyze security`
# scores it 2.0 or less. The unit is verified with ExecStart pointing at the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-$PWD/.build/debug/tailcast}
command -v systemd-analyze >/dev/null || { echo "check-unit: systemd-analyze missing, skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/bin/tailcast|$BIN|" packaging/tailcast.service > "$tmp/tailcast.service"
out=$(systemd-analyze verify "$tmp/tailcast.service" 2>&1 || true)
if [ -n "$out" ]; then echo "systemd-analyze verify:"; echo "$out"; exit 1; fi
score=$(systemd-analyze security --offline=true "$tmp/tailcast.service" 2>/dev/null | sed -n 's/.*Overall exposure level for tailcast.service: \([0-9.]*\).*/\1/p')
echo "systemd-analyze verify: ok; security exposure: $score"
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }' || { echo "exposure $score is above 2.0"; exit 1; }
# Resource bounds stay in the unit (defence in depth behind tailcast's own bounds).
for key in MemoryMax TasksMax; do
  grep -q "^$key=" packaging/tailcast.service || { echo "check-unit: $key= missing from the unit"; exit 1; }
done
echo "check-unit: MemoryMax and TasksMax set"
