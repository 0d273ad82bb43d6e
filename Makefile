# Developer commands of axon-scim. Needs only python3 and GNU make: every
# target builds .venv first, and rebuilds it only when pyproject.toml changes.
#
#   make demo [PORT=8000] [ORG=demo]   migrate, seed, print the credentials, serve
#   make test [PYTEST_ARGS=...]        the suite, then tests/hostile (DATABASE_URL selects the DB)
#   make check                         lint, typecheck, migrations-check

PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
ORG ?= demo
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv .venv demo test lint typecheck migrations-check check

help:
	@echo "make demo [PORT=8000]   run the demo portal with a seeded organization and SCIM token"
	@echo "make test               run the test suite (DATABASE_URL=postgres://... for PostgreSQL)"
	@echo "make check              lint, typecheck and migrations-check"
	@echo "make venv               create .venv and install the project with its dev extra"

venv .venv: $(STAMP)

# The stamp is written last, so an interrupted install is retried next time.
$(STAMP): pyproject.toml
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $@

# seed_demo's stdout is shell assignments; capturing it in a variable first
# (instead of eval "$(...)") lets set -e stop on a failed seed.
demo: $(STAMP)
	$(PY) manage.py migrate --noinput
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
test: $(STAMP)
	@status=0; \
	$(VENV)/bin/pytest $(PYTEST_ARGS) || status=1; \
	$(VENV)/bin/pytest --ds=tests.hostile.settings tests/hostile || status=1; \
	exit $$status

# Both linters run even when the first fails, so one run reports everything.
lint: $(STAMP)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	exit $$status

typecheck: $(STAMP)
	$(VENV)/bin/mypy axon_scim portal_demo

migrations-check: $(STAMP)
	$(PY) manage.py makemigrations --check --dry-run --noinput

check: lint typecheck migrations-check

# The benchmark suite (bench/): quick by default, FULL=1 for 100,000 users per
# organization. Needs PostgreSQL at 127.0.0.1:5432; uses its own databases.
FULL ?=
.PHONY: bench
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,compare]'
	$(PY) -m bench.run $(if $(FULL),--full,)
