#!/usr/bin/env bash
# The one test command (README and .ci/run call it). Node 20's runner does not expand globs nor
# find .ts files, so the file list is built here and passed explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test src -name '*.test.ts' | sort); fi
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
