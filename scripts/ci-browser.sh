#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end test (test/e2e/web-ui.e2e.test.ts). CI
# only: the README quick start needs no browser, and the test skips itself when none is there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
