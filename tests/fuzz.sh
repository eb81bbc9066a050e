#!/bin/sh
# The fuzzing step of CI: builds every libFuzzer target (the suite loader,
# the JUnit/TAP/JSON sanitisers and writers, the JUnit merge) with clang,
# ASan and UBSan, and runs each for a bounded time on its seed corpus in the
# repository (suites/fuzz/corpus, reports/fuzz/corpus*). A crash, leak,
# sanitizer report or timeout fails the step and leaves the reproducer in
# BUILD-DIR/<module>/<target>.work/artifacts/.
# Usage: tests/fuzz.sh [BUILD-DIR]   (default: build-fuzz)
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
command -v clang >/dev/null || { echo "tests/fuzz.sh: clang is needed" >&2; exit 1; }
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DHARNESS_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets=$(cd "$dir" && ctest -N -L fuzz | sed -n 's/^ *Test *#[0-9]*: //p')
[ -n "$targets" ] || { echo "tests/fuzz.sh: no fuzz targets configured" >&2; exit 1; }
# shellcheck disable=SC2086
cmake --build "$dir" -j"$(nproc)" --target $targets
(cd "$dir" && ctest --output-on-failure -L fuzz)
