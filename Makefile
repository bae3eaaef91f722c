# The README's commands. `make install` builds .venv at the repo root from the pinned locks:
# requirements.lock (what the services run on, also used by the Docker image) and
# requirements-dev.lock (that plus the test and check tools).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install preflight check format test test-long test-faults test-cluster-day up bench lock clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $@

# What the tests need beyond the venv: the three servers, the RabbitMQ management API (switched
# on here when this user may), Chromium and nginx; one line per missing piece and its fix.
preflight: install
	@$(PY) -m deploy.preflight test

check: install
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Tests run in two worker processes (pytest-xdist): each test has its own database, vhost
# and key prefix, so they never collide. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
test: preflight
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The long ones: the generated attacks on every API and both front doors, the floods, and the
# servers frozen until a deadline passes (each most of a minute): not in `make test`.
test-long: preflight
	$(PY) -m pytest -n $(TEST_WORKERS) -m long tests $(PYTEST_ARGS)

# Faults injected into private servers the tests start themselves (tests/servers.py: their own
# PostgreSQL, RabbitMQ node and Redis, never the machine's): minutes long, so not in `make test`.
# One process: the module shares one running system across its faults.
test-faults: preflight
	$(PY) -m pytest -n 0 -m fault tests $(PYTEST_ARGS)

# The province's day on a three-node cluster alone (part of test-faults), to run it again.
test-cluster-day: preflight
	$(PY) -m pytest -n 0 -m cluster_day tests $(PYTEST_ARGS)

up: install
	$(PY) -m deploy.local

bench: install
	$(PY) bench/intake.py
	$(PY) bench/intake_channels.py
	$(PY) bench/workflow.py
	$(PY) bench/reporting.py
	$(PY) bench/import.py
	$(PY) bench/pii.py
	$(PY) bench/province.py

# Re-pin both locks after changing pyproject.toml.
LOCK_FLAGS := --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links
lock: install
	$(VENV)/bin/pip install --quiet pip-tools
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) --extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
