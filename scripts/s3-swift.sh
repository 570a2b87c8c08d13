#!/usr/bin/env bash
# A real S3-compatible server for tests and local trials, with no Docker and no internet:
# OpenStack Swift from Debian's packages with its s3api middleware (SigV4 checks, presigned
# URLs, multipart uploads, ranges, listings) and tempauth. Everything lives under DIR and binds
# to 127.0.0.1 only; nothing is written under /etc. Packages: scripts/ci-services.sh.
#
#   bash scripts/s3-swift.sh start DIR PROXY_PORT [BACKEND_PORT_BASE]   # prints the S3 settings
#   bash scripts/s3-swift.sh stop DIR
#
# Client: path-style addressing, region us-east-1, key test:tester, secret testing; the AWS SDK v3
# also needs requestChecksumCalculation/responseChecksumValidation WHEN_REQUIRED (Swift rejects
# aws-chunked uploads with NotImplemented).
set -euo pipefail
cmd=${1:-start}
DIR=${2:?usage: s3-swift.sh start|stop DIR [PROXY_PORT] [BACKEND_PORT_BASE]}
PROXY_PORT=${3:-8080}
BASE=${4:-6200} # object=BASE, container=BASE+1, account=BASE+2

stop() {
  for n in proxy object container account; do
    if [ -f "$DIR/run/$n.pid" ]; then
      kill "$(cat "$DIR/run/$n.pid")" 2>/dev/null || true
      rm -f "$DIR/run/$n.pid"
    fi
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi

if ! command -v swift-proxy-server >/dev/null; then
  echo "swift-proxy-server not found: run 'bash scripts/ci-services.sh' (installs Debian's swift packages)" >&2
  exit 3
fi

stop
rm -rf "$DIR"
mkdir -p "$DIR/etc" "$DIR/srv/d1" "$DIR/run" "$DIR/log"
cd "$DIR/etc"
cat >swift.conf <<'CONF'
[swift-hash]
swift_hash_path_suffix = alphacut-test
swift_hash_path_prefix = alphacut-test
[storage-policy:0]
name = Policy-0
default = yes
CONF

i=0
for n in object container account; do
  p=$((BASE + i))
  i=$((i + 1))
  swift-ring-builder $n.builder create 6 1 1 >/dev/null
  swift-ring-builder $n.builder add "r1z1-127.0.0.1:$p/d1" 100 >/dev/null
  swift-ring-builder $n.builder rebalance >/dev/null
  cat >$n-server.conf <<CONF
[DEFAULT]
devices = $DIR/srv
mount_check = false
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
user = $(id -un)
swift_dir = $DIR/etc
log_address = /nonexistent
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
[$n-replicator]
[$n-auditor]
[$n-updater]
[$n-reaper]
[$n-sharder]
[$n-expirer]
[object-reconstructor]
CONF
done

# s3api before tempauth: it turns SigV4 into a tempauth identity; slo/dlo back multipart uploads.
cat >proxy-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
workers = 0
user = $(id -un)
swift_dir = $DIR/etc
log_address = /nonexistent
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF

for n in object container account proxy; do
  nohup "/usr/bin/swift-$n-server" "$DIR/etc/$n-server.conf" >"$DIR/log/$n.log" 2>&1 &
  echo $! >"$DIR/run/$n.pid"
done

for _ in $(seq 1 80); do
  if curl -fsS "http://127.0.0.1:$PROXY_PORT/healthcheck" >/dev/null 2>&1; then
    echo "AWS_ENDPOINT_URL=http://127.0.0.1:$PROXY_PORT"
    echo "AWS_ACCESS_KEY_ID=test:tester"
    echo "AWS_SECRET_ACCESS_KEY=testing"
    echo "AWS_REGION=us-east-1"
    exit 0
  fi
  sleep 0.25
done
echo "swift did not become healthy; see $DIR/log" >&2
tail -n 20 "$DIR"/log/*.log >&2
stop
exit 1
