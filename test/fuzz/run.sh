#!/usr/bin/env bash
# Runs the fuzz targets of test/fuzz under libFuzzer (test/fuzz/README.md).
#
#   test/fuzz/run.sh [--seconds N] [--build-dir DIR] [--corpus DIR] [TARGET...]
#
#   --seconds N      how long each target runs. Default: 60
#   --build-dir DIR  the clang build folder, configured here when it is new
#                    (-Dfuzzing=true, address and undefined sanitizers).
#                    Default: build-fuzz
#   --corpus DIR     keep each target's corpus in DIR/<target>: seeded from
#                    test/fuzz/corpus/<target>, it grows run after run.
#                    Default: a copy in a temporary folder, removed at the end
#   TARGET           json_reader, http_request, json_rpc, event_id, jwt,
#                    worker_body, era. Default: all of them (era compiles the
#                    whole MCP layer with clang: about 20 minutes the first time)
#
# Only the named targets and what they link are compiled. The committed
# corpus is never written. A target that crashes, leaks, hits undefined
# behaviour or breaks one of its properties stops; its input is kept under
# DIR/artifacts, printed in base64 with the command that replays it, and the
# script fails. The compiler is clang++-16 (./setup.sh installs it);
# FUZZ_CXX names another clang.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
seconds=60
build="$src/build-fuzz"
keep=""
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --corpus) keep=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  for f in "$src"/test/fuzz/*_fuzz.cpp; do
    f=${f##*/}
    targets+=("${f%_fuzz.cpp}")
  done
fi
for t in "${targets[@]}"; do
  if [ ! -f "$src/test/fuzz/${t}_fuzz.cpp" ]; then
    echo "run.sh: no target $t (test/fuzz/${t}_fuzz.cpp)" >&2
    exit 2
  fi
done

cxx=${FUZZ_CXX:-clang++-16}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "run.sh: $cxx is not installed: libFuzzer needs clang 16 or newer (./setup.sh installs clang-16 and libclang-rt-16-dev)" >&2
  exit 1
fi
if ! compgen -G "$("$cxx" -print-runtime-dir)/libclang_rt.fuzzer-*.a" >/dev/null; then
  echo "run.sh: $cxx has no libFuzzer runtime (./setup.sh installs libclang-rt-16-dev)" >&2
  exit 1
fi

started=$SECONDS
mkdir -p "$(dirname "$build")"
build=$(cd "$(dirname "$build")" && pwd)/$(basename "$build")
if [ ! -f "$build/build.ninja" ]; then
  echo "run.sh: configuring $build with $cxx"
  setup_log=$(mktemp)
  if ! CXX="$cxx" meson setup "$build" "$src" -Dfuzzing=true -Db_sanitize=address,undefined \
      -Dbuildtype=debugoptimized -Dtests=false -Dbenchmarks=false >"$setup_log" 2>&1; then
    cat "$setup_log" >&2
    rm -f "$setup_log"
    exit 1
  fi
  rm -f "$setup_log"
fi

exes=()
for t in "${targets[@]}"; do exes+=("test/fuzz/${t}_fuzz"); done
echo "run.sh: compiling ${targets[*]}"
mkdir -p "$build/fuzz-logs"
if ! nice -n 10 ninja -C "$build" "${exes[@]}" >"$build/fuzz-logs/build.log" 2>&1; then
  grep -B2 -A12 -m5 'error' "$build/fuzz-logs/build.log" >&2 || tail -40 "$build/fuzz-logs/build.log" >&2
  echo "run.sh: the build failed ($build/fuzz-logs/build.log)" >&2
  exit 1
fi
echo "run.sh: compiled in $((SECONDS - started)) s; each target runs ${seconds} s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="$build/artifacts"
mkdir -p "$artifacts"
# UBSan's reports are fatal, so that libFuzzer keeps the input.
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

failed=()
for t in "${targets[@]}"; do
  if [ -n "$keep" ]; then
    corpus="$keep/$t"
    mkdir -p "$corpus"
    cp -n "$src/test/fuzz/corpus/$t"/* "$corpus"/
  else
    corpus="$work/$t"
    cp -r "$src/test/fuzz/corpus/$t" "$corpus"
  fi
  dict=()
  case "$t" in
    http_request) dict=("-dict=$src/test/fuzz/http.dict") ;;
    event_id) ;;
    *) dict=("-dict=$src/test/fuzz/json.dict") ;;
  esac
  seeds=$(ls "$corpus" | wc -l)
  log="$build/fuzz-logs/$t.log"
  rc=0
  "$build/test/fuzz/${t}_fuzz" -max_total_time="$seconds" -seed=1 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  printf '%-13s %9s runs in %3s s, corpus %4s -> %4s inputs\n' "$t" "${runs:-?}" "$seconds" "$seeds" "$(ls "$corpus" | wc -l)"
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "---- $t failed ($log):" >&2
    grep -v '^#[0-9]' "$log" | tail -60 >&2
    for a in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
      echo "input ($a), base64: $(base64 -w0 "$a")" >&2
      echo "replay: $build/test/fuzz/${t}_fuzz $a" >&2
    done
  fi
done

echo "run.sh: ${#targets[@]} targets in $((SECONDS - started)) s"
if ((${#failed[@]})); then
  echo "run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
