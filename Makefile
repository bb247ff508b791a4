# obwatch: build, test and demo. Every target installs what it needs first (see `deps`).
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?= -j 2
PREFIX ?= /usr/local
DESTDIR ?=

# Debian packages the build and the tests need: the C libraries, the real peers the tests start (PostgreSQL's server
# among them: the tests initdb their own clusters), systemd (its systemd-analyze checks the unit file) and chromium
# (the web console is tested in a real headless browser).
APT_PACKAGES := libcurl4-openssl-dev libyaml-dev libssl-dev pkg-config python3 python3-venv python3-aiosmtpd openssl tzdata systemd postgresql prometheus-alertmanager chromium

.PHONY: all deps sdk-venv build test reliability lint format demo bench fuzz clean deb package-test

all: build

deps:
	@scripts/install-deps.sh $(APT_PACKAGES)

# The official obshell Python SDK, in a virtualenv under .build, for the tests that check the simulator against it.
sdk-venv: deps
	@scripts/sdk-venv.sh

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

# The reliability suites (random kills, long outages, fuzzing) run under `make reliability`, not here.
RELIABILITY_SUITES := ReliabilityTests|ChaosTests

test: deps sdk-venv
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --build-tests
	$(SWIFT) test $(SWIFT_BUILD_FLAGS) --skip-build --skip '$(RELIABILITY_SUITES)'
	$(MAKE) lint

# Kill -9 at random points, receivers down for minutes of virtual time, agent faults, fuzzed answers and configs,
# hostile text through every format; then the whole suite again with its logs kept, scanned for the test secrets.
RELIABILITY_LOGS := .build/reliability
reliability: deps sdk-venv
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --build-tests
	rm -rf $(RELIABILITY_LOGS) && mkdir -p $(RELIABILITY_LOGS)/children
	OBWATCH_TEST_LOG_DIR="$$(pwd)/$(RELIABILITY_LOGS)/children" $(SWIFT) test $(SWIFT_BUILD_FLAGS) --skip-build \
		> $(RELIABILITY_LOGS)/swift-test.log 2>&1; status=$$?; tail -n 3 $(RELIABILITY_LOGS)/swift-test.log; \
		if [ $$status -ne 0 ]; then grep -E "✘|error:" $(RELIABILITY_LOGS)/swift-test.log | head -n 60; \
			sed -n '/Program crashed/,/^Images/p' $(RELIABILITY_LOGS)/swift-test.log | head -n 120; exit $$status; fi
	python3 scripts/scan-secrets.py --secrets Tests/test-secrets.txt $(RELIABILITY_LOGS)

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift

format:
	$(SWIFT) format --in-place --recursive Sources Tests Benchmarks Package.swift

demo: build
	$(SWIFT) run $(SWIFT_BUILD_FLAGS) obwatch demo

# Benchmarks print figures and ratios against baselines measured in the same run (BENCHMARKS.md); they are never
# part of `make test`. BENCH_FLAGS=--quick for a short run, --only NAME for one figure.
BENCH_FLAGS ?=
bench: deps sdk-venv
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) -c release --product obwatch
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) -c release --product ObwatchBench
	python3 bench/run.py --obwatch "$$($(SWIFT) build -c release --show-bin-path)/obwatch" \
		--bench "$$($(SWIFT) build -c release --show-bin-path)/ObwatchBench" $(BENCH_FLAGS)

# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of the JSON reader and decoder, the capture reader and config
# decoding, each for FUZZ_SECONDS (30 minutes by default; FUZZ_SECONDS=60 for a short run), from the seed corpus in
# Fuzz/Corpus. Fails on any crash, hang or sanitizer report; the input is kept in .build/fuzz/findings (Fuzz/run.sh).
FUZZ_SECONDS ?= 1800
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) Fuzz/run.sh

clean:
	rm -rf .build

