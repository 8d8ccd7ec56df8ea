# Two commands on a fresh machine: `make run` and `make test`. Both build on `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU build of torch, installed before anything that depends on it so pip never pulls a
# multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: setup setup-dev run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

# Indexes seeds/ on first run, then the Discord bot when DISCORD_TOKEN is set (env or .env),
# else the terminal chat.
run: setup
	$(BIN)/articlebot start

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: setup-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

format: setup-dev
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: setup-dev
	$(BIN)/python -m bench.build_bench
	$(BIN)/python -m bench.query_path_bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
