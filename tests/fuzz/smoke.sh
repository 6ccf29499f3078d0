#!/usr/bin/env bash
# Runs each fuzz target given as an argument for FUZZ_SECONDS (default 10) seconds, seeded from
# tests/fuzz/corpus/<target>/ when that exists. Any crash, leak or sanitizer report fails.
set -u
secs=${FUZZ_SECONDS:-10}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for bin in "$@"; do
    name=$(basename "$bin")
    work=$(mktemp -d)
    seeds=()
    [ -d "$here/corpus/$name" ] && seeds=("$here/corpus/$name")
    if "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/" \
        "$work" "${seeds[@]+"${seeds[@]}"}" >"$work/log" 2>&1; then
        echo "fuzz-smoke: $name ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | grep -o '[0-9]*$') runs in ${secs}s)"
    else
        echo "fuzz-smoke: $name FAILED"; tail -30 "$work/log"; status=1
    fi
    rm -rf "$work"
done
exit $status
