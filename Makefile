# The two commands of the README, plus bench. Each installs missing Debian packages
# (as root; otherwise it prints the apt-get line and stops), builds, then runs.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
DEB_PACKAGES = build-essential cmake pkg-config libnng-dev libprotobuf-c-dev protobuf-c-compiler \
  libsqlite3-dev libmbedtls-dev libcmocka-dev libjansson-dev python3 python3-requests python3-bs4 \
  python3-httpsig sqlite3 curl libstb-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev libgumbo-dev \
  chromium chromium-driver python3-selenium help2man lintian libpq-dev postgresql-15

.PHONY: all deps build test test-asan fuzz fuzz-seeds demo bench package clean format format-check

all: build

deps:
	@./scripts/install-deps.sh $(DEB_PACKAGES)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure --no-tests=error -j $(JOBS)

# KEEP=1 leaves the daemons and the web app running (its URL and users are printed) until Ctrl-C.
KEEP ?= 0
demo: build
	KEEP=$(KEEP) ./scripts/demo.sh $(BUILD)

bench: build
	./scripts/bench.sh $(BUILD)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer, in its own build folder,
# but for the second run of the integration tests on PostgreSQL (the same daemon code as their
# SQLite run; the PostgreSQL layer's own tests, test_pg_conn and test_schema_pg, do run): it
# would double the sanitized run's time, and CI's whole .ci/run must stay well inside its budget.
ASAN_BUILD ?= build-asan
$(ASAN_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(ASAN_BUILD) -DORC_SANITIZE=address,undefined $(CMAKE_FLAGS)

test-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure --no-tests=error -j $(JOBS) \
	  -E '^postgres\.integration\.'

# libFuzzer targets (test/fuzz/README.md): a clang build in its own folder, then each target
# for FUZZ_SECONDS (FUZZ_TARGETS=name... runs some; FUZZ_RUNS=N stops each after N inputs,
# FUZZ_SECONDS=0 then sets no time bound; FUZZ_FORK=N runs each as N processes); crashes land
# in $(FUZZ_BUILD)/fuzz/artifacts.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
FUZZ_TARGETS ?=
FUZZ_RUNS ?=
FUZZ_FORK ?=
$(FUZZ_BUILD)/CMakeCache.txt: | deps
	@./scripts/install-deps.sh clang libclang-rt-14-dev
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DORC_FUZZ=ON $(CMAKE_FLAGS)

fuzz: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	RUNS=$(FUZZ_RUNS) FORK=$(FUZZ_FORK) ./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Regenerates the RPC seed corpora (test/fuzz/gen_seeds.c) after a change of the protocol.
fuzz-seeds: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target gen_seeds
	$(FUZZ_BUILD)/test/fuzz/gen_seeds test/fuzz/corpus

# The Debian package (dist/, cmake/install.cmake): a release build installed under /usr, packed
# by CPack into $(PKG_BUILD)/orchestra_<version>_<arch>.deb. Installs nothing on this machine.
PKG_BUILD ?= build-pkg
package: deps
	cmake -S . -B $(PKG_BUILD) -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DBUILD_TESTING=OFF $(CMAKE_FLAGS)
	cmake --build $(PKG_BUILD) -j $(JOBS)
	cd $(PKG_BUILD) && cpack -G DEB

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
