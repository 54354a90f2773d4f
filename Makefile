# `make run` starts docrsim; `make test` runs every test. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=
# Property tests run a fixed, derandomised set of examples unless told otherwise.
HYPOTHESIS_PROFILE ?= ci

.PHONY: run test install system-tools clean

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
system-tools:
	@command -v skopeo >/dev/null 2>&1 || { \
	  echo "installing skopeo with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo >/dev/null; }
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: install system-tools
	DOCRSIM_REQUIRE_TOOLS=1 HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
