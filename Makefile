# Two commands matter: `make run` (set up, then run the pipeline once on the sample) and
# `make test`. Everything else here is a convenience around them.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Optional: a PyTorch index with CPU wheels (e.g. https://download.pytorch.org/whl/cpu), so a
# laptop does not download the multi-GB CUDA build of torch from PyPI.
TORCH_INDEX ?=

export DAGSTER_HOME ?= $(CURDIR)/.dagster
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test test-fast ui webserver daemon clean sample chromium duckdb1

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "impacting needs Python 3.11 or newer; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -e '.[dev,eval]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/impacting run

test: install chromium duckdb1
	$(BIN)/ruff check impacting impacting_tests data benchmarks scripts
	$(BIN)/pytest

# The edit-test loop: lint and every test not marked slow (no whole-pipeline runs, model loads,
# browsers or servers). `make test` is what CI runs.
test-fast: install
	$(BIN)/ruff check impacting impacting_tests data benchmarks scripts
	$(BIN)/pytest -m "not slow"

# A test opens the delivery report in headless Chromium (Debian's package), installed here when
# missing. Without root this only says what to run; the test then fails saying the same.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium) \
			|| echo "could not install chromium; the report test will fail until it is installed"; \
		else \
			echo "chromium is missing: run 'sudo apt-get install -y --no-install-recommends chromium' (Debian/Ubuntu)"; \
		fi; }

# A test opens the published warehouse with DuckDB 1.x, as analysts' older clients do: DuckDB
# 1.4 (the oldest release the published storage version promises) in an environment of its own.
DUCKDB1 := .venv-duckdb1
duckdb1: $(DUCKDB1)/.installed

$(DUCKDB1)/.installed:
	$(PYTHON) -m venv $(DUCKDB1)
	$(DUCKDB1)/bin/pip install --quiet 'duckdb>=1.4,<1.5'
	touch $@

# The Dagster UI on http://127.0.0.1:3000, with a daemon so the nightly schedule fires.
ui: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Production-style: the webserver and the daemon as two long-running processes.
webserver: install
	$(BIN)/dagster-webserver -w workspace.yaml -h 0.0.0.0 -p 3000

daemon: install
	$(BIN)/dagster-daemon run -w workspace.yaml

sample: install
	$(BIN)/python data/build_sample.py

clean:
	rm -rf $(VENV) $(DUCKDB1) warehouse reports site .site.versions .pytest_cache
