# Each target works on a fresh machine by itself: it makes .venv and installs what it needs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_DIR ?= .lab
DEB_PACKAGES := prometheus prometheus-alertmanager
# -rs: a skipped test is listed with its reason, never hidden
PYTEST_ARGS ?= -rs
# passed to `drewburr lab`, e.g. make lab ARGS="--time-scale 10 --scenario my.yaml"
ARGS ?=

.PHONY: lab test lint lock bench debs venv clean docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests use (real Prometheus, Alertmanager and kubectl); installed only when missing.
debs:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# kubectl: the machine image ships one; else Debian's kubernetes-client (older, but a real kubectl)
	@command -v kubectl >/dev/null || { echo "installing kubectl (kubernetes-client)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null; }

lab: $(STAMP)
	$(BIN)/drewburr lab --dir $(LAB_DIR) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

# the image's locks, pinned with their hashes: requirements.lock (the runtime dependencies, no extras) and
# requirements-build.lock (the build backend that makes drewburr's wheel)
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --allow-unsafe --only-build-deps --build-deps-for wheel \
	  --output-file requirements-build.lock pyproject.toml

test: $(STAMP) debs lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# docs written from the code: the configuration reference
docs: $(STAMP)
	$(BIN)/python -m bot.config_reference > docs/config.md

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(LAB_DIR) .pytest_cache .ruff_cache
