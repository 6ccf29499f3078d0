# ferry — build, test, fuzz and benchmark targets.
#
# Sources are found by wildcard, so a new module or test file needs no edit here:
#   library code   scale/ rpc/ src/{util,crypto,chain,lightclient,node,attest,worker,workerapi,relay}/
#   the CLI        src/cli/        -> $(BUILD)/ferry
#   the worker     src/workerd/    -> $(BUILD)/ferry-worker (a thin main; its logic is src/worker/)
#   unit tests     tests/unit/test_<name>.c defines `Suite *<name>_suite(void)`
#   fuzz targets   tests/fuzz/fuzz_<name>.c
#   benchmarks     bench/bench_<name>.c
#   protobuf       src/workerapi/*.proto -> protoc-c -> $(BUILD)/gen/<name>.pb-c.{c,h}, in libferry
#                  (include "<name>.pb-c.h"; $(BUILD)/gen is on every compile's include path)
#
# WERROR=1 (set automatically when CI=true) turns warnings into errors.

CC      ?= cc
BUILD   ?= build
PKGS    := libwebsockets libcurl libsecp256k1 libb2 libcjson libsodium libxxhash sqlite3 libprotobuf-c libcrypto
VECTORS ?= $(abspath ../shared/vectors)

ifeq ($(CI),true)
WERROR ?= 1
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -Iinclude -I. -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif
LDLIBS   := $(PKG_LIBS) -lpthread -lm

