# Executor — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install run run-live test test-fast lint bench migrate clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python -m worker migrate

# The dashboard's login: where its password is (the file's path, never the password).
# The paper world lists MLB and EPL games and lines too (EXECUTOR_PAPER_LEAGUES, docs/paper-exchange.md).
run: $(STAMP) migrate
	@$(BIN)/python -m worker dashboard-password
	EXECUTOR_PAPER_LEAGUES=$${EXECUTOR_PAPER_LEAGUES:-all} $(BIN)/honcho start -f Procfile

run-live: $(STAMP) migrate
	@EXECUTOR_MODE=live $(BIN)/python -m worker dashboard-password
	EXECUTOR_MODE=live $(BIN)/honcho start -f Procfile.live

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_clock.py
	$(BIN)/python scripts/check_module_size.py
	$(BIN)/python -m pylint --disable=all --enable=duplicate-code --min-similarity-lines=8 worker db dashboard paper_exchange

# Tests run on TEST_WORKERS processes (pytest-xdist); most of them wait on sockets,
# subprocesses and the clock, so more workers than cores pays. See tests/README.md.
TEST_WORKERS ?= 4
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

test: lint
	$(PYTEST)

# The inner loop: no browser, no crash cycles or other slow end-to-end runs, no PostgreSQL.
test-fast: $(STAMP)
	$(PYTEST) -m "not browser and not slow and not postgres"

bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
