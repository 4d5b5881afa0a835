# trajprobe: `make demo` and `make test` do everything on a fresh Debian 12 machine with Swift.
SHELL := /bin/bash
DEB_PACKAGES := libopenblas-dev libsqlite3-dev libpng-dev libavformat-dev libavcodec-dev \
                libswscale-dev libswresample-dev libavutil-dev pkg-config libcairo2-dev \
                fonts-dejavu-core espeak-ng libjpeg62-turbo-dev
# Benchmarks compare against the ffmpeg and sqlite3 command-line tools.
BENCH_PACKAGES := ffmpeg sqlite3
# The report's browser test (make e2e) opens report.html in Debian's chromium, headless.
BROWSER_PACKAGES := chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift
JOBS ?= $(shell nproc)

.PHONY: deps bench-deps browser-deps build release test e2e demo demo-screenshots bench fixtures venv venv-server venv-browser fuzz fuzz-build clean

## deps: install the Debian packages trajprobe needs (skipped when all are present)
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	else echo "Debian packages: all present"; fi

bench-deps: deps
	@missing=$$(for p in $(BENCH_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; fi

## browser-deps: Debian's chromium for the report's browser test (skipped when present)
browser-deps:
	@missing=$$(for p in $(BROWSER_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; fi

## build: debug build
build: deps
	$(SWIFT) build -j $(JOBS)

## release: optimised build of the trajprobe executable
release: deps
	$(SWIFT) build -c release -j $(JOBS) --product trajprobe

## test: install what is needed, then run the whole test suite
test: deps venv-server
	# Every public and package declaration carries a doc comment (tools/doc_coverage.py lists any that do not).
	python3 tools/doc_coverage.py --quiet --min 100
	TRAJPROBE_REQUIRE_SERVER=1 $(SWIFT) test -j $(JOBS)
	# The C kernels again on their portable path (what a CPU without AVX2/FMA runs).
	TRAJPROBE_NO_AVX2=1 $(SWIFT) test -j $(JOBS) --skip-build --filter MetricsTests

## e2e: the end-to-end check (a quick demo through the release binary, outputs cross-checked;
## the reports opened in headless chromium, screenshots kept in .build/e2e-reports)
e2e: release venv-server browser-deps venv-browser
	TRAJPROBE_REQUIRE_SERVER=1 TRAJPROBE_E2E_BINARY=$$($(SWIFT) build -c release --show-bin-path)/trajprobe \
	  TRAJPROBE_E2E_ARTIFACTS=.build/e2e-reports $(SWIFT) test -j $(JOBS) --filter EndToEndTests

## demo: build in release mode and run the end-to-end demo into Reports/demo, then check its
## report.html in a browser and save the small screenshots committed with it
demo: release
	$$($(SWIFT) build -c release --show-bin-path)/trajprobe demo --output Reports/demo
	$(MAKE) demo-screenshots

## demo-screenshots: Reports/demo/report.html in headless chromium at 1400 and 390 px (checked),
## saved as Reports/demo/screenshots/report-{1400,390}.png at half resolution
demo-screenshots: browser-deps venv-browser
	.venv/bin/python tools/report_browser_check.py Reports/demo/report.html --widths 1400,390 --scale 0.5

## bench: benchmarks, each printed as a ratio against a reference timed in the same run
bench: bench-deps release
	./Benchmarks/run.sh

## fuzz: libFuzzer + AddressSanitizer runs of every parser harness (Fuzz/), FUZZ_SECONDS each
## (default 60), built under .build-fuzz; crashes land in .build-fuzz/crashes/ and fail the target
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./tools/fuzz.sh

fuzz-build: deps
	./tools/fuzz.sh --build-only

## venv-server: .venv/ with what make test needs: numpy and flask for the reference teacher server
## the remote-teacher tests start, omegaconf and PyYAML for the trainer-config tests (installs
## python3-venv first where Debian's python3 lacks ensurepip)
venv-server:
	@python3 -c 'import ensurepip' 2>/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y python3-venv; }
	./tools/make_venv.sh --server

## venv-browser: .venv/ with Playwright, which drives the system chromium (no browser download)
venv-browser:
	@python3 -c 'import ensurepip' 2>/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y python3-venv; }
	./tools/make_venv.sh --browser

## venv: Python tools (fixtures, converters, teacher server) in .venv/ from PyPI
venv:
	./tools/make_venv.sh

## fixtures: regenerate the golden JSON fixtures with the reference Python libraries
fixtures: venv
	.venv/bin/python tools/fixtures/fidelity_fixtures.py
	./tools/make_venv.sh --torch && .venv/bin/python tools/fixtures/nets_fixtures.py
	python3 tools/fixtures/real_shaped_fixture.py Tests/ReportTests/Fixtures/real_shaped
	python3 tools/fixtures/registry_fixture.py
	@echo "syncnet_python-jpeg fixtures: see tools/fixtures/syncnet_jpeg_fixtures.py --help (needs the ffmpeg CLI)"

clean:
	rm -rf .build .build-fuzz
