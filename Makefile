# The two commands of the README, plus bench. Each installs missing Debian packages
# (as root; otherwise it prints the apt-get line and stops), builds, then runs.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
DEB_PACKAGES = build-essential cmake pkg-config libnng-dev libprotobuf-c-dev protobuf-c-compiler \
  libsqlite3-dev libmbedtls-dev libcmocka-dev libjansson-dev python3 python3-requests \
  python3-httpsig sqlite3 curl libstb-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev libgumbo-dev

.PHONY: all deps build test demo bench clean format format-check

all: build

deps:
	@./scripts/install-deps.sh $(DEB_PACKAGES)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure --no-tests=error -j $(JOBS)

demo: build
	./scripts/demo.sh $(BUILD)

bench: build
	./scripts/bench.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
