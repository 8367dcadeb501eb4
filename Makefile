# Gureum: `make run` and `make test` are the two commands. Each installs what
# is missing (quickly when it is already there), builds, and runs.

SHELL := /bin/bash
.DEFAULT_GOAL := run

export CARGO_TARGET_DIR ?= $(HOME)/.cache/gureum/target
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

VENV      ?= $(HOME)/.cache/gureum/venv
SITE      := target/site
PKG       := $(SITE)/pkg
# The front end has its own target directory so that it can build while the
# server does (cargo holds a target directory for one build at a time).
WASM_TARGET_DIR ?= $(HOME)/.cache/gureum/target-wasm
WASM_OUT  := $(WASM_TARGET_DIR)/wasm32-unknown-unknown/wasm-release/gureum_frontend.wasm
SERVER    := $(CARGO_TARGET_DIR)/debug/gureum-server
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/"/,"",$$3); print $$3; exit}' Cargo.lock)

.PHONY: run test lint build deps-build deps-test server site wasm css bench tempest clean-data

## run: build and start the portal on the embedded default (SQLite, 127.0.0.1:3000);
## the embedded agent boots real guests on QEMU where libvirtd works here
run: build
	@mkdir -p data
	./scripts/run.sh $(SERVER) serve --bootstrap

## test: every test — unit, service (SQLite and MariaDB), REST, CLI, browser,
## and OpenStack's own API suite (Tempest) for identity and image
# `cargo test` builds the server binary the browser tests start, with the
# same feature set as the tests: building it first with `make server` would
# compile sqlx, leptos and the rest twice (dev-dependencies change features).
test: deps-test deps-build site lint
	GUREUM_OPENSTACK_CLI=$(VENV)/bin/openstack cargo test --workspace --exclude gureum-frontend
	cd end2end && GUREUM_OPENSTACK_CLI=$(VENV)/bin/openstack npx playwright test
	@./scripts/install-deps.sh tempest
	TEMPEST_VENV=$(VENV) ./scripts/tempest.sh

## lint: formatting and clippy (warnings are errors), as part of `make test`
lint:
	cargo fmt --all --check
	cargo clippy --workspace --exclude gureum-frontend --all-targets -- -D warnings

# The server and the front end side by side: each spends long stretches on
# one core (rustc's front end on the app and server crates), so together they
# keep both busy. The server needs nothing from deps-build but a C compiler.
build:
	@$(MAKE) --no-print-directory -j2 server site

server:
	+cargo build -p gureum-server --bins

site: deps-build
	@$(MAKE) --no-print-directory wasm
	@$(MAKE) --no-print-directory css

wasm:
	+CARGO_TARGET_DIR=$(WASM_TARGET_DIR) cargo build -p gureum-frontend --lib --target wasm32-unknown-unknown --profile wasm-release
	@mkdir -p $(PKG)
	wasm-bindgen --target web --no-typescript --out-dir $(PKG) --out-name gureum $(WASM_OUT)
	wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int -o $(PKG)/gureum_bg.wasm $(PKG)/gureum_bg.wasm

css:
	@mkdir -p $(PKG)
	tailwindcss -i style/main.css -o $(PKG)/gureum.css --minify 2>&1 | grep -v '^≈' || true
	@test -s $(PKG)/gureum.css

## bench: token validations/s, token issues/s, Users page render time, image upload/download MB/s;
## compute: POST /servers → ACTIVE over RabbitMQ, 500 boots against a quota of 100, scheduling among 1,000 nodes;
## then, from wrk in a separate process, token issue and validation rates, a login storm and 500 slow
## clients (scripts/bench-storm.sh), a boot storm and the server list at 1,000 rows with the server's
## memory under load (scripts/bench-compute.sh), Identity › Users at 10,000 rows on SQLite and MariaDB
## (scripts/bench-pages.sh), Project › Compute › Instances at 10,000 rows and the delay from a node's
## answer to the browser's live stream (scripts/bench-instances.sh), ports and floating IPs created per
## second with the port list's rate and the server's memory on SQLite and MariaDB (scripts/bench-network.sh);
## with FIRST_RUN=1 also the first build from a clean clone
# Built in the dev profile, whose dependencies are optimised (opt-level 3),
# so the benchmark needs no second full build. The image file (BENCH_IMAGE_MIB,
# default 1024) is written to the system temp directory and removed after.
BENCH_IMAGE_MIB ?= 1024
bench: deps-build
	@./scripts/install-deps.sh bench
	cargo build -p gureum-server --bins
	$(CARGO_TARGET_DIR)/debug/gureum-bench --image-size-mib $(BENCH_IMAGE_MIB)
	$(CARGO_TARGET_DIR)/debug/gureum-bench --mysql --image-size-mib $(BENCH_IMAGE_MIB)
	$(CARGO_TARGET_DIR)/debug/gureum-bench --mysql --compute --amqp 'amqp://guest:guest@127.0.0.1:5672/%2f'
	./scripts/bench-storm.sh
	./scripts/bench-compute.sh
	./scripts/bench-pages.sh
	./scripts/bench-instances.sh
	./scripts/bench-network.sh
	@if [[ -n "$(FIRST_RUN)" ]]; then ./scripts/bench-first-run.sh; fi

## tempest: OpenStack's own API suite (identity, image) against a fresh server, with counts
## (also the last step of `make test`).
tempest: server
	@./scripts/install-deps.sh tempest
	VENV=$(VENV) TEMPEST_VENV=$(VENV) ./scripts/tempest.sh

deps-build:
	@./scripts/install-deps.sh build

deps-test:
	@./scripts/install-deps.sh test
	@./scripts/real-guest.sh

clean-data:
	rm -rf data
