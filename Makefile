# Every target works on a fresh machine: it creates .venv and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROTO_SRC := $(wildcard protos/voicesvc/v1/*.proto)
THIRD_PARTY := build/third_party

.PHONY: help run test proto lint breaking bench node clean protos-from-reference sandbox polyglot third-party-protos

help:
	@echo "make run     start voicesvc on the embedded sandbox (gRPC 127.0.0.1:50051, HTTP 127.0.0.1:8080)"
	@echo "make test    run every test suite"
	@echo "make proto   regenerate the Python stubs in clients/python/voicesvc/v1 from protos/"
	@echo "make lint    ruff format + ruff + mypy (strict on voicesvc/) + buf lint"
	@echo "make breaking [AGAINST=ref]  refuse proto changes that break clients (default: against HEAD)"
	@echo "make bench   run the benchmarks, print a table, write bench/RESULTS.md and bench/latency.png"
	@echo "make polyglot  build and run the Go and Java example clients of clients/polyglot (Debian packages)"
	@echo "make third-party-protos  the googleapis protos (google/api, google/rpc) in build/third_party, for buf"

# Two distributions share the `voicesvc` namespace: the client (clients/python: stubs, client, CLI helpers)
# and the server, which depends on it.
$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e clients/python -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(BIN)/voicesvc serve

sandbox: $(STAMP)
	$(BIN)/voicesvc sandbox

test: $(STAMP) node
	$(BIN)/pytest -q

proto: $(STAMP)
	$(BIN)/python tools/gen_stubs.py

protos-from-reference: $(STAMP)
	$(BIN)/python tools/protogen/generate.py
	$(MAKE) proto

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	MYPYPATH=clients/python/tests $(BIN)/mypy clients/python/tests  # apart: its `tests` would clash
	$(BIN)/python tools/gen_stubs.py --check
	$(BIN)/python tools/gen_stubs.py --third-party $(THIRD_PARTY)
	$(BIN)/buf lint

AGAINST ?= HEAD
breaking: $(STAMP)
	$(BIN)/python tools/check_breaking.py --against $(AGAINST)

# The bench-only packages (pyproject's `bench` group) are installed here, never by the other targets.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# Opt-in, not part of `make test`: generates Go and Java code from the protos with Debian's toolchain
# packages (apt-get installs missing ones when root), builds clients/polyglot/ and runs it end to end.
polyglot: $(STAMP)
	$(BIN)/python tools/gen_stubs.py --third-party $(THIRD_PARTY)
	bash clients/polyglot/build.sh
	bash clients/polyglot/run.sh

# The Node package ships a copy of the contract and TypeScript types generated from it, both committed
# (the tests fail when they are stale); refreshed here.
node: $(STAMP) clients/node/node_modules/.installed
	node clients/node/scripts/sync-protos.js
	node clients/node/scripts/gen-types.js

# The googleapis files the contract imports and the google.rpc error model, for `buf generate` or protoc
# in any language (clients/README.md): copied from the Node package's committed copies, so this needs
# neither a venv nor a network.
third-party-protos:
	mkdir -p $(THIRD_PARTY)/google/api $(THIRD_PARTY)/google/rpc
	cp clients/node/protos/google/api/*.proto $(THIRD_PARTY)/google/api/
	cp clients/node/protos/google/rpc/*.proto $(THIRD_PARTY)/google/rpc/

clients/node/node_modules/.installed: clients/node/package.json
	cd clients/node && npm install --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) build clients/node/node_modules
