# Tweeling — two commands for a new user: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest bench clean system-deps node-deps assets test-browser

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# A first run from the clone's folder: Delft loaded, the demo apps run in the sandbox, the
# store filled with the accredited reference apps (minutes, once), then the service on :8000.
demo: install system-deps assets
	$(BIN)/tweeling demo

# Debian packages: bubblewrap (the app sandbox), gdal-bin (ogrinfo, an independent client in
# the tests), postgresql and postgresql-15-postgis-3 (the tests' second backend). Installed
# when we may (root with apt-get); otherwise the tests that need them skip and say why.
system-deps:
	@sh scripts/system-deps.sh

# Test tools from npm, pinned by package-lock.json: Khronos' glTF validator, CesiumGS' 3d-tiles-tools.
NODE_STAMP := node_modules/.installed

node-deps: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# The Studio's scripts and styles (src/tweeling/web/frontend/*.js|css, bundled by esbuild with
# CesiumJS, MapLibre GL JS and the rest from npm) into src/tweeling/web/static/build/.
ASSETS_STAMP := src/tweeling/web/static/build/manifest.json
FRONTEND := $(shell find src/tweeling/web/frontend -type f)

assets: $(ASSETS_STAMP)

$(ASSETS_STAMP): $(NODE_STAMP) $(FRONTEND)
	npm run --silent build

lint: install
	$(BIN)/ruff check src tests benchmarks apps
	$(BIN)/ruff format --check src tests benchmarks apps
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# The suite on both backends: a throwaway PostgreSQL + PostGIS on loopback is started when
# TWEELING_TEST_PG_URL is not set and the machine has it (scripts/pg-test-server.sh); without
# it the PostgreSQL runs skip, or fail when TWEELING_REQUIRE_PG=1 (as in CI). The run ends
# with a summary of what was skipped and why.
# PYTEST_WORKERS: processes running test files side by side (pytest-xdist; a file's tests stay
# together, so its module fixtures are built once). 0 runs them in this process.
PYTEST_WORKERS ?= 2

pytest: install system-deps node-deps assets
	@url="$${TWEELING_TEST_PG_URL:-}"; \
	if [ -z "$$url" ]; then url="$$(sh scripts/pg-test-server.sh)" || url=""; fi; \
	if [ -n "$$url" ]; then echo "PostgreSQL for the tests: $$url"; \
	else echo "no PostgreSQL for the tests: its runs will skip"; fi; \
	TWEELING_TEST_PG_URL="$$url" $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck pytest

# The Studio's journeys in Chromium (Playwright), on SQLite and PostgreSQL; `make test` runs
# only their short smoke checks (tests/web/browser, not marked journey).
test-browser: install system-deps node-deps assets
	@url="$${TWEELING_TEST_PG_URL:-}"; \
	if [ -z "$$url" ]; then url="$$(sh scripts/pg-test-server.sh)" || url=""; fi; \
	TWEELING_TEST_PG_URL="$$url" $(BIN)/python -m pytest tests/web/browser -m journey

bench: install
	$(BIN)/python benchmarks/run.py

# OGC API – Features against pygeoapi 0.24 (its own venv in benchmarks/out/peers-venv, from PyPI),
# on a 1M-building twin; needs wrk, ogr2ogr and PostgreSQL + PostGIS (scripts/pg-test-server.sh
# or TWEELING_BENCH_PG_URL). `python benchmarks/ogc_peers.py --quick` for a smoke run.
# The app platform: input preparation, sandboxed runs, cache (benchmarks/apps.py, ~5 minutes).
.PHONY: bench-apps
bench-apps: install
	$(BIN)/python benchmarks/apps.py

# The reference apps' sun-visibility engine and the solar app on 1k/10k/100k-building
# districts (benchmarks/solar.py, ~7 minutes; --quick for 1k and 10k).
.PHONY: bench-solar
bench-solar: install
	$(BIN)/python benchmarks/solar.py

# The Studio's twin page in Chromium: time to the first tile and to the complete first view,
# requests and bytes, for Delft and a 100k-building twin (benchmarks/studio.py; --quick: Delft).
.PHONY: bench-studio
bench-studio: install system-deps assets
	$(BIN)/python benchmarks/studio.py

# Store search: 10,000 generated listings, ranked full-text search with facets, SQLite (and
# PostgreSQL with TWEELING_BENCH_PG_URL); benchmarks/store.py, under a minute.
.PHONY: bench-store
bench-store: install
	$(BIN)/python benchmarks/store.py

# Accreditation: a round of automated checks per reference app and a bad app, on a fresh
# SQLite store (benchmarks/accreditation.py, ~3 minutes; --quick for solar potential only).
# The app sandbox's start-up overhead per run: the same trivial app with and without the OS
# sandbox, interleaved (benchmarks/sandbox.py, under a minute; needs bubblewrap).
.PHONY: bench-sandbox
bench-sandbox: install system-deps
	$(BIN)/python benchmarks/sandbox.py

.PHONY: bench-accredit
bench-accredit: install
	$(BIN)/python benchmarks/accreditation.py

# The upload path's memory: the server's peak RSS while it receives a 1 GB dataset body,
# streamed over loopback to uvicorn in its own process (benchmarks/uploads.py, under a minute).
.PHONY: bench-uploads
bench-uploads: install
	$(BIN)/python benchmarks/uploads.py

.PHONY: bench-ogc
bench-ogc: install
	$(BIN)/python benchmarks/ogc_peers.py

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .mypy_cache .ruff_cache
