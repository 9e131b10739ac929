# aggtrades - the two commands of the README, and the steps behind them.
#
#   make demo   install what is missing (the C build dependencies only), build the tool,
#               run it against the bundled simulator
#   make test   install what is missing (the whole test environment), build, run every
#               test (unit, sanitizers, fuzz corpus replay, integration, interop, install)
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   the tool, the library, its headers,
#               aggtrades.pc, the man page and completions (Release build in build-install/)
#   make uninstall [DESTDIR=]                     removes what `make install` installed
#   make python install this checkout's Python package into .venv (pip, as users do)
#
#   make fuzz   install clang if missing, build the instrumented fuzz targets, run each
#               for FUZZ_SECONDS (default 60) and print executions, exec/s, coverage
#               (FUZZ_TARGETS="fuzz_x ..." for some; FUZZ_MERGE=1 adds what they found
#               to the committed corpora, minimized)
#
#   make damage     every kind of local damage, reported by verify, repaired by verify --repair
#                   to an exact lake (tests/campaign/damage.py; RELIABILITY.md)
#   make crashloop  CRASH_KILLS (default 200) SIGKILLs across download, update --force, retry
#                   and verify --repair; verify truthful after each, the lake exact at the end
#   make soak       symbols and days through both sources with 15 % mixed faults, a REST history
#                   floor, a truncated and a corrupt archive day: the lake equals the truth and
#                   .retry names exactly what cannot be proven (tests/campaign/soak.py)
#
#   make tsan   the parallel jobs' tests (tests/integration/test_jobs.py) with the tool built
#               under ThreadSanitizer (build-tsan/), but the two peak memory ones (shadow memory):
#               the jobs' threads and the archive's reader thread (daily and monthly files)
#
# Other targets: deps, deps-build, build, asan, unit, integration, bench, clean.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PREFIX ?= /usr/local
DESTDIR ?=
# What building the library and the tool needs; all `make demo` needs besides
# (the simulator runs on the Python standard library).
APT_PACKAGES := cmake ninja-build pkg-config gcc make libcurl4-openssl-dev libzstd-dev \
                libxxhash-dev libzip-dev $(if $(shell command -v $(PYTHON) 2>/dev/null),,python3)
# What the tests add: venv for the Python environment, man for the manual page
# test, a Java runtime for Spark (interop tests; any one will do), GNU time for the peak
# memory of one child (tests/integration/test_jobs.py).
TEST_APT_PACKAGES := man-db groff-base zsh time \
    $(if $(shell $(PYTHON) -c 'import ensurepip' 2>/dev/null && echo y),,python3-venv) \
    $(if $(shell command -v java 2>/dev/null),,default-jre-headless)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_ARGS ?=
# The fuzz build: clang and its libFuzzer runtime.
FUZZ_APT_PACKAGES := clang libclang-rt-dev
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: all deps deps-build deps-test fuzz-deps build asan unit unit-asan integration test \
        demo bench fuzz install uninstall python clean damage crashloop soak tsan

all: build python

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

deps-build:
	$(call apt_install,$(APT_PACKAGES))

deps-test:
	$(call apt_install,$(APT_PACKAGES) $(TEST_APT_PACKAGES))

deps: deps-test $(VENV)/.installed

# The fuzz build needs the C libraries and clang, not the Python environment.
fuzz-deps:
	$(call apt_install,$(APT_PACKAGES) $(FUZZ_APT_PACKAGES))

$(VENV)/.installed: requirements-dev.txt | deps-test
	[ -x $(VPY) ] || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

build: deps-build
	cmake --preset dev >/dev/null
	cmake --build build -j$(JOBS)

asan: deps-build
	cmake --preset asan >/dev/null
	cmake --build build-asan -j$(JOBS)

unit: build
	ctest --test-dir build --output-on-failure -j$(JOBS)

unit-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-asan --output-on-failure -j$(JOBS)

# The tests import the package installed in .venv (`make python`), run the tool and load
# the library of the development build (AGT_BIN, AGT_LIB).
integration: build deps python
	AGT_LIB=$(CURDIR)/build/libaggtrades.so AGT_BIN=$(CURDIR)/build/aggtrades $(PYTHONPATH_IF_SHARED) \
	  $(VPY) -m pytest tests/integration -q -p no:cacheprovider $(PYTEST_ARGS)

test: unit unit-asan integration

