# `make run`: install (with the `openllm` client), migrate, demo accounts, web server + Celery worker.
# `make test`: install, ruff and mypy, the whole pytest suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000

.PHONY: run test lint install messages bench

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The project itself is installed too (editable, without dependencies): that
# is the `openllm` command-line client, $(BIN)/openllm. pip may fetch
# setuptools from the index to build it.
INSTALL_SELF = $(BIN)/python -m pip install --quiet --no-deps -e .

$(VENV)/.installed-run: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(INSTALL_SELF)
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(INSTALL_SELF)
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_dev $(ADDR)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# The tests keep their SQLite file, broker folder and cache apart from the
# ones `make run` uses.
test: lint
	VAR_DIR=$(CURDIR)/var/test $(BIN)/python -m pytest

# Refresh the translations after changing strings (needs GNU gettext).
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages --locale fr --locale en --ignore '.venv/*' --ignore 'var/*'
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

# Throughput and memory of the analysis (prints one JSON line).
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/ingest.py --size-mb 100
