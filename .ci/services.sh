# Start and stop a throwaway Postgres 15 and Redis on 127.0.0.1 for CI and local
# test runs:  source .ci/services.sh && trap services_stop EXIT && services_start
# Sets DATABASE_URL and REDIS_URL. Data lives in a temp folder and is discarded.
# services_stop stops whatever services_start got to, so set the trap first.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# Below the kernel's ephemeral range (32768-60999 here), so no outgoing connection and no
# server a test starts on a free port (tests/conftest.py free_port) can hold them.
PG_PORT=${PG_PORT:-25432}
REDIS_PORT=${REDIS_PORT:-26379}

services_start() {
    SERVICES_DIR=$(mktemp -d /tmp/commandcenter-ci.XXXXXX)
    chmod 755 "$SERVICES_DIR"
    local as_pg=()
    if [ "$(id -u)" = 0 ]; then
        # initdb refuses to run as root: run Postgres as the package's postgres user.
        chown postgres: "$SERVICES_DIR"
        as_pg=(runuser -u postgres --)
    fi
    "${as_pg[@]}" "$PG_BIN/initdb" -D "$SERVICES_DIR/pg" -U postgres -A trust -E UTF8 \
        --no-sync >/dev/null
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -l "$SERVICES_DIR/pg.log" -w -s \
        -o "-h 127.0.0.1 -p $PG_PORT -k $SERVICES_DIR -c fsync=off -c max_connections=200 ${PG_EXTRA_OPTS:-}" start
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres commandcenter
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/commandcenter"

    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
        --daemonize yes --pidfile "$SERVICES_DIR/redis.pid" --logfile "$SERVICES_DIR/redis.log"
    # Ready once this server wrote its pid file and answers (a ping alone could reach
    # another Redis that already holds the port: this one would have exited).
    for _ in $(seq 100); do
        [ -s "$SERVICES_DIR/redis.pid" ] && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    if [ ! -s "$SERVICES_DIR/redis.pid" ]; then
        echo "services: redis-server did not start on 127.0.0.1:$REDIS_PORT; its log:" >&2
        tail -5 "$SERVICES_DIR/redis.log" >&2 || true
        return 1
    fi
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    export DATABASE_URL REDIS_URL SERVICES_DIR PG_PORT REDIS_PORT
    echo "services: Postgres on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"
}

services_stop() {
    [ -n "${SERVICES_DIR:-}" ] || return 0
    local as_pg=()
    [ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate -s stop || true
    [ -f "$SERVICES_DIR/redis.pid" ] && kill "$(cat "$SERVICES_DIR/redis.pid")" 2>/dev/null || true
    rm -rf "$SERVICES_DIR"
}
