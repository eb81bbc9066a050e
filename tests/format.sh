#!/bin/sh
# Fails when a C file is not formatted per .clang-format.
set -u
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "clang-format missing"; exit 1; }
if git rev-parse --git-dir >/dev/null 2>&1; then
        files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h')
else
        files=$(find . -path ./build\* -prune -o \( -name '*.c' -o -name '*.h' \) -print)
fi
[ -n "$files" ] || exit 0
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
