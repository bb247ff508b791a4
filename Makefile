# obwatch: build, test and demo. Every target installs what it needs first (see `deps`).
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?= -j 2
PREFIX ?= /usr/local
DESTDIR ?=

# Debian packages the build and the tests need: the C libraries, and the real peers the tests start.
APT_PACKAGES := libcurl4-openssl-dev libyaml-dev libssl-dev pkg-config python3 python3-venv python3-aiosmtpd openssl tzdata

.PHONY: all deps sdk-venv build test lint format demo bench clean

all: build

deps:
	@scripts/install-deps.sh $(APT_PACKAGES)

# The official obshell Python SDK, in a virtualenv under .build, for the tests that check the simulator against it.
sdk-venv: deps
	@scripts/sdk-venv.sh

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

test: deps sdk-venv
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --build-tests
	$(SWIFT) test $(SWIFT_BUILD_FLAGS) --skip-build
	$(MAKE) lint

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift

format:
	$(SWIFT) format --in-place --recursive Sources Tests Benchmarks Package.swift

demo: build
	$(SWIFT) run $(SWIFT_BUILD_FLAGS) obwatch demo

# Benchmarks print figures; they are never part of `make test`.
bench: build
	$(SWIFT) run $(SWIFT_BUILD_FLAGS) -c release ReplayBenchmark

clean:
	rm -rf .build
