#!/usr/bin/env bash
# Run the SCIM benchmarks against the setup the image ships, on this machine: a throwaway
# Postgres 15 (fsync on) and Redis on 127.0.0.1, gunicorn as the Dockerfile runs it
# (3 sync workers, access log on, persistent DB connections), then bench/versus.py (against
# the stock django-scim2 peer of bench/peer/ on the same Postgres) and bench/load.py.
# Bounded in requests and time; loopback only.
#
#   bash bench/run.sh           full run (side by side, 10k-user sync, 1M-user org,
#                               50k-member group, 10k-user LDAP sync)
#   bash bench/run.sh --versus  only the side-by-side runs (about 2 minutes)
#   bash bench/run.sh --quick   a smoke run of a few hundred requests (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-}
QUICK=
[ "$MODE" = "--quick" ] && QUICK=--quick
PORT=${BENCH_PORT:-18765}
PEER_PORT=${BENCH_PEER_PORT:-18766}
# The Dockerfile's CMD: 3 workers of the sync class commandcenter.gunicorn_conf names.
WORKERS=${BENCH_WORKERS:-3}
PY=.venv/bin/python

# Below the ephemeral range, as in .ci/services.sh.
export PG_PORT=${BENCH_PG_PORT:-25700} REDIS_PORT=${BENCH_REDIS_PORT:-26700}
# Sized as a production Postgres would be: the 1,000,000-user org's table and indexes
# fit in its buffers (the default 128 MB does not hold them).
export PG_EXTRA_OPTS="-c shared_buffers=1GB -c fsync=on"
# shellcheck source=.ci/services.sh
source .ci/services.sh
cleanup() {
    for pid in "${GUNICORN_PID:-}" "${PEER_PID:-}" "${CELERY_PID:-}" "${RECEIVER_PID:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    services_stop
}
trap cleanup EXIT
services_start

export DATABASE_URL REDIS_URL
export SECRET_KEY="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SITE_URL="http://127.0.0.1:$PORT" ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=WARNING
# As the image logs: JSON lines with each request's id (the Dockerfile's ENV).
export LOG_FORMAT=json
# The benchmark measures throughput, not the rate limiter (tests/scim/test_rate_limits.py).
export SCIM_RATE_PER_TOKEN=1000000 SCIM_RATE_PER_ORG=1000000
$PY manage.py migrate -v0

if [ "$MODE" = "--quick" ]; then
    SIZES=(--tenants 4 --small 1000 --huge 20000 --big-group 5000 --console 2000)
elif [ "$MODE" = "--versus" ]; then
    SIZES=(--tenants 1 --small 10 --console 0)
else
    SIZES=(--tenants 20 --small 1000 --huge 1000000 --big-group 50000 --console 100000)
fi
$PY bench/prepare.py "${SIZES[@]}" > "$SERVICES_DIR/targets.json"

wait_for() {
    for _ in $(seq 100); do
        curl -s -o /dev/null "$1" && return
        sleep 0.1
    done
}
# The Dockerfile's command line: the production config (limits, JSON errors), its workers
# and its access log. With LOG_FORMAT=json the config sends gunicorn's lines, the access
# lines too, to the process's output as JSON, as in the container: to a file here.
gunicorn_start() {
    $PY -m gunicorn commandcenter.wsgi:application -c python:commandcenter.gunicorn_conf \
        --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
        --access-logfile "$SERVICES_DIR/access.log" --log-level warning >> "$SERVICES_DIR/web.log" 2>&1 &
    GUNICORN_PID=$!
    wait_for "http://127.0.0.1:$PORT/accounts/login/"
    # The process trees whose CPU time load.py reports per request (Linux /proc).
    PIDS="gunicorn=$GUNICORN_PID,postgres=$(head -1 "$SERVICES_DIR/pg/postmaster.pid"),redis=$(cat "$SERVICES_DIR/redis.pid")"
}
gunicorn_stop() {
    kill "$GUNICORN_PID" && wait "$GUNICORN_PID" || true
    GUNICORN_PID=
}

mkdir -p bench/results
OUT=bench/results/$(date -u +%Y-%m-%d)${QUICK:+-quick}.md
[ "$MODE" = "--versus" ] && OUT=bench/results/$(date -u +%Y-%m-%d)-versus.md

