# Two commands on a fresh machine: `make run` and `make test`. Both build on `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU build of torch, installed before anything that depends on it so pip never pulls a
# multi-GB CUDA build. On PyPI, torch for Linux is the CUDA build; PyTorch's CPU index serves
# 2.13.0+cpu, which pip prefers to 2.13.0 when offered both. Where that index is unreachable
# (an offline mirror), pip would retry it for every package it looks up (measured: 79 s for
# torch and its dependencies), so it is probed once, within TORCH_INDEX_TIMEOUT seconds, and
# left out when it does not answer.
TORCH := torch==2.13.0
TORCH_INDEX := https://download.pytorch.org/whl/cpu
TORCH_INDEX_TIMEOUT := 5
TORCH_PROBE := import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))

.PHONY: setup setup-dev run test lint format bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	@if $(BIN)/python -c '$(TORCH_PROBE)' $(TORCH_INDEX)/torch/ $(TORCH_INDEX_TIMEOUT) 2>/dev/null; then \
		echo "$(BIN)/pip install $(TORCH) --extra-index-url $(TORCH_INDEX)"; \
		$(BIN)/pip install --quiet --extra-index-url $(TORCH_INDEX) $(TORCH); \
	else \
		echo "$(TORCH_INDEX) does not answer: $(TORCH) from the configured index"; \
		$(BIN)/pip install --quiet $(TORCH); \
	fi
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

# The worker (which indexes seeds/ on first run and does every update) as a child process, and
# the Discord bot when DISCORD_TOKEN is set (env or .env), else the terminal chat.
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
	$(BIN)/python -m bench.feeds_bench
	$(BIN)/python -m bench.query_path_bench

# Thousands of generated hostile files through the readers; fails on any unexpected exception.
fuzz: setup-dev
	$(BIN)/python -m bench.fuzz_readers --files 5000

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
