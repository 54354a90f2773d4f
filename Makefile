# `make run` starts docrsim; `make test` runs every test. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=
# Property tests run a fixed, derandomised set of examples unless told otherwise.
HYPOTHESIS_PROFILE ?= ci

.PHONY: run test install system-tools clean bench

$(BIN)/docrsim: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/docrsim

run: install
	$(BIN)/docrsim serve $(ARGS)

# skopeo is the real registry client the tests push and pull with; chromium is the browser
# the control panel's tests drive (through Playwright, which never downloads one here).
# Without root (or without apt-get) it says what to install instead of failing inside apt-get.
system-tools:
	@missing=""; \
	command -v skopeo >/dev/null 2>&1 || missing=" skopeo"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make test needs$$missing: install them (Debian/Ubuntu: sudo apt-get install$$missing)," \
	       "or run 'make system-tools' as root" >&2; \
	  exit 1; \
	fi; \
	echo "installing$$missing with apt-get"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null

test: install system-tools
	DOCRSIM_REQUIRE_TOOLS=1 HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks against their peers (benchmarks/README.md): moto and waitress from the bench
# extra; skopeo and Debian's docker-registry with apt-get when missing and possible (a peer
# that cannot be had is skipped by the script with a line saying so).
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@for tool in skopeo docker-registry; do \
	  command -v $$tool >/dev/null 2>&1 && continue; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $$tool with apt-get"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$tool >/dev/null; } \
	      || echo "could not install $$tool; its figures will be skipped"; \
	  else echo "$$tool is missing and apt-get needs root; its figures will be skipped"; fi; \
	done
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
