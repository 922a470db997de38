#!/usr/bin/env bash
# The console's CSV export of a 100,000-user org, against the production setup on this
# machine: a throwaway Postgres 15 and Redis on 127.0.0.1 (.ci/services.sh), gunicorn as
# deployed (one worker, so its memory is the export's), then bench/export.py.
#
#   bash bench/export.sh            100,000 users, three downloads
#   bash bench/export.sh 20000      another size
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-100000}
PORT=${BENCH_PORT:-18766}
PY=.venv/bin/python

export PG_PORT=${BENCH_PG_PORT:-25701} REDIS_PORT=${BENCH_REDIS_PORT:-26701}
# shellcheck source=.ci/services.sh
source .ci/services.sh
cleanup() {
    [ -n "${GUNICORN_PID:-}" ] && kill "$GUNICORN_PID" 2>/dev/null && wait "$GUNICORN_PID" 2>/dev/null
    services_stop
}
trap cleanup EXIT
services_start

export DATABASE_URL REDIS_URL
export SECRET_KEY="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SITE_URL="http://127.0.0.1:$PORT" ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=WARNING
$PY manage.py migrate -v0
$PY bench/prepare.py --tenants 0 --console "$USERS" > "$SERVICES_DIR/targets.json"

$PY -m gunicorn commandcenter.wsgi:application -c python:commandcenter.gunicorn_conf \
    --bind "127.0.0.1:$PORT" --workers 1 \
    --worker-class commandcenter.gunicorn_workers.ThreadWorker --threads 2 --log-level warning &
GUNICORN_PID=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/accounts/login/" && break
    sleep 0.1
done
$PY bench/export.py --targets "$SERVICES_DIR/targets.json" --gunicorn "$GUNICORN_PID"
echo
echo "Machine: $(nproc) cores; $($PY --version), $("$PG_BIN/postgres" --version), gunicorn 1 worker × 2 threads"
