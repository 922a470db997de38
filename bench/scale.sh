#!/usr/bin/env bash
# The database at scale (bench/scale.py), on a throwaway Postgres 15 from .ci/services.sh:
#   bash bench/scale.sh [--orgs 1000] [--users 2000000]
# The defaults take about 6 minutes and 3 GB of data here (under 10 GB with the WAL);
# the data is discarded.
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_PORT=${BENCH_PG_PORT:-25704} REDIS_PORT=${BENCH_REDIS_PORT:-26704}
# As bench/run.sh's Postgres: shared_buffers 1 GB; and a checkpoint every 3 GB, not
# every 1 GB of WAL, while COPY writes millions of rows.
export PG_EXTRA_OPTS="-c shared_buffers=1GB -c max_wal_size=3GB ${PG_EXTRA_OPTS:-}"
# shellcheck source=.ci/services.sh
source .ci/services.sh
trap services_stop EXIT
services_start
export DATABASE_URL
unset REDIS_URL
export DEBUG=1 SECRET_KEY="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
.venv/bin/python manage.py migrate -v0
.venv/bin/python bench/scale.py "$@"
