# cargogym — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
TORCH_VERSION ?= 2.13.0
STAMP  := $(VENV)/.installed-stamp
DEVSTAMP := $(VENV)/.installed-dev-stamp
PYTEST_ARGS ?=

.PHONY: demo test install install-dev vocab check-cargo bench clean docker-up

check-cargo:
	@command -v cargo >/dev/null 2>&1 || { echo "cargogym: cargo not found on PATH. Install the Rust toolchain: curl https://sh.rustup.rs -sSf | sh (or your distro's rustc+cargo packages), then re-run."; exit 1; }

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first, pinned to the CPU build these machines carry, so nothing pulls CUDA wheels.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install -q torch==$(TORCH_VERSION) || $(PIP) install -q torch
	$(PIP) install -q -e .
	@touch $@

$(DEVSTAMP): $(STAMP)
	$(PIP) install -q -e '.[dev]'
	@touch $@

vocab:
	@bash scripts/fetch_harmony_vocab.sh .cache/harmony

install: check-cargo $(STAMP) vocab
install-dev: check-cargo $(DEVSTAMP) vocab

demo: install
	$(VENV)/bin/cargogym demo

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/cargogym bench run all

clean:
	rm -rf $(VENV) build dist *.egg-info .cache runs
