# The two commands a newcomer types: `make run` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test fuzz lint migrate-check clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask marketplace demo
	@echo "Serving on http://127.0.0.1:5000 (Ctrl-C to stop)"
	@echo "Portal: sign in at http://127.0.0.1:5000/login as any user in instance/demo-credentials.json (\"users\")"
	MARKETPLACE_SCHEDULER_THREAD=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# A longer, random fuzz run (a short deterministic one is part of `make test`): FUZZ_EXAMPLES cases per
# operation and actor in the fuzzing phase; FUZZ_SEED=S repeats a run (the seed is printed at the end).
# FUZZ_BACKEND=postgres (with TEST_DATABASE_URL) runs it on PostgreSQL instead of SQLite.
FUZZ_EXAMPLES ?= 200
fuzz: $(VENV)/.installed-dev
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/fuzz --timeout=0

migrate-check: $(VENV)/.installed
	$(BIN)/flask db check

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
