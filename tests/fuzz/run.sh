#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) into
# ./build-fuzz and runs each one for SECONDS (default 60) from its seed corpus
# (tests/fuzz/corpus/<target>; new inputs go to build-fuzz/corpus/<target>, crashes to
# build-fuzz/crashes/). Prints executions and crashes per target; exits 1 on any crash.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-60}
shift || true
build=${CUSTOS_FUZZ_BUILD_DIR:-build-fuzz}
cc=${CC:-clang-14}
command -v "$cc" >/dev/null || cc=clang
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
flags+=" -fno-omit-frame-pointer"

cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCUSTOS_FUZZ=ON -DCMAKE_C_FLAGS="$flags" >/dev/null
cmake --build "$build" --target fuzz_all -j 2 >/dev/null

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_submission fuzz_typeddata fuzz_batch fuzz_reserves fuzz_prices
                                     fuzz_holdings fuzz_policy fuzz_config fuzz_evm_rpc
                                     fuzz_sumtree fuzz_admin fuzz_watch_event fuzz_submit_batch
                                     fuzz_keccak)

# The signed seeds come from the fixed test keys; regenerate them so they match this tree.
"$build/tests/fuzz/make_seeds" tests/fuzz/corpus

mkdir -p "$build/crashes" "$build/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
summary=()
for t in "${targets[@]}"; do
  work="$build/corpus/$t"
  mkdir -p "$work"
  log="$build/logs/$t.log"
  before=$(find "$build/crashes" -name "$t-*" | wc -l)
  status=0
  "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(( $(find "$build/crashes" -name "$t-*" | wc -l) - before ))
  if [ "$status" -ne 0 ]; then
    failed=1
    [ "$crashes" -gt 0 ] || crashes=1
    echo "run.sh: $t failed (exit $status), see $log" >&2
    tail -40 "$log" >&2
  fi
  summary+=("$(printf '%-16s %12s execs %3d crashes' "$t" "${execs:-?}" "$crashes")")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
