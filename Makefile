# cargogym — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
TORCH_VERSION ?= 2.13.0
STAMP  := $(VENV)/.installed-stamp
DEVSTAMP := $(VENV)/.installed-dev-stamp
PYTEST_ARGS ?=

TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
DOCKERD_PIDFILE ?= .cache/dockerd.pid
DOCKERD_LOG ?= /tmp/cargogym-dockerd.log

.PHONY: demo test install install-dev vocab check-cargo bench clean docker-engine docker-engine-stop

check-cargo:
	@command -v cargo >/dev/null 2>&1 || { echo "cargogym: cargo not found on PATH. Install the Rust toolchain: curl https://sh.rustup.rs -sSf | sh (or your distro's rustc+cargo packages), then re-run."; exit 1; }

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first, pinned to the CPU build these machines carry, so nothing pulls CUDA wheels. When the
# pin is not on the index, fall back to PyTorch's CPU index -- never to a plain `pip install torch`,
# which pulls CUDA wheels on Linux; when that fails too, stop with a message saying what to do.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install -q torch==$(TORCH_VERSION) || $(PIP) install -q --index-url $(TORCH_CPU_INDEX) torch || { \
	  echo "cargogym: could not install a CPU build of torch: torch==$(TORCH_VERSION) is not on the package index and $(TORCH_CPU_INDEX) is unreachable. Install a CPU torch into $(VENV) yourself (e.g. $(PIP) install torch --index-url $(TORCH_CPU_INDEX)) or pick an available version with 'make TORCH_VERSION=x.y.z', then re-run. (Not falling back to 'pip install torch': on Linux it pulls CUDA wheels.)" >&2; \
	  exit 1; }
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

# A real Docker engine (Debian docker.io, no registry needed) so the docker backend's tests run for
# real (.ci/run calls this, and docker-engine-stop at the end). Root only: installs docker.io when
# dockerd is missing and starts dockerd unless an engine already answers, recording its pid in
# $(DOCKERD_PIDFILE) so docker-engine-stop stops only an engine started here. Never fatal: without
# an engine the docker tests skip with a reason.
docker-engine:
	@if [ "$$(id -u)" != "0" ]; then echo "docker-engine: not root; docker tests will skip"; exit 0; fi; \
	if ! command -v dockerd >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io) >/tmp/cargogym-docker-install.log 2>&1 \
	    || { echo "docker-engine: could not install docker.io (log: /tmp/cargogym-docker-install.log); docker tests will skip"; exit 0; }; \
	fi; \
	if ! docker info >/dev/null 2>&1; then \
	  mkdir -p $(dir $(DOCKERD_PIDFILE)); \
	  nohup dockerd --iptables=false --bridge=none >$(DOCKERD_LOG) 2>&1 </dev/null & echo $$! >$(DOCKERD_PIDFILE); \
	  for _ in $$(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	fi; \
	if docker info >/dev/null 2>&1; then echo "docker-engine: running"; \
	else echo "docker-engine: did not start (log: $(DOCKERD_LOG)); docker tests will skip"; fi

docker-engine-stop:
	@if [ -f $(DOCKERD_PIDFILE) ]; then \
	  pid=$$(cat $(DOCKERD_PIDFILE)); kill $$pid 2>/dev/null || true; \
	  for _ in $$(seq 1 20); do kill -0 $$pid 2>/dev/null || break; sleep 0.5; done; \
	  rm -f $(DOCKERD_PIDFILE); echo "docker-engine: stopped"; \
	fi

bench: install
	$(VENV)/bin/cargogym bench run all

clean:
	rm -rf $(VENV) build dist *.egg-info .cache runs