LIB_SRCS    := $(wildcard scale/*.c rpc/*.c src/util/*.c src/crypto/*.c src/chain/*.c src/lightclient/*.c \
                          src/node/*.c src/attest/*.c src/worker/*.c src/workerapi/*.c src/relay/*.c)
CLI_SRCS    := $(wildcard src/cli/*.c)
WORKER_SRCS := $(wildcard src/workerd/*.c)
UNIT_SRCS   := $(wildcard tests/unit/*.c)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRCS  := $(wildcard bench/bench_*.c)
SUITES      := $(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_*.c))

PROTO_SRCS  := $(wildcard src/workerapi/*.proto)
PROTO_GEN_C := $(PROTO_SRCS:src/workerapi/%.proto=$(BUILD)/gen/%.pb-c.c)
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)
PROTO_OBJS  := $(PROTO_GEN_C:.c=.o)

LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(PROTO_OBJS)
CLI_OBJS    := $(CLI_SRCS:%.c=$(BUILD)/%.o)
WORKER_OBJS := $(WORKER_SRCS:%.c=$(BUILD)/%.o)
UNIT_OBJS   := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
LIBFERRY    := $(BUILD)/libferry.a
# The CLI's code but its main, for tests of what the CLI renders (src/cli/md_render.c).
CLILIB      := $(BUILD)/libferry-cli.a
CLILIB_OBJS := $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJS))
FERRY       := $(BUILD)/ferry
UNIT        := $(BUILD)/unit-tests
BENCHES     := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test unit integration asan fuzz fuzz-smoke bench bench-follow format \
        format-check check-arch devnet devnet-deps run run-follow e2e bench-relay bench-relay-replay clean

all: $(FERRY) $(if $(WORKER_SRCS),$(BUILD)/ferry-worker)

deps:
	@bash .ci/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# protobuf-c code for the worker API (.proto in src/workerapi/). Generated code is compiled without
# -Werror: it is protoc-c's, not ours. Every object may include a generated header, so all wait
# for them (order-only).
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: src/workerapi/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=src/workerapi --c_out=$(BUILD)/gen $<

$(PROTO_OBJS): %.o: %.c
	$(CC) $(filter-out -Werror -Wmissing-prototypes,$(ALL_CFLAGS)) -w -c $< -o $@

$(filter-out $(PROTO_OBJS),$(LIB_OBJS)) $(CLI_OBJS) $(WORKER_OBJS) $(UNIT_OBJS): | $(PROTO_GEN_H)

$(LIBFERRY): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(CLILIB): $(CLILIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FERRY): $(CLI_OBJS) $(LIBFERRY)
	$(CC) $(SAN) -o $@ $(CLI_OBJS) $(LIBFERRY) $(LDLIBS)

$(BUILD)/ferry-worker: $(WORKER_OBJS) $(LIBFERRY)
	$(CC) $(SAN) -o $@ $(WORKER_OBJS) $(LIBFERRY) $(LDLIBS)

# The CLI's command table is generated from the src/cli/cmd_<name>.c file names.
CMDS := $(patsubst src/cli/cmd_%.c,%,$(wildcard src/cli/cmd_*.c))
$(BUILD)/src/cli/commands.h: $(wildcard src/cli/cmd_*.c)
	@mkdir -p $(dir $@)
	@printf '%s\n' $(foreach c,$(sort $(CMDS)),"CLI_COMMAND($(c))") > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/src/cli/main.o: src/cli/main.c $(BUILD)/src/cli/commands.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/src/cli -c $< -o $@

# The runner's suite list is generated from the test file names.
$(BUILD)/tests/unit/suites.h: $(wildcard tests/unit/test_*.c)
	@mkdir -p $(dir $@)
	@printf '%s\n' $(foreach s,$(SUITES),"FERRY_SUITE($(s))") > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/tests/unit/%.o: tests/unit/%.c $(BUILD)/tests/unit/suites.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Wno-missing-prototypes -I$(BUILD)/tests/unit -c $< -o $@

$(UNIT): $(UNIT_OBJS) $(CLILIB) $(LIBFERRY)
	$(CC) $(SAN) -o $@ $(UNIT_OBJS) $(CLILIB) $(LIBFERRY) $(CHECK_LIBS) $(LDLIBS)

unit: $(UNIT) $(FERRY)
	FERRY_VECTORS=$(VECTORS) FERRY_BIN=$(abspath $(FERRY)) $(UNIT)

integration: all $(BUILD)/rpcserver
	FERRY_VECTORS=$(VECTORS) FERRY_BIN=$(abspath $(FERRY)) BUILD=$(BUILD) bash tests/integration/run.sh

# The scripted JSON-RPC test server (tests/unit/rpcserver.c) as a program, for t_rpc_cli.sh.
$(BUILD)/rpcserver: tests/rpcserver/main.c $(BUILD)/tests/unit/rpcserver.o
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/tests/unit/rpcserver.o $(LDLIBS)

# `make test` is the README's test command: install, build, run everything.
test: deps
	$(MAKE) format-check
	$(MAKE) check-arch
	$(MAKE) devnet-deps
	$(MAKE) all unit
	$(MAKE) asan
	$(MAKE) fuzz-smoke
	$(MAKE) integration

ASAN_BUILD ?= build-asan
asan:
	$(MAKE) BUILD=$(ASAN_BUILD) OPT=-O1 SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" unit

# ---- fuzzing (clang + libFuzzer) -------------------------------------------------------------
FUZZ_BUILD ?= build-fuzz
FUZZ_SAN   := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_SECONDS ?= 10

fuzz:
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) FUZZ_BUILD=$(FUZZ_BUILD) OPT=-O1 SAN="$(FUZZ_SAN)" $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(CLILIB) $(LIBFERRY) | $(PROTO_GEN_H)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(CLILIB) $(LIBFERRY) $(LDLIBS)

fuzz-smoke: fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/smoke.sh $(FUZZ_BINS)

# ---- benchmarks --------------------------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c $(LIBFERRY) | $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBFERRY) $(LDLIBS)

bench: $(BENCHES)
	@for b in $(BENCHES); do echo "== $$b"; FERRY_VECTORS=$(VECTORS) $$b || exit 1; done
	@if command -v node >/dev/null; then $(MAKE) --no-print-directory bench-follow; \
	 else echo "bench-follow skipped: node not installed"; fi

# ferry follow catch-up (headers/s, CPU%, RSS) against a local replay source; exit 77 = skipped.
bench-follow: $(FERRY) $(BUILD)/bench/follow_floor devnet-deps
	@FERRY_BIN=$(abspath $(FERRY)) FLOOR_BIN=$(abspath $(BUILD)/bench/follow_floor) \
	 bash bench/follow_bench.sh; rc=$$?; [ $$rc -eq 77 ] || exit $$rc

# Worker catch-up through ferry relay over dev-chain blocks produced up front; exit 77 = skipped.
bench-relay: all devnet-deps
	@FERRY_BIN=$(abspath $(FERRY)) bash bench/relay_bench.sh; rc=$$?; [ $$rc -eq 77 ] || exit $$rc

# Worker catch-up through ferry relay over the 100 000 replayed headers of bench-follow (time
# split node / ferry / worker, RSS, ratio to ferry follow); exit 77 = skipped.
bench-relay-replay: all devnet-deps
	@FERRY_BIN=$(abspath $(FERRY)) bash bench/relay_replay_bench.sh; rc=$$?; [ $$rc -eq 77 ] || exit $$rc

# ---- dev chain -----------------------------------------------------------------------------------
devnet-deps:
	@cd tests/devnet && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }

devnet: devnet-deps
	cd tests/devnet && exec node devnet.js

# The README's main-job command: the whole system on loopback — the dev chain running the Phala
# runtime, ferry-worker, ferry relay, and a user sending the worker a message every few seconds
# (tests/devnet/relay-demo.sh; DEVNET_MODE=para for relay + parachain). Ctrl-C stops everything.
run: deps
	$(MAKE) all devnet-deps
	FERRY_BIN=$(abspath $(FERRY)) bash tests/devnet/relay-demo.sh $(ARGS)

# ferry follow alone against the dev chain (the previous `make run`).
run-follow: deps
	$(MAKE) all devnet-deps
	FERRY_BIN=$(abspath $(FERRY)) bash tests/devnet/follow-demo.sh $(ARGS)

# The module map of docs/architecture.md: fails when an #include crosses a forbidden boundary.
check-arch:
	@bash tests/arch/check_includes.sh

# The relayer's end-to-end tests alone (tests/integration/t_relay_*.sh; also part of `make test`).
e2e: all devnet-deps
	FERRY_VECTORS=$(VECTORS) FERRY_BIN=$(abspath $(FERRY)) BUILD=$(BUILD) bash tests/integration/run.sh t_relay_

# ---- formatting ----------------------------------------------------------------------------------
FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FMT_FILES)

format-check:
	@clang-format --dry-run -Werror $(FMT_FILES) && echo "format: clean"

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
