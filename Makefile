# Developer commands of axon-scim. Needs only python3 and GNU make: every
# target builds .venv first, and installs into it again only when pyproject.toml changes.
#
#   make demo [PORT=8000] [ORG=demo]   check the port, install, migrate, seed, print the credentials, serve
#   make test [PYTEST_ARGS=...]        the suite, then tests/hostile (DATABASE_URL selects the DB;
#                                      the slow fresh-host test runs with pytest -m slow)
#   make check                         lint, typecheck, migrations-check

PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two installs, two stamps: the demo needs the app and dj-database-url (.[demo]);
# tests, checks and the benchmark need the dev tools (.[dev], a superset of the demo's).
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev
DEMO_LOG := $(VENV)/install-demo.log
PORT ?= 8000
ORG ?= demo
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv .venv demo port-free test lint typecheck migrations-check check

help:
	@echo "make demo [PORT=8000]   run the demo portal with a seeded organization and SCIM token"
	@echo "make test               run the test suite (DATABASE_URL=postgres://... for PostgreSQL)"
	@echo "make check              lint, typecheck and migrations-check"
	@echo "make venv               create .venv and install the project with its dev extra"

venv .venv: $(DEV_STAMP)

$(PY):
	@$(PYTHON3) -m venv $(VENV)

# Each stamp is written last, so an interrupted install is retried next time.
$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $@ $(DEMO_STAMP)

# Quiet: pip's output goes to a log, shown only if the install fails.
$(DEMO_STAMP): pyproject.toml | $(PY)
	@echo "Installing the demo into $(VENV) (pip's log: $(DEMO_LOG)) ..."
	@$(PY) -m pip install --quiet -e '.[demo]' > $(DEMO_LOG) 2>&1 || { cat $(DEMO_LOG); exit 1; }
	@touch $@

# Fails, before anything is installed or seeded, when 127.0.0.1:$(PORT) is taken.
# SO_REUSEADDR as runserver sets it, so a port left in TIME_WAIT counts as free.
define PORT_CHECK
import socket, sys
port = sys.argv[1]
if not port.isdigit() or not 0 < int(port) < 65536:
    sys.exit(f"PORT={port!r} is not a TCP port number.")
with socket.socket() as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", int(port)))
    except OSError as error:
        sys.exit(f"127.0.0.1:{port} is in use ({error.strerror}); nothing was seeded. "
                 f"Pick another port: make demo PORT={int(port) + 1}")
endef
export PORT_CHECK

port-free:
	@$(PYTHON3) -c "$$PORT_CHECK" '$(PORT)'

# The port is checked first: on a busy port nothing is installed, migrated or seeded.
# seed_demo's stdout is shell assignments; capturing it in a variable first
# (instead of eval "$(...)") lets set -e stop on a failed seed.
demo: port-free $(DEMO_STAMP)
	@$(PY) manage.py migrate --noinput --verbosity 0
	@set -e; \
	seed="$$($(PY) manage.py seed_demo --org '$(ORG)')"; \
	eval "$$seed"; \
	echo; \
	echo "SCIM base URL:  http://127.0.0.1:$(PORT)/scim/v2/"; \
	echo "SCIM token:     $$SCIM_TOKEN"; \
	echo "Portal login:   http://127.0.0.1:$(PORT)/accounts/login/"; \
	echo "                username $$PORTAL_USERNAME, password $$PORTAL_PASSWORD"; \
	echo "Organization:   $$ORG_SLUG"; \
	echo; \
	echo "Try:"; \
	echo "  curl -H \"Authorization: Bearer $$SCIM_TOKEN\" http://127.0.0.1:$(PORT)/scim/v2/Users"; \
	echo; \
	exec $(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload --insecure

# Two runs: the suite, then the hostile-host suite (tests/hostile), which needs
# settings of its own (a custom user model, every REST_FRAMEWORK default set).
# Both run even when the first fails; PYTEST_ARGS goes to the first only.
test: $(DEV_STAMP)
	@status=0; \
	$(VENV)/bin/pytest $(PYTEST_ARGS) || status=1; \
	$(VENV)/bin/pytest --ds=tests.hostile.settings tests/hostile || status=1; \
	exit $$status

# Both linters run even when the first fails, so one run reports everything.
lint: $(DEV_STAMP)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	exit $$status

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy axon_scim portal_demo

migrations-check: $(DEV_STAMP)
	$(PY) manage.py makemigrations --check --dry-run --noinput

check: lint typecheck migrations-check

# The benchmark suite (bench/): quick by default, FULL=1 for 100,000 users per
# organization. Needs PostgreSQL at 127.0.0.1:5432; uses its own databases.
FULL ?=
.PHONY: bench
bench: $(DEV_STAMP)
	$(PY) -m pip install --quiet -e '.[dev,compare]'
	$(PY) -m bench.run $(if $(FULL),--full,)
