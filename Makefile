# One command to run the server, one to run every check. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_DIR := tests/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: soak run test check bench bench-quick bench-redis system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

# The npm packages the tests drive (AI SDK, AG-UI client, React, esbuild), exactly as locked.
$(NODE_STAMP): $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## soak: the soak test for 5 minutes (rounds of streams opened and closed; prints its bounds)
soak: $(STAMP)
	QA_SOAK_SECONDS=300 $(BIN)/pytest -q -s tests/launch/test_soak.py

## run: set up and serve on http://127.0.0.1:8000 with config/default.toml
run: $(STAMP)
	$(BIN)/quart-qa serve

## test: set up (Python and npm packages, Chromium, redis-server, Node.js) and run format check, lint, types, import contracts, tests
test: $(STAMP) system-deps $(NODE_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

system-deps:
	bash scripts/ensure-system-deps.sh

# The benchmark's own set-up, never make test's: matplotlib for the plots, and the peer
# servers (aimock from npm, llm-mock-api in its own virtualenv; bench/peers/install.sh).
$(BENCH_STAMP): $(STAMP) bench/peers/package-lock.json bench/peers/requirements.txt
	$(BIN)/pip install --quiet -e '.[dev,bench,bench-plots]'
	PYTHON=$(PYTHON) bash bench/peers/install.sh
	touch $(BENCH_STAMP)

## bench: the load benchmark: ours against sse-starlette (chat page) and aimock and
## llm-mock-api (LLM APIs), then the plots in bench/plots/
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench --json bench/results/latest.json
	$(BIN)/python -m bench.plots bench/results/latest.json

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

## bench-redis: the same scenarios on the Redis broker, as Redis ÷ memory (needs redis-server)
bench-redis: $(STAMP) system-deps
	$(BIN)/python -m bench.redis_compare

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