# The parallel jobs under ThreadSanitizer: the tool built with -fsanitize=thread in
# build-tsan/ runs the four-jobs tests against the simulator (the Python side reads
# back with the dev build's library); any race makes the tool exit 66. Their archive
# days and months also run the archive's reader thread (src/source/rows_ahead.c).
tsan: build deps python
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DAGT_BUILD_TESTS=OFF -DAGT_TESTING_LIB=OFF \
	  "-DCMAKE_C_FLAGS=-fsanitize=thread -g -O1" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
	  -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread >/dev/null
	cmake --build build-tsan -j$(JOBS) --target aggtrades
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(CURDIR)/tests/tsan.supp" \
	  AGT_LIB=$(CURDIR)/build/libaggtrades.so AGT_BIN=$(CURDIR)/build-tsan/aggtrades $(PYTHONPATH_IF_SHARED) \
	  $(VPY) -m pytest tests/integration/test_jobs.py -q -p no:cacheprovider $(PYTEST_ARGS) \
	  --deselect tests/integration/test_jobs.py::test_jobs_peak_memory_is_that_of_one_job_plus_the_budget \
	  --deselect tests/integration/test_jobs.py::test_rest_hours_of_eight_jobs_stay_within_64_mib

# Only the tool: no test environment, no unit tests.
demo: deps-build
	cmake --preset dev >/dev/null
	cmake --build build --target aggtrades -j$(JOBS)
	./tools/demo.sh

# This checkout's package, installed in .venv the way users install it (pip compiles the
# C sources through scikit-build-core; build-py/ keeps the build between runs). A .venv
# that is a symbolic link is shared with another checkout and is left alone: the tests
# then take the package from python/ (PYTHONPATH).
PY_PACKAGE_SOURCES := pyproject.toml CMakeLists.txt $(shell find cmake python/aggtrades src include \
    tools/aggtrades -type f -not -name '*.pyc' 2>/dev/null)
ifeq ($(shell [ -L $(VENV) ] && echo shared),shared)
PYTHONPATH_IF_SHARED := PYTHONPATH=$(CURDIR)/python
python: $(VENV)/.installed
	@echo "$(VENV) is a link to a shared environment: not installing this checkout's package in it"
else
python: $(VENV)/.package
endif

$(VENV)/.package: $(VENV)/.installed $(PY_PACKAGE_SOURCES)
	$(VPY) -m pip install -q --no-build-isolation --no-deps -Cbuild-dir=build-py .
	touch $@

# The C install: Release build without tests, CMake's install rules (cmake/install.cmake)
# and its manifest for uninstall.
install: deps-build
	cmake --preset install -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build build-install -j$(JOBS)
	DESTDIR="$(DESTDIR)" cmake --install build-install

uninstall:
	DESTDIR="$(DESTDIR)" cmake --build build-install --target uninstall

# Every benchmark, then bench/RESULTS.md rewritten from that run (BENCH_SCALE=quick: smaller data).
BENCH_SCALE ?= full
bench: deps
	cmake --preset release -DAGT_TESTING_LIB=ON >/dev/null
	cmake --build build-release -j$(JOBS) --target libaggtrades libaggtrades_testing aggtrades
	AGT_LIB=$(CURDIR)/build-release/libaggtrades.so AGT_TESTING_LIB=$(CURDIR)/build-release/libaggtrades_testing.so \
	  AGT_BIN=$(CURDIR)/build-release/aggtrades PYTHONPATH=$(CURDIR)/python $(VPY) bench/run_all.py --scale $(BENCH_SCALE)

fuzz: fuzz-deps
	cmake --preset fuzz >/dev/null
	cmake --build build-fuzz --target fuzzers -j$(JOBS)
	./fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

CAMPAIGN_ENV = AGT_LIB=$(CURDIR)/build/libaggtrades.so AGT_BIN=$(CURDIR)/build/aggtrades \
	  PYTHONPATH=$(CURDIR)/python
CRASH_KILLS ?= 200

damage: build deps
	$(CAMPAIGN_ENV) $(VPY) tests/campaign/damage.py

crashloop: build deps
	$(CAMPAIGN_ENV) $(VPY) tests/campaign/crashloop.py --kills $(CRASH_KILLS)

soak: build deps
	$(CAMPAIGN_ENV) $(VPY) tests/campaign/soak.py $(SOAK_ARGS)

clean:
	rm -rf build build-asan build-release build-fuzz build-install build-py
