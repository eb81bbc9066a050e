#!/bin/sh
# Runs one libFuzzer target for a bounded time. New inputs go to a scratch
# corpus in the build tree; the seed corpus in the source tree stays as is.
# Usage: fuzz-run.sh FUZZER SEED-DIR WORK-DIR [SECONDS [DICT]]
set -eu
fuzzer=$1 seeds=$2 work=$3 secs=${4:-30} dict=${5:-}
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
        ${dict:+-dict="$dict"} -artifact_prefix="$work/artifacts/" \
        -print_final_stats=1 "$work/corpus" "$seeds"
