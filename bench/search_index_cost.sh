#!/usr/bin/env bash
# The console search indexes' cost per user created (bench/search_index_cost.py), on a
# throwaway Postgres 15 from .ci/services.sh.   bash bench/search_index_cost.sh [USERS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_PORT=${BENCH_PG_PORT:-25703} REDIS_PORT=${BENCH_REDIS_PORT:-26703}
# shellcheck source=.ci/services.sh
source .ci/services.sh
trap services_stop EXIT
services_start
export DATABASE_URL
unset REDIS_URL
export DEBUG=1 SECRET_KEY="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
.venv/bin/python manage.py migrate -v0
.venv/bin/python bench/search_index_cost.py "${1:-5000}"
