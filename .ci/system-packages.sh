#!/usr/bin/env bash
# The Debian packages the test suite needs, installed when missing. The one copy of this
# logic: `make test` runs it before the suite and `.ci/run` before everything else.
#
# As root the missing packages are installed with apt-get (nothing else is downloaded: the
# browser tests use Debian's Chromium, never a Playwright download). As any other user the
# script names the missing packages in one line and exits 1, before any test runs.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# package name, then the file whose presence says it is installed
required=(
    "redis-server /usr/bin/redis-server"
    "chromium /usr/bin/chromium"
    "postgresql-15 $PG_BIN/initdb"
    "fonts-dejavu-core /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    "make /usr/bin/make"
    "nodejs /usr/bin/node"
    "npm /usr/bin/npm"
    "slapd /usr/sbin/slapd"
    "ldap-utils /usr/bin/ldapadd"
    "pgbouncer /usr/sbin/pgbouncer"
)

missing=()
for entry in "${required[@]}"; do
    read -r package path <<<"$entry"
    [ -e "$path" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "The test suite needs these Debian packages: ${missing[*]}." \
        "Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "Installing ${missing[*]} with apt-get"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
