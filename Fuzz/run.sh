#!/usr/bin/env bash
# Runs the fuzzers built by Fuzz/build.sh, each for a bounded number of runs, and prints one
# summary line per target. Exits 1 when a fuzzer found a crash or a regression input fails.
#
#   FUZZ_RUNS      runs per target (default: QueryStringFuzz 300000, ClientMessageFuzz 1000000,
#                  ConfigFuzz 40000, LineSplitterFuzz 80000: about a minute each on one core)
#   FUZZ_MAX_TIME  seconds per target at most, whichever comes first (default 90)
#   FUZZ_TARGETS   which targets (default: all four)
set -uo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${FUZZ_SCRATCH:-$PWD/.build-fuzz}
OUT=$SCRATCH/fuzz
MAX_TIME=${FUZZ_MAX_TIME:-90}
TARGETS=${FUZZ_TARGETS:-"QueryStringFuzz ClientMessageFuzz ConfigFuzz LineSplitterFuzz"}
# The Swift runtime's backtracer would run under ASan after a trap and muddle the report.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

status=0
summary=()
for t in $TARGETS; do
  exe=$OUT/bin/$t
  case $t in
    QueryStringFuzz) RUNS=${FUZZ_RUNS:-300000} ;;
    ClientMessageFuzz) RUNS=${FUZZ_RUNS:-1000000} ;;
    ConfigFuzz) RUNS=${FUZZ_RUNS:-40000} ;;
    *) RUNS=${FUZZ_RUNS:-80000} ;;
  esac
  [ -x "$exe" ] || { echo "fuzz: $exe missing; run Fuzz/build.sh" >&2; exit 2; }
  work=$OUT/corpus/$t
  artifacts=$OUT/artifacts/$t
  log=$OUT/logs/$t.log
  mkdir -p "$work" "$artifacts" "$OUT/logs"
  rm -f "$artifacts"/*

  # 1. Every committed reproducer of a past finding must now pass.
  reg="-"
  if compgen -G "Fuzz/corpus/regressions/$t/*" >/dev/null; then
    pass=0; fail=0
    for f in Fuzz/corpus/regressions/"$t"/*; do
      if "$exe" "$f" >"$log.reg" 2>&1; then pass=$((pass + 1)); else
        fail=$((fail + 1)); status=1
        echo "fuzz: $t: regression $f FAILS:"; grep -m1 -E 'Fatal error|ERROR:' "$log.reg"
      fi
    done
    reg="$pass/$((pass + fail)) pass"
  fi

  # 2. Fuzz from the committed seeds (read only) into a work corpus kept in the scratch dir.
  dict=(); [ -f "Fuzz/dict/$t.dict" ] && dict=(-dict="Fuzz/dict/$t.dict")
  echo "fuzz: $t: up to $RUNS runs or ${MAX_TIME}s (log: $log)"
  start=$SECONDS
  "$exe" -runs="$RUNS" -max_total_time="$MAX_TIME" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
    "$work" "Fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  secs=$((SECONDS - start))
  runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  crashes=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    echo "fuzz: $t FOUND A PROBLEM (exit $rc):"
    grep -m3 -E 'Fatal error|ERROR:|SUMMARY' "$log" | cut -c1-400
    ls "$artifacts"
  fi
  summary+=("$(printf '%-18s runs: %-8s crashes: %s/%s  corpus: %s inputs (%s seeds)  regressions: %s  %ss' \
    "$t" "${runs:-?}" "$crashes" "${runs:-?}" "${corp:-?}" "$(ls "Fuzz/corpus/$t" | wc -l)" "$reg" "$secs")")
done
echo
echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
exit $status
