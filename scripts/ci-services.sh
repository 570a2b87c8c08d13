#!/usr/bin/env bash
# Services the distributed-mode tests talk to, on a fresh Debian 12 machine: PostgreSQL and Redis
# (preinstalled on CI machines; started here if stopped) and the packages of OpenStack Swift, the
# real S3-compatible server that test/helpers/services.ts starts per test run (scripts/s3-swift.sh).
# Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

if ! command -v swift-proxy-server >/dev/null; then
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends \
    swift swift-proxy swift-object swift-container swift-account >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  $sudo_cmd pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  $sudo_cmd redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 40); do
  pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break
  sleep 0.25
done
# BullMQ must never have its keys evicted.
redis-cli -h 127.0.0.1 config set maxmemory-policy noeviction >/dev/null
echo "services: postgres $(pg_isready -h 127.0.0.1 | cut -d- -f2) redis $(redis-cli -h 127.0.0.1 ping) swift $(command -v swift-proxy-server)"
