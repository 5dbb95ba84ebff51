# Everything a fresh machine needs: `make run` (the daemon on config/sharesafe.yaml) and `make test`.
VENV     ?= .venv
PYTHON   ?= python3
BIN      := $(VENV)/bin
# Debian packages: exiftool is the independent leak oracle the tests run; jpegtran rotates JPEGs
# losslessly for `orientation: apply`; systemd-analyze checks the shipped units; headless chromium
# proves the HTML exposure report loads nothing from the network.
APT_PACKAGES := libimage-exiftool-perl libjpeg-turbo-progs systemd chromium
# Peers the benchmarks measure against.
BENCH_APT_PACKAGES := mat2 ffmpeg

.PHONY: setup system-deps bench-deps run test lint fuzz bench clean-state

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,faces]'
	$(BIN)/python -m compileall -q watcher >/dev/null  # an editable install compiles nothing by itself
	touch $@

# Installs the Debian packages when they are missing and we are root (CI, containers); otherwise says how.
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install: sudo apt-get install $$missing" >&2; exit 1; fi; \
	fi

bench-deps: system-deps
	@missing=$$(for p in $(BENCH_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# The main job: watch ./inbox and publish share-safe copies into ./share-safe (state in ./state).
run: setup
	mkdir -p inbox share-safe
	$(BIN)/sharesafe run -c config/sharesafe.yaml

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
test: setup system-deps
	@$(BIN)/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: setup
	$(BIN)/ruff check watcher tests bench
	$(BIN)/ruff format --check watcher
	$(BIN)/mypy

# Hours of structure-aware fuzzing of every format handler (random cases; a failing case is kept in
# .hypothesis/ and replayed first next time). FUZZ_EXAMPLES cases per handler.
FUZZ_EXAMPLES ?= 200000
fuzz: setup
	HYPOTHESIS_PROFILE=long SHARESAFE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/reliability/test_fuzz.py

bench: setup bench-deps
	$(BIN)/python bench/engine_bench.py

clean-state:
	rm -rf state share-safe