# The release binary that `make install` and `make deb` ship: the Swift runtime and Foundation linked in, so that it
# runs where no Swift toolchain is (only Debian's glibc, libstdc++, libcurl, libyaml and OpenSSL), bound at load
# (-z now) so that its GOT is read-only. `make bench` measures the plain release build.
RELEASE_FLAGS := -c release --static-swift-stdlib -Xlinker -z -Xlinker now

# `make install DESTDIR=/tmp/stage PREFIX=/usr/local`: the release binary to $(PREFIX)/bin, the systemd unit (its
# ExecStart pointed at that binary) to $(UNITDIR), and rules/default.yaml as /etc/obwatch/obwatch.yaml unless a
# config is already there: an upgrade never overwrites the operator's config.
UNITDIR ?= /lib/systemd/system
CONFDIR ?= /etc/obwatch

.PHONY: install
install: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) $(RELEASE_FLAGS) --product obwatch
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(CONFDIR)"
	install -m 0755 "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/obwatch" "$(DESTDIR)$(PREFIX)/bin/obwatch"
	sed -e 's|/usr/local/bin/obwatch|$(PREFIX)/bin/obwatch|g' systemd/obwatch.service > "$(DESTDIR)$(UNITDIR)/obwatch.service.new"
	chmod 0644 "$(DESTDIR)$(UNITDIR)/obwatch.service.new"
	mv -f "$(DESTDIR)$(UNITDIR)/obwatch.service.new" "$(DESTDIR)$(UNITDIR)/obwatch.service"
	@if [ -e "$(DESTDIR)$(CONFDIR)/obwatch.yaml" ]; then \
		echo "kept $(DESTDIR)$(CONFDIR)/obwatch.yaml (rules/default.yaml is the current example)"; \
	else \
		install -m 0644 rules/default.yaml "$(DESTDIR)$(CONFDIR)/obwatch.yaml"; \
		echo "installed $(DESTDIR)$(CONFDIR)/obwatch.yaml from rules/default.yaml"; \
	fi

# `make deb`: .build-pkg/obwatch_VERSION_ARCH.deb (VERSION is ObwatchVersion.current), built with dpkg-shlibdeps and
# dpkg-deb from packaging/deb/: the self-contained binary, the unit, /etc/obwatch/obwatch.yaml as a conffile, the
# example rules and scenarios, a man page from --help (help2man), bash, zsh and fish completions.
DEB_APT_PACKAGES := dpkg-dev binutils help2man
deb: deps
	@scripts/install-deps.sh $(DEB_APT_PACKAGES)
	SWIFT="$(SWIFT)" SWIFT_BUILD_FLAGS="$(SWIFT_BUILD_FLAGS)" RELEASE_FLAGS="$(RELEASE_FLAGS)" scripts/build-deb.sh

# `make package-test` (root; never part of `make test`): the package in fresh debootstrap'd Debian 12 roots, with
# its declared dependencies only: --version, check, demo; then booted with systemd-nspawn: the service's start,
# READY=1, watchdog, hardening and journal; upgrade over a running service, remove, purge. Caches under .build-pkg/.
package-test: deps
	SWIFT="$(SWIFT)" SWIFT_BUILD_FLAGS="$(SWIFT_BUILD_FLAGS)" RELEASE_FLAGS="$(RELEASE_FLAGS)" scripts/package-test.sh

# `make ha-acceptance` (never part of `make test`; about 6 minutes): issue 18's acceptance from outside. A PostgreSQL
# server of its own, 6 simulated agents behind request-counting proxies, a webhook receiver and 3 replicas at a 1 s
# poll interval: polls per target and second, 10 kill -9 takeovers timed, a SIGSTOP past 3 lease lengths, a
# PostgreSQL restart, then every delivered event checked (none lost, none twice with different ids).
HA_FLAGS ?=
.PHONY: ha-acceptance
ha-acceptance: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --product obwatch
	python3 scripts/ha_acceptance.py --obwatch "$$($(SWIFT) build --show-bin-path)/obwatch" $(HA_FLAGS)
