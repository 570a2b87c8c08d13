#!/usr/bin/env bash
# Benchmark smoke check for CI (.ci/run calls it): `npm run bench -- --quick` into a temporary
# folder, then bench/validate.ts checks the JSON against the schema, its completeness and the
# metric ranges (never the speed), plus the Markdown report and the PNG charts beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/media/davis2016/dog ]; then
  echo "bench-check: SKIPPED: the shared media set (../shared/media/davis2016/dog) is not here" >&2
  exit 0
fi
out="$(mktemp -d "${TMPDIR:-/tmp}/alphacut-bench-check.XXXXXX")"
trap 'rm -rf "$out"' EXIT
start=$SECONDS
npm run -s bench -- --quick --out "$out"
shopt -s nullglob
files=("$out"/*.json)
if [ "${#files[@]}" -ne 1 ]; then
  echo "bench-check: expected one results JSON in $out, found ${#files[@]}" >&2
  exit 1
fi
npx tsx bench/validate.ts --quick "${files[0]}"
echo "bench-check: ok in $((SECONDS - start)) s"
