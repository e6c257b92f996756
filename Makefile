# Ferry build.  `make` builds build/ferry; `make run` serves a demo from ./run;
# `make test` runs every test (lint, unit, integration, both again under
# ASan+UBSan, then the fuzz targets for a bounded time), every build with
# -Werror.  docs/design-notes.md ("CI") says what each stage is for.

CC       ?= gcc
BUILD    ?= build
PKGS      = libevent libevent_openssl libevent_pthreads libunbound sqlite3 libpq openssl libcrypt zlib
OPT      ?= -O2 -g
SAN      ?=
WERROR   ?=
CFLAGS   ?=
CFLAGS   += $(OPT) $(SAN) $(WERROR) -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Isrc -MMD -MP \
            -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
LDFLAGS  += $(SAN)
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
PYTEST    = /usr/bin/python3 -m pytest
# Integration tests mostly wait on sockets: pytest-xdist runs them in
# PYTEST_WORKERS processes (1: serially, without xdist).
PYTEST_WORKERS ?= 4
PYTEST_N  = $(if $(filter-out 0 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS))

LIB_SRC   = $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC  = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  = $(sort $(wildcard tests/fuzz/fuzz_*.c))
# The fuzz stage shares FUZZ_BUDGET seconds among the targets (at least 10
# each); FUZZ_TIME=N gives every target N seconds instead.
FUZZ_BUDGET ?= 240
FUZZ_TIME ?= $(shell t=$$(( $(FUZZ_BUDGET) / $(words $(FUZZ_SRC)) )); \
             [ $$t -ge 10 ] || t=10; echo $$t)
HDR_SRC   = $(shell find src -name '*.h' | sort)
HDR_OK    = $(HDR_SRC:%.h=$(BUILD)/hdr/%.ok)
TIDY_OK   = $(LIB_SRC:%.c=$(BUILD)/tidy/%.ok) $(BUILD)/tidy/src/main.ok
# The Clang static analyser's path-sensitive checks (null dereference,
# use after free, leaks, uninitialised reads, dead stores).  Left out:
# insecureAPI.DeprecatedOrUnsafeBufferHandling, which flags every memcpy,
# memset and snprintf for want of C11 Annex K functions glibc lacks.
TIDY      = clang-tidy
TIDY_CHECKS = -*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling
DEPS_OK   = $(BUILD)/.deps-ok

.PHONY: all run test unit integration asan fuzz clean deps lint headers analyse crashloop fuzz-long
all: $(BUILD)/ferry

# Again whenever the list of packages or the npm lock file changes.
$(DEPS_OK): scripts/install-deps tests/browser/package-lock.json
	@scripts/install-deps
	@mkdir -p $(BUILD) && touch $@

deps: $(DEPS_OK)

$(BUILD)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libferry.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ferry: $(BUILD)/obj/src/main.o $(BUILD)/libferry.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(BUILD)/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(BUILD)/libferry.a $(LDLIBS)

# Every header is a translation unit of its own, included twice (the
# guard must cover it all): a header names everything it needs.
$(BUILD)/hdr/%.ok: %.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -MMD -MP -MF $@.d -MT $@ \
	    -fsyntax-only -include $< -include $< -x c /dev/null
	@touch $@

headers: $(HDR_OK)

# Static analysis, one source at a time; a finding fails.  A finding that
# is wrong is silenced where it is, with NOLINT(check) and the reason.
$(BUILD)/tidy/%.ok: %.c $(HDR_SRC) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	@echo "analyse $<"
	@$(TIDY) --quiet --checks='$(TIDY_CHECKS)' --warnings-as-errors='*' \
	    $< -- $(filter-out -MMD -MP,$(CFLAGS)) >$@.log 2>&1; st=$$?; \
	    grep -v 'warnings\? generated' $@.log >&2; test $$st -eq 0
	@touch $@

analyse: $(TIDY_OK)

run: $(BUILD)/ferry
	@scripts/run-demo $(BUILD)/ferry

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do $$t; done

integration: $(BUILD)/ferry
	FERRY_BIN=$(abspath $(BUILD)/ferry) $(PYTEST) -q -p no:cacheprovider \
	    $(PYTEST_N) tests/integration

# The same unit and integration suites on an AddressSanitizer+UBSan build.
asan: | $(DEPS_OK)
	$(MAKE) BUILD=build-asan OPT="-O1 -g" SAN="$(SAN_FLAGS)" unit integration

# libFuzzer targets, each run for FUZZ_TIME seconds; any finding fails.
fuzz: | $(DEPS_OK)
	@FUZZ_CFLAGS="$(WERROR)" scripts/run-fuzz $(FUZZ_TIME) $(FUZZ_SRC)

# By hand or nightly: SIGKILL the whole tree CRASHLOOP_KILLS times under
# load and check that every 250 was delivered (tests/stress/crashloop.py).
CRASHLOOP_KILLS ?= 100
crashloop: $(BUILD)/ferry
	FERRY_BIN=$(abspath $(BUILD)/ferry) /usr/bin/python3 \
	    tests/stress/crashloop.py --kills $(CRASHLOOP_KILLS) --markdown

# By hand: every fuzz target for FUZZ_LONG_RUNS executions (default ten
# million) on every core, the corpus merged back (scripts/fuzz-campaign).
FUZZ_LONG_RUNS ?= 10000000
fuzz-long: | $(DEPS_OK)
	scripts/fuzz-campaign -r $(FUZZ_LONG_RUNS) -o build-fuzz/campaign.md

# Source checks: banned functions and shellcheck (scripts/lint), every
# header on its own, the static analyser (any finding fails).
lint: | $(DEPS_OK)
	@scripts/lint
	$(MAKE) headers
	$(MAKE) analyse

test: $(DEPS_OK)
	$(MAKE) WERROR=-Werror lint
	$(MAKE) WERROR=-Werror unit integration
	ASAN_OPTIONS=detect_leaks=1 $(MAKE) WERROR=-Werror asan
	$(MAKE) WERROR=-Werror fuzz
	$(MAKE) package-test

# make install [PREFIX=/usr/local] [DESTDIR=] [SENDMAIL=yes]: the binary,
# manual pages, docs and an example configuration (scripts/install).
# ferry.conf(5) is generated from docs/ so that the two cannot drift.
PREFIX   ?= /usr/local
.PHONY: man install package-test
man: $(BUILD)/man/ferry.conf.5

$(BUILD)/man/ferry.conf.5: scripts/gen-conf-man docs/configuration.md docs/checks.md
	@mkdir -p $(dir $@)
	scripts/gen-conf-man docs/configuration.md docs/checks.md >$@.tmp
	@mv $@.tmp $@

install: $(BUILD)/ferry $(BUILD)/man/ferry.conf.5
	PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" SENDMAIL="$(SENDMAIL)" \
	    scripts/install $(BUILD)

# The Debian package built, checked (contents, lintian, man pages) and
# installed, upgraded and purged in a throwaway root; make install in one
# too (tests/package: a few minutes, so not in the parallel suite).
package-test: $(BUILD)/ferry
	$(PYTEST) -q -p no:cacheprovider tests/package

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
