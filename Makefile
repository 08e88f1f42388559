# One way in for every task. Every target sets itself up from a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8080
CONFIG ?= palisade.yaml
MOCK_PORT ?= 9100
RUST_SRC := $(shell find rust -name '*.rs') Cargo.toml Cargo.lock

.PHONY: run test lint bench mock fmt docs clean redis-server sqlite-dev node-deps chromium

# Dependencies, read from pyproject.toml so that the pins live in one place.
$(VENV)/.deps: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	touch $@

# The extension, release build, installed in develop mode (python/ stays the import root).
$(VENV)/.ext: $(VENV)/.deps $(RUST_SRC) | sqlite-dev
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/maturin develop --release --quiet
	touch $@

Cargo.lock:
	cargo generate-lockfile

# Claude Code for tests/e2e/test_claude_code.py, pinned by package.json and package-lock.json.
# Claude Code for its end-to-end test, pinned by package-lock.json; node and npm from apt
# when the machine has none.
node_modules/.palisade-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "node/npm missing: installing them"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }
	@$(MAKE) --no-print-directory node_modules/.palisade-stamp

# The gateway plus the built-in mock provider, so that it works offline out of the box.
run: $(VENV)/.ext
	$(VENV)/bin/palisade mock-upstream --port $(MOCK_PORT) & mock=$$!; \
	trap 'kill $$mock 2>/dev/null || true' EXIT INT TERM; \
	PALISADE_MOCK_URL=http://127.0.0.1:$(MOCK_PORT)/v1 PALISADE_MOCK_ROOT=http://127.0.0.1:$(MOCK_PORT) \
	  $(VENV)/bin/palisade serve --config $(CONFIG) --host $(HOST) --port $(PORT)

mock: $(VENV)/.ext
	$(VENV)/bin/palisade mock-upstream --port $(MOCK_PORT)

# The extension links the system's SQLite, the library Python's sqlite3 module loads (one copy
# per process keeps the file locks sound), so building it needs the library's link name.
sqlite-dev:
	@echo 'int main(void){return 0;}' | cc -x c - -lsqlite3 -o /dev/null 2>/dev/null || { \
	  echo "libsqlite3-dev missing: installing it"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libsqlite3-dev >/dev/null; }

redis-server:
	@command -v redis-server >/dev/null || { \
	  echo "redis-server missing: installing it"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }

# Debian's Chromium for the console's browser tests (tests/e2e/test_console.py): Playwright
# drives this one, never a browser build of its own.
chromium:
	@command -v chromium >/dev/null || { \
	  echo "chromium missing: installing it"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.ext redis-server node-deps chromium
	cargo test --quiet
	$(PY) -m pytest -q

lint: $(VENV)/.ext
	$(VENV)/bin/ruff check python tests benches
	$(VENV)/bin/ruff format --check python tests benches
	$(VENV)/bin/mypy
	$(PY) -m palisade.config.doc --check
	cargo fmt --check
	cargo clippy --quiet --all-targets -- -D warnings

fmt: $(VENV)/.deps
	$(VENV)/bin/ruff format python tests benches
	$(VENV)/bin/ruff check --fix python tests benches
	cargo fmt

# The README's configuration reference, from the config models' field descriptions.
docs: $(VENV)/.ext
	$(PY) -m palisade.config.doc

bench: $(VENV)/.ext
	command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }
	$(PY) benches/http_bench.py --lean
	$(PY) benches/guardrails_bench.py
	$(PY) benches/identity_bench.py
	$(PY) benches/limits_bench.py
	$(PY) benches/pricing_bench.py
	$(PY) benches/observability_bench.py
	$(PY) benches/slow_bodies_bench.py
	$(PY) benches/translate_bench.py
	$(PY) benches/dialects_bench.py
	$(PY) benches/console_bench.py
	$(PY) benches/routing_bench.py
	$(PY) benches/chaos_bench.py
	for b in sse tokens scan injection shape bedrock; do $(PY) benches/core_$$b.py; done

clean:
	rm -rf $(VENV) target node_modules
