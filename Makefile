# The two commands of the README:
#   make demo    — set up and run the demo against the built-in fake exchange
#   make check   — set up and run everything CI runs: lint, format, types, regenerate-and-diff, tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo check install lint format typecheck generate regen-check test bench postgres redis clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python -m hyperliquid_client demo $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

generate: install
	$(BIN)/python -m hyperliquid_client.codegen generate --spec spec --out hyperliquid_client/generated

regen-check: install
	$(BIN)/python -m hyperliquid_client.codegen check --spec spec --out hyperliquid_client/generated

postgres:
	bash scripts/ensure_postgres.sh

redis:
	bash scripts/ensure_redis.sh

test: install postgres redis
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

check: install lint typecheck regen-check test

bench: install
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
