#!/usr/bin/env bash
# Pattern scan speed: tailcast's LineFilter (PCRE2 JIT / memmem, one core) against grep on the
# same 1 000 000-line corpus of 150-byte lines, side by side in one run. Prints a Markdown table.
set -euo pipefail
BENCH=${BENCH:-.build/release/tailcast-bench}
CORPUS=${CORPUS:-/tmp/tailcast-bench-corpus.log}
LINES=${LINES:-1000000}
export LC_ALL=C.UTF-8

[ -s "$CORPUS" ] && [ "$(wc -l < "$CORPUS")" -eq "$LINES" ] || "$BENCH" gen --file "$CORPUS" --lines "$LINES"

now() { date +%s%N; }
# best of 3 wall times of a command, in seconds
best_of_3() {
  local best=999999999999 t0 t1
  for _ in 1 2 3; do
    t0=$(now); "$@" > /tmp/tailcast-bench-grep.out; t1=$(now)  # not /dev/null: grep stops at the first match there
    [ $((t1 - t0)) -lt "$best" ] && best=$((t1 - t0))
  done
  echo "scale=4; $best / 1000000000" | bc
}

printf '| pattern | tailcast flags | grep command | tailcast lines/s | grep lines/s | ratio tailcast/grep | kept (tailcast = grep) |\n'
printf '|---|---|---|---:|---:|---:|---|\n'
run() {
  local label=$1 tflags=$2 gflags=$3 pattern=$4
  # shellcheck disable=SC2086
  local out; out=$("$BENCH" scan --file "$CORPUS" $tflags --q "$pattern")
  local tl; tl=$(sed -E 's/.*lines_per_s=([0-9]+).*/\1/' <<<"$out")
  local tk; tk=$(sed -E 's/.*kept=([0-9]+).*/\1/' <<<"$out")
  # shellcheck disable=SC2086
  local gs; gs=$(best_of_3 grep -c $gflags -e "$pattern" "$CORPUS")
  # shellcheck disable=SC2086
  local gk; gk=$(grep -c $gflags -e "$pattern" "$CORPUS" || true)
  local gl; gl=$(echo "$LINES / $gs" | bc)
  local ratio; ratio=$(echo "scale=2; $tl / $gl" | bc)
  printf '| %s `%s` | `%s` | `grep -c %s` | %s | %s | %s | %s = %s |\n' "$label" "$pattern" "$tflags" "$gflags" "$tl" "$gl" "$ratio" "$tk" "$gk"
}
run "literal" "-F" "-F" "ERROR"
run "alternation" "" "-P" "timeout|refused|reset"
run "case-insensitive word" "-i -w" "-P -i -w" "error"
run "regex with classes" "" "-P" "duration=[0-9]{4}\.[0-9]ms"
run "case-insensitive word (grep -i, not -P)" "-i -w" "-i -w" "error"
