#!/usr/bin/env bash
# Builds the four libFuzzer binaries into $FUZZ_SCRATCH/fuzz/bin (see Fuzz/README.md).
#
# 1. `swift build --target TailcastCore` in its own scratch path builds TailcastCore's
#    dependencies (NIOCore, Logging, Metrics and their C shims) the ordinary way, uninstrumented.
# 2. swiftc compiles Sources/TailcastCore once more, with -sanitize=fuzzer,address (coverage
#    instrumentation + ASan), into a static library and module of its own.
# 3. Each harness (Fuzz/<Target>/*.swift + Fuzz/Common/*.swift) is compiled and linked with
#    -sanitize=fuzzer,address against that library and the dependencies' objects from step 1;
#    libFuzzer supplies main().
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SWIFT=${SWIFT:-swift}
SWIFTC=${SWIFTC:-swiftc}
SCRATCH=${FUZZ_SCRATCH:-$ROOT/.build-fuzz}
OUT=$SCRATCH/fuzz
TARGETS=${FUZZ_TARGETS:-"QueryStringFuzz ClientMessageFuzz ConfigFuzz LineSplitterFuzz"}
SAN=-sanitize=fuzzer,address
OPT=(-O -g)   # -O keeps bounds, overflow and precondition checks; -Onone would only be slower.

echo "fuzz: building TailcastCore's dependencies (swift build --scratch-path $SCRATCH)"
$SWIFT build --scratch-path "$SCRATCH" --target TailcastCore -j "${FUZZ_JOBS:-2}" 2>&1 | grep -v '^\[' || true
BIN=$($SWIFT build --scratch-path "$SCRATCH" --show-bin-path)
[ -d "$BIN/Modules" ] || { echo "fuzz: no $BIN/Modules; did swift build fail?" >&2; exit 1; }

# Clang module maps the dependencies' Swift modules refer to: SwiftPM's generated ones, the
# checkouts' own include/module.modulemap files, and this package's system libraries.
CFLAGS=()
for m in "$BIN"/*.build/module.modulemap "$SCRATCH"/checkouts/*/Sources/*/include/module.modulemap Sources/*/module.modulemap; do
  [ -f "$m" ] || continue
  CFLAGS+=(-Xcc "-fmodule-map-file=$m")
done
for d in "$SCRATCH"/checkouts/*/Sources/*/include Sources/*/include; do
  [ -d "$d" ] && CFLAGS+=(-Xcc -I -Xcc "$d")
done

# Objects of every dependency target that step 1 compiled, TailcastCore's own excluded.
DEPOBJS=()
while IFS= read -r o; do DEPOBJS+=("$o"); done < <(find "$BIN" -path "$BIN/TailcastCore.build" -prune -o -path "$BIN/*.build/*.o" -print | sort)

mkdir -p "$OUT/mod" "$OUT/bin"
CORE_SRCS=$(find Sources/TailcastCore -name '*.swift' | sort)
newest_core=$(ls -t $CORE_SRCS | head -1)
if [ ! -f "$OUT/libTailcastCore.a" ] || [ "$newest_core" -nt "$OUT/libTailcastCore.a" ] || [ "$0" -nt "$OUT/libTailcastCore.a" ]; then
  echo "fuzz: compiling TailcastCore with $SAN"
  # shellcheck disable=SC2086
  $SWIFTC -emit-library -static -parse-as-library -module-name TailcastCore -swift-version 6 \
    "$SAN" "${OPT[@]}" -emit-module -emit-module-path "$OUT/mod/TailcastCore.swiftmodule" \
    -I "$BIN/Modules" "${CFLAGS[@]}" $CORE_SRCS -o "$OUT/libTailcastCore.a"
fi

for t in $TARGETS; do
  srcs=$(ls Fuzz/"$t"/*.swift Fuzz/Common/*.swift)
  exe=$OUT/bin/$t
  if [ -f "$exe" ] && [ "$exe" -nt "$OUT/libTailcastCore.a" ] && [ -z "$(find $srcs -newer "$exe")" ]; then
    continue
  fi
  echo "fuzz: linking $t"
  # shellcheck disable=SC2086
  $SWIFTC -parse-as-library -module-name "$t" -swift-version 6 "$SAN" "${OPT[@]}" \
    -I "$OUT/mod" -I "$BIN/Modules" "${CFLAGS[@]}" $srcs \
    "$OUT/libTailcastCore.a" "${DEPOBJS[@]}" -lpcre2-8 -lsystemd -use-ld=lld -o "$exe"
done
echo "fuzz: binaries in $OUT/bin"
