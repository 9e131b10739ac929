# aggtrades - the two commands of the README, and the steps behind them.
#
#   make demo   install what is missing, build, run the tool against the bundled simulator
#   make test   install what is missing, build, run every test (unit, sanitizers, fuzz
#               corpus replay, integration, interop)
#
#   make fuzz   install clang if missing, build the instrumented fuzz targets, run each
#               for FUZZ_SECONDS (default 60) and print executions, exec/s, coverage
#               (FUZZ_TARGETS="fuzz_x ..." for some; FUZZ_MERGE=1 adds what they found
#               to the committed corpora, minimized)
#
# Other targets: deps, build, asan, unit, integration, bench, clean.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
APT_PACKAGES := cmake pkg-config gcc make libcurl4-openssl-dev libzstd-dev libxxhash-dev \
                libzip-dev
# Spark (interop tests) needs a Java runtime; any one will do.
JAVA_PACKAGE := $(if $(shell command -v java 2>/dev/null),,default-jre-headless)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_ARGS ?=
# The fuzz build: clang and its libFuzzer runtime.
FUZZ_APT_PACKAGES := clang libclang-rt-dev
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: all deps fuzz-deps build asan unit unit-asan integration test demo bench fuzz clean

all: build

# Debian packages: installed only when one is missing (apt-get needs root).
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

deps: $(VENV)/.installed
	$(call apt_install,$(APT_PACKAGES) $(JAVA_PACKAGE))

# The fuzz build needs the C libraries and clang, not the Python environment.
fuzz-deps:
	$(call apt_install,$(APT_PACKAGES) $(FUZZ_APT_PACKAGES))

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

build: deps
	cmake --preset dev >/dev/null
	cmake --build build -j$(JOBS)

asan: deps
	cmake --preset asan >/dev/null
	cmake --build build-asan -j$(JOBS)

unit: build
	ctest --test-dir build --output-on-failure -j$(JOBS)

unit-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-asan --output-on-failure -j$(JOBS)

integration: build
	AGT_LIB=$(CURDIR)/build/libaggtrades.so AGT_BIN=$(CURDIR)/build/aggtrades PYTHONPATH=$(CURDIR)/python \
	  $(VPY) -m pytest tests/integration -q -p no:cacheprovider $(PYTEST_ARGS)

test: unit unit-asan integration

demo: build
	./tools/demo.sh

bench: build
	cmake --preset release >/dev/null && cmake --build build-release -j$(JOBS)
	AGT_LIB=$(CURDIR)/build-release/libaggtrades.so AGT_BIN=$(CURDIR)/build-release/aggtrades \
	  PYTHONPATH=$(CURDIR)/python $(VPY) bench/run_all.py

fuzz: fuzz-deps
	cmake --preset fuzz >/dev/null
	cmake --build build-fuzz --target fuzzers -j$(JOBS)
	./fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build build-asan build-release build-fuzz
