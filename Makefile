# The two commands a newcomer needs (see README.md):
#   make run    set up .venv/, migrate, create the demo org and admin, serve on 127.0.0.1:8000
#   make test   install the Debian packages the suite needs (as root), set up .venv/ and
#               run the whole test suite
# Everything else here is for developers.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes: more than the two cores, since the fault, worker and browser tests spend
# most of their time waiting on the servers they start (3 workers: 70 s, 2: 100 s).
TEST_WORKERS ?= 3

.PHONY: run test lint fmt lock screenshots system-packages

$(BIN)/.installed: requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: Command Center needs Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# redis-server, chromium, postgresql-15, fonts, slapd, pgbouncer: installed with apt-get as
# root, otherwise named in one line (and nothing runs). The same script runs first in .ci/run.
system-packages:
	@bash .ci/system-packages.sh

# The IdPs the sign-in tests start (npm registry packages, pinned by the lock file).
IDPS := tests/idps
$(IDPS)/node_modules/.installed: $(IDPS)/package-lock.json
	npm ci --prefix $(IDPS) --no-audit --no-fund --loglevel=error
	touch $@

test: system-packages $(BIN)/.installed $(IDPS)/node_modules/.installed
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# Refresh docs/screenshots/*.png from the browser tests (needs /usr/bin/chromium).
screenshots: system-packages $(BIN)/.installed
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser

fmt: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin every dependency after editing pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --no-strip-extras -o requirements.lock
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-strip-extras -o requirements-prod.lock
