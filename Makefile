#  mesh: one hand-written Makefile.
#
#  make            build every binary into bin/ (needs the packages of `make deps`)
#  make deps       install the Debian packages that are missing (apt-get, sudo if not root)
#  make run        deps, build, then run the example bus end to end until Ctrl-C
#  make test       deps, build, then run every test (unit and integration)
#  make asan       the tests built with AddressSanitizer and UBSan
#  make valgrind   the unit tests under valgrind's memcheck
#  make bench      every benchmark (never run by `make test`): bench-bus, then bench-match
#  make bench-bus  the bus against zmq_proxy and NATS (installs nats-server, libnats-dev);
#                  BENCH_ARGS=--quick for a short run, BUS_ARGS for the rest (--help)
#  make bench-match  the matcher on the citylots2 corpus, then on the shapes of issue 8;
#                  BENCH_ARGS="--quick --set EXACT", BENCH_ARGS=--shapes (--help)
#  make clean      remove build/ and bin/

CC       ?= cc
PKGS     := libczmq libzmq msgpack jansson uuid libmicrohttpd ncursesw
CFLAGS   ?= -O2 -g
#  What the code needs whatever CFLAGS the caller gives (make asan sets its own).
MESH_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
            -Ilibmesh/include -MMD -MP
#  gcc warns when an error message may be cut to fit its buffer, which is
#  by design (mesh_error_t holds 256 bytes); clang has no such warning.
MESH_CFLAGS += $(if $(findstring clang,$(CC)),,-Wno-format-truncation)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS   += $(PKG_LIBS) -lm -lpthread
BUILD    ?= build
BIN      ?= bin

#  Debian packages this project needs: the design card's four, jansson for JSON,
#  libuuid for UUIDs, pkg-config to find them all.
DEB_PACKAGES := libzmq3-dev libczmq-dev libmsgpack-dev libcmocka-dev \
                libjansson-dev uuid-dev pkg-config gcc make
#  The protocol's Python client (tests/python/) is tested with Debian's.
DEB_PACKAGES += python3 python3-zmq python3-msgpack
#  The broker's allocator (README, choices): its engine thread allocates each
#  delivery's header and libzmq's I/O thread frees it, which glibc's arenas
#  serialise on a lock; jemalloc's thread caches do not. Sanitizer builds,
#  which bring their own allocator, leave it out (BROKER_MALLOC=).
DEB_PACKAGES += libjemalloc-dev
#  The broker's Prometheus endpoint (--metrics): an HTTP server in its own thread.
DEB_PACKAGES += libmicrohttpd-dev
#  mesh top's screen, and script(1), which its test runs it in.
DEB_PACKAGES += libncurses-dev bsdutils
#  The metrics test scrapes with curl, as Prometheus's users check an endpoint.
DEB_PACKAGES += curl
BROKER_MALLOC ?= -ljemalloc

