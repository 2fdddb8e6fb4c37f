# The two commands of the README: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint format bench bench-deps clean docs system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/m3u-strm serve

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --strict src/

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# bench/probe.py compares PyAV with Debian's ffprobe.
bench-deps:
	@{ command -v ffprobe && command -v nginx; } >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    ffmpeg nginx-light || DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends ffmpeg nginx; }

bench: $(VENV)/.installed-dev bench-deps
	$(BIN)/python bench/parse_m3u.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/merge.py
	$(BIN)/python bench/strm.py
	$(BIN)/python bench/render_outputs.py
	$(BIN)/python bench/health.py
	$(BIN)/python bench/probe.py
	$(BIN)/python bench/proxy.py
	$(BIN)/python bench/sessions.py

# System tools some tests use: tv_validate_file (xmltv-util) validates our XMLTV output. Needs root or sudo.
system-deps:
	@command -v tv_validate_file >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends xmltv-util; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

docs: $(VENV)/.installed-dev
	$(BIN)/python -c "from m3u_strm.config import settings_markdown; open('docs/settings.md','w').write(settings_markdown())"
	$(BIN)/python -c "from m3u_strm.cli.reference import cli_markdown; open('docs/cli.md','w').write(cli_markdown())"
