#!/bin/sh
# The do-it-yourself baseline: one `tail -F | grep` per WebSocket connection (run by websocketd).
# QUERY_STRING "tag=tagNNN" filters with grep -F; no query passes every line.
tag=$(printf '%s' "${QUERY_STRING:-}" | sed -n 's/.*tag=\([A-Za-z0-9]*\).*/\1/p')
exec tail -n0 -F "$BENCH_FILE" | exec grep --line-buffered -F -e "${tag}"
