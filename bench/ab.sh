#!/usr/bin/env bash
# A/B of a change to the SCIM path: the working tree (or revision CHANGE) against REV
# (default HEAD), both served as bench/run.sh serves Command Center (3 sync workers,
# fsync on, JSON logs), on one Postgres and one Redis, the same org and token, the sync
# runs interleaved (bench/versus.py).
#
#   bash bench/ab.sh [REV] [RUNS] [CHANGE]   prints the table; about 2 minutes for 3 runs each
#
# Revisions are checked out into temporary git worktrees; the working tree's bench scripts
# and migrations serve both (a change that adds a migration is measured from its own base).
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:-HEAD}
RUNS=${2:-3}
CHANGE=${3:-}
PY=$PWD/.venv/bin/python
PORT_A=${BENCH_PORT:-18765}
PORT_B=$((PORT_A + 2))
export PG_PORT=${BENCH_PG_PORT:-25700} REDIS_PORT=${BENCH_REDIS_PORT:-26700}
export PG_EXTRA_OPTS="-c shared_buffers=1GB -c fsync=on"
# shellcheck source=.ci/services.sh
source .ci/services.sh
BASE=$(mktemp -d)
HERE=$PWD
if [ -n "$CHANGE" ]; then
    HERE=$(mktemp -d)
fi
cleanup() {
    for pid in "${A_PID:-}" "${B_PID:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    services_stop
    git worktree remove --force "$BASE" 2>/dev/null || rm -rf "$BASE"
    if [ "$HERE" != "$PWD" ]; then
        git worktree remove --force "$HERE" 2>/dev/null || rm -rf "$HERE"
    fi
}
trap cleanup EXIT
git worktree add --detach -q "$BASE" "$REV"
ln -s "$PWD/.venv" "$BASE/.venv"
if [ -n "$CHANGE" ]; then
    git worktree add --detach -q "$HERE" "$CHANGE"
    ln -s "$PWD/.venv" "$HERE/.venv"
fi
services_start
export DATABASE_URL REDIS_URL LOG_LEVEL=WARNING ALLOWED_HOSTS=127.0.0.1 LOG_FORMAT=json
export SECRET_KEY="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SITE_URL="http://127.0.0.1:$PORT_A" SCIM_RATE_PER_TOKEN=1000000 SCIM_RATE_PER_ORG=1000000
$PY manage.py migrate -v0
$PY bench/prepare.py --tenants 1 --small 10 > "$SERVICES_DIR/targets.json"
serve() {  # DIR PORT
    (cd "$1" && exec "$PY" -m gunicorn commandcenter.wsgi:application \
        -c python:commandcenter.gunicorn_conf --bind "127.0.0.1:$2" --workers 3 \
        --access-logfile "$SERVICES_DIR/access-$2.log" --log-level warning \
        >> "$SERVICES_DIR/web-$2.log" 2>&1) &
}
serve "$HERE" "$PORT_A"
A_PID=$!
serve "$BASE" "$PORT_B"
B_PID=$!
for port in "$PORT_A" "$PORT_B"; do
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/accounts/login/" && break
        sleep 0.1
    done
done
read -r URL TOKEN < <($PY -c 'import json,sys; t=json.load(open(sys.argv[1]))["sync"]; print(t["base_url"], t["token"])' "$SERVICES_DIR/targets.json")
PG_PID=$(head -1 "$SERVICES_DIR/pg/postmaster.pid")
REDIS_PID=$(cat "$SERVICES_DIR/redis.pid")
TITLE="working tree"
[ -n "$CHANGE" ] && TITLE=$(git rev-parse --short "$CHANGE")
$PY -m bench.versus --titles "$TITLE,$(git rev-parse --short "$REV")" --runs "$RUNS" --target "" \
    --ours "$URL,$TOKEN" --peer "${URL/:$PORT_A/:$PORT_B},$TOKEN" \
    --ours-pids "gunicorn=$A_PID,postgres=$PG_PID,redis=$REDIS_PID" \
    --peer-pids "gunicorn=$B_PID,postgres=$PG_PID,redis=$REDIS_PID"
