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

.PHONY: install run test ui webserver daemon clean sample

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "impacting needs Python 3.11 or newer; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/impacting run

test: install
	$(BIN)/ruff check impacting impacting_tests data
	$(BIN)/pytest

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
	rm -rf $(VENV) warehouse reports .pytest_cache