LIB_SRC  := $(wildcard libmesh/src/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libmesh.a

BROKER_SRC := $(wildcard broker/*.c)
BROKER_OBJ := $(BROKER_SRC:%.c=$(BUILD)/%.o)
#  The broker's modules but main, for the unit tests that need no sockets.
BROKER_CORE := $(BUILD)/broker-core.a
BROKER_TESTS := $(patsubst %,$(BUILD)/tests/test_%,routes targets queue tap)

CLI_SRC    := $(wildcard cli/*.c)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/%.o)

SERVICES   := payment rewards warehouse shipping
SVC_COMMON := $(patsubst %.c,$(BUILD)/%.o,$(wildcard services/common/*.c))

TEST_SRC   := $(wildcard tests/test_*.c)
TESTS      := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/support/*.c))
#  Runners that need no build: docs/protocol.md and docs/rules.md checked from Python.
PY_TESTS   := tests/python/test_protocol.py tests/python/test_rules_doc.py

BINARIES := $(BIN)/mesh-broker $(BIN)/mesh $(SERVICES:%=$(BIN)/%)

.PHONY: FORCE all deps run test check asan valgrind clean install tests fuzz bench bench-match
.SECONDARY:
all: $(BINARIES)

deps:
	@./.ci/deps.sh $(DEB_PACKAGES)

#  Quiet by default; `make V=1` shows the commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS) $(MESH_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

#  Built anew each time, and whenever the list of sources changes: `ar r`
#  would keep the object of a deleted source, and its symbols with it.
$(BUILD)/libmesh.objs: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIB_OBJ)' | cmp -s - $@ || echo '$(LIB_OBJ)' > $@

$(LIB): $(LIB_OBJ) $(BUILD)/libmesh.objs
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $(LIB_OBJ)

$(BIN)/mesh-broker: $(BROKER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS) $(BROKER_MALLOC)

#  The command line (test-pattern, explain...): a table of commands, one
#  file each, in cli/.
$(BIN)/mesh: $(CLI_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

define SERVICE_RULE
$(BIN)/$(1): $(BUILD)/services/$(1)/$(1).o $(SVC_COMMON) $(LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $$(V),,echo "  LINK  $$@")
	$$(Q)$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDFLAGS) $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call SERVICE_RULE,$(s))))

#  Tests link libmesh and the test helpers; the broker and the services are
#  tested as the separate processes they are in production.
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS) -lcmocka

#  Unit tests of the broker's modules link them (routes, targets, queue).
$(BROKER_CORE): $(filter-out $(BUILD)/broker/mesh_broker.o,$(BROKER_OBJ))
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BROKER_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT) $(BROKER_CORE) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS) -lcmocka

#  test_automaton counts the allocations libmesh makes while matching (none
#  are allowed): the linker routes malloc, calloc and realloc through it.
#  `override` keeps the flags when make asan sets LDFLAGS on the command line.
$(BUILD)/tests/test_automaton: override LDFLAGS += -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc

tests: $(TESTS)

#  The test command of the README: every runner, then one summary line.
test: deps
	@$(MAKE) --no-print-directory all tests
	@./tests/run.sh $(TESTS) $(PY_TESTS)

check: test

asan:
	$(MAKE) BUILD=build/asan BIN=build/asan/bin BROKER_MALLOC= \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" all tests
	MESH_BIN=build/asan/bin ./tests/run.sh $(patsubst $(BUILD)/%,build/asan/%,$(TESTS))

valgrind: all tests
	MESH_VALGRIND=1 ./tests/run.sh $(TESTS)

#  libFuzzer targets (clang): each runs FUZZ_SECONDS with its corpus kept
#  in build/fuzz/corpus-NAME, seeded from tests/fuzz/seeds/.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := fuzz_pattern fuzz_match fuzz_config
FUZZ_FLAGS   := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
fuzz: deps
	@./.ci/deps.sh clang libclang-rt-14-dev
	$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz BIN=build/fuzz/bin CFLAGS="$(FUZZ_FLAGS)" \
	  build/fuzz/libmesh.a $(FUZZ_TARGETS:%=build/fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus-$$t; \
	  seeds=tests/fuzz/seeds/$${t#fuzz_}; \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/$$t- build/fuzz/corpus-$$t $$seeds || exit 1; \
	done

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h build/fuzz/libmesh.a
	$(Q)clang $(FUZZ_FLAGS) $(MESH_CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer $< build/fuzz/libmesh.a \
	  -o $@ $(LDLIBS)

#  Benchmarks: built -O2 into $(BUILD)/bench/, linking libmesh, and run by
#  their driver, which generates the data they need once (build/bench-data/).
BENCH_ARGS ?=

$(BUILD)/tests/bench/%.o: CFLAGS += -O2

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -O2 -o $@ $^ $(LDFLAGS) $(LDLIBS)

#  The matcher bench and the generator of its shapes' rule sets and events.
$(BUILD)/bench/bench_match: $(BUILD)/tests/bench/bench_match.o $(BUILD)/tests/bench/bench_shapes.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -O2 -o $@ $^ $(LDFLAGS) $(LDLIBS)

#  A shape's rules as JSON lines, for bench-bus's rule files.
$(BUILD)/bench/bench_rules: $(BUILD)/tests/bench/bench_rules.o $(BUILD)/tests/bench/bench_shapes.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -O2 -o $@ $^ $(LDFLAGS) $(LDLIBS)

bench-match: $(BUILD)/bench/bench_match
	@./tests/bench/bench_match.sh $< $(BENCH_ARGS)

#  The bus benchmark: publisher, broker and three subscribers as separate
#  processes (tests/bench/bench_bus.sh). Its NATS baseline needs nats-server
#  and libnats-dev, installed here only: `make test` never needs NATS.
.PHONY: bench-bus bench-deps
BENCH_BUS_COMMON := $(BUILD)/tests/bench/bench_bus_common.o
BUS_ARGS ?= $(filter --quick,$(BENCH_ARGS))

$(BUILD)/bench/bench_bus: $(BUILD)/tests/bench/bench_bus.o $(BENCH_BUS_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -O2 -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/bench_nats: $(BUILD)/tests/bench/bench_nats.o $(BENCH_BUS_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -O2 -o $@ $^ $(LDFLAGS) -lnats $(LDLIBS)

bench-deps:
	@./.ci/deps.sh $(DEB_PACKAGES) nats-server libnats-dev

bench-bus: bench-deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench/bench_bus $(BUILD)/bench/bench_nats $(BUILD)/bench/bench_rules
	@./tests/bench/bench_bus.sh $(BUILD)/bench/bench_bus $(BUILD)/bench/bench_nats $(BUS_ARGS)

#  put-events through the API against fire-and-forget (tests/bench/bench_api.sh).
.PHONY: bench-api
bench-api:
	@$(MAKE) --no-print-directory all $(BUILD)/bench/bench_api
	@./tests/bench/bench_api.sh $(BUILD)/bench/bench_api $(filter --quick,$(BENCH_ARGS))

#  One after the other, even under -j: they would measure each other.
bench:
	@$(MAKE) --no-print-directory bench-bus
	@$(MAKE) --no-print-directory bench-api
	@$(MAKE) --no-print-directory bench-match

run: deps
	@$(MAKE) --no-print-directory all
	@./services/example.sh

clean:
	rm -rf build bin

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BINARIES) $(DESTDIR)$(PREFIX)/bin/

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
