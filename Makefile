# tailcast — the two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CONFIG ?= etc/tailcast.toml

# System packages: build (pkg-config, PCRE2, libsystemd, the NATS C client) and end-to-end tests.
BUILD_PKGS := pkg-config libpcre2-dev libsystemd-dev libnats-dev
TEST_PKGS := logrotate curl jq procps chromium chromium-driver nginx-light openssl systemd-journal-remote python3-yaml nats-server
PY_PKGS := pytest websockets selenium sseclient-py

.PHONY: all deps deps-build deps-test build release run test unit e2e bench deb deb-test clean fuzz lint format

all: build

# Installs only what is missing (with sudo when not root).
deps: deps-build deps-test

deps-build:
	@missing=""; for p in $(BUILD_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

deps-test: deps-build
	@missing=""; for p in $(TEST_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@dpkg -s prometheus >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus && { $(SUDO) systemctl disable --now prometheus >/dev/null 2>&1 || true; }; }
	@if [ ! -x $(PY) ]; then python3 -m venv $(VENV) || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv && python3 -m venv $(VENV); }; fi
	@$(PY) -c 'import pytest, websockets, selenium, sseclient' 2>/dev/null || $(VENV)/bin/pip install -q $(PY_PKGS)

build: deps-build
	$(SWIFT) build

release: deps-build
	$(SWIFT) build -c release --product tailcast

# Builds release and serves the default config on 127.0.0.1:8080.
run: release
	./.build/release/tailcast --config $(CONFIG)

# One debug build serves both suites: unit tests, then the end-to-end tests on its binary.
test: deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	bash packaging/check-unit.sh
	TAILCAST_BIN=$(CURDIR)/.build/debug/tailcast bash packaging/check-monitoring.sh
	$(MAKE) e2e
	$(MAKE) deb-test

# The Swift community's formatter, shipped with the toolchain (rules in .swift-format).
FORMATTED := Sources Tests Benchmarks Fuzz Package.swift
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(FORMATTED)

format:
	$(SWIFT) format --in-place --recursive --parallel $(FORMATTED)

e2e: deps-test
	TAILCAST_BIN=$(CURDIR)/.build/debug/tailcast $(PY) -m pytest -q Tests/e2e

# Release builds; results go to stdout (copy them into Benchmarks/README.md). Issue 11's table
# beside websocketd and tailon 1.4.3 (its own venv, $(BENCH_VENV)): 3 runs, medians (~15 min);
# then issue 13's: 3 agents through nats-server (from deps-test) to a viewer, beside the
# single-host path (~2 min). BENCH_QUICK=1 runs each once. Single scenarios:
# Benchmarks/load.sh, Benchmarks/journal.sh, Benchmarks/cluster.py --rows ...
BENCH_VENV := .bench-venv
bench: deps
	@missing=""; for p in websocketd bc systemd-journal-remote; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@[ -x $(BENCH_VENV)/bin/tailon ] || { python3 -m venv $(BENCH_VENV) && $(BENCH_VENV)/bin/pip install -q tailon==1.4.3; }
	$(SWIFT) build -c release --product tailcast
	$(SWIFT) build -c release --product tailcast-bench
	bash Benchmarks/scan.sh
	TAILON_PY=$(CURDIR)/$(BENCH_VENV)/bin/python python3 Benchmarks/table.py
	python3 Benchmarks/cluster.py

# Debian package (static Swift runtime) in dist/, checked with lintian when it is installed.
deb: deps-build
	@dpkg -s lintian >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq lintian; }
	bash packaging/build-deb.sh

# Installs the package, runs it, and purges it.
deb-test: deb
	$(SUDO) dpkg -i dist/tailcast_0.1.0_$$(dpkg --print-architecture).deb
	tailcast --version
	tailcast check-config /etc/tailcast/tailcast.toml
	$(SUDO) dpkg --purge tailcast
	@! dpkg -s tailcast >/dev/null 2>&1 && [ ! -e /etc/tailcast/tailcast.toml ] && echo "deb-test: installed, ran and purged cleanly"

# libFuzzer over the query-string, client-message JSON and config parsers and the line splitter
# with UTF-8 repair; bounded runs per target (FUZZ_RUNS, FUZZ_MAX_TIME). Not part of `make test`.
# Builds in .build-fuzz; see Fuzz/README.md.
fuzz: deps-build
	bash Fuzz/build.sh
	bash Fuzz/run.sh

clean:
	rm -rf .build $(VENV)