# The stock django-scim2 peer (bench/peer/README.md), in its own database on the same
# Postgres, served the same way.
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres peer
export PEER_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/peer"
PEER_TOKEN=$(DJANGO_SETTINGS_MODULE=bench.peer.settings $PY -m bench.peer.prepare)
DJANGO_SETTINGS_MODULE=bench.peer.settings $PY -m gunicorn bench.peer.wsgi:application \
    --bind "127.0.0.1:$PEER_PORT" --workers "$WORKERS" \
    --access-logfile "$SERVICES_DIR/peer-access.log" --log-level warning >> "$SERVICES_DIR/peer.log" 2>&1 &
PEER_PID=$!
wait_for "http://127.0.0.1:$PEER_PORT/scim/v2/"
gunicorn_start
SYNC=$($PY -c 'import json,sys; t=json.load(open(sys.argv[1]))["sync"]; print(t["base_url"] + "," + t["token"])' "$SERVICES_DIR/targets.json")
PG_PID=$(head -1 "$SERVICES_DIR/pg/postmaster.pid")
: > "$OUT"
$PY -m bench.versus --ours "$SYNC" --peer "http://127.0.0.1:$PEER_PORT/scim/v2,$PEER_TOKEN" \
    --ours-pids "$PIDS" --peer-pids "gunicorn=$PEER_PID,postgres=$PG_PID" \
    --users "$([ -n "$QUICK" ] && echo 300 || echo 3000)" --runs "$([ -n "$QUICK" ] && echo 2 || echo 3)" \
    --out "$OUT"
gunicorn_stop
kill "$PEER_PID" && wait "$PEER_PID" || true
PEER_PID=
if [ "$MODE" = "--versus" ]; then
    cat "$OUT"
    exit
fi
mv "$OUT" "$OUT.versus"
# First the sync with the provisioning log switched off, to give what the log costs in
# the same run (on the smaller database: a comparison that favours "off").
SCIM_REQUEST_LOG=0 gunicorn_start
$PY bench/load.py --targets "$SERVICES_DIR/targets.json" ${QUICK:+--quick} --out "$OUT.off" \
    --pids "$PIDS" --sync-only "provisioning log off"
gunicorn_stop
# Then everything as deployed, the log on.
gunicorn_start
$PY bench/load.py --targets "$SERVICES_DIR/targets.json" ${QUICK:+--quick} --out "$OUT" --pids "$PIDS"
gunicorn_stop
# Last, the sync once more with a webhook on its org, to a receiver that takes 200 ms per
# delivery, delivered as in production by a Celery worker with beat: what a slow
# receiver costs the SCIM path (the worker's CPU is counted too).
HOOK_PORT=${BENCH_HOOK_PORT:-26800}
$PY bench/webhook_receiver.py --port "$HOOK_PORT" --delay 0.2 > "$SERVICES_DIR/receiver.log" 2>&1 &
RECEIVER_PID=$!
export WEBHOOK_ALLOW_PRIVATE_TARGETS=true
$PY manage.py webhooks add bench-sync "http://127.0.0.1:$HOOK_PORT/hooks" --json > /dev/null
$PY -m celery -A commandcenter worker --beat --pool solo --concurrency 1 -l warning \
    --schedule "$SERVICES_DIR/beat-schedule" > "$SERVICES_DIR/celery.log" 2>&1 &
CELERY_PID=$!
gunicorn_start
$PY bench/load.py --targets "$SERVICES_DIR/targets.json" ${QUICK:+--quick} --out "$OUT.hook" \
    --pids "$PIDS,celery=$CELERY_PID" --sync-only "webhook to a 200 ms receiver"
kill "$CELERY_PID" && wait "$CELERY_PID" || true
kill "$RECEIVER_PID" && wait "$RECEIVER_PID" || true
CELERY_PID= RECEIVER_PID=
cat "$OUT.versus" "$OUT.off" "$OUT.hook" >> "$OUT" && rm "$OUT.versus" "$OUT.off" "$OUT.hook"
echo "Webhook pass: $(tail -1 "$SERVICES_DIR/receiver.log") by the worker during it" >> "$OUT"
# The LDAP sync of 10,000 users from a slapd it starts (full run only: about a minute).
if [ -z "$QUICK" ]; then
    $PY bench/ldap_sync.py --users 10000 >> "$OUT"
fi
$PY bench/db_ceiling.py >> "$OUT"
{
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -m)"
    echo "Versions: $($PY --version), Django $($PY -c 'import django; print(django.get_version())'), $("${PG_BIN:-/usr/lib/postgresql/15/bin}/postgres" --version), gunicorn $WORKERS sync workers, Postgres fsync on"
} >> "$OUT"
cat "$OUT"
