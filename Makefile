# eventlet-lua -- build, test, bench, install.
#
#   make deps      install the Debian packages it needs (root or sudo)
#   make           the eventlet-lua host and lua/eventlet/core.so
#   make test      specs under eventlet-lua and under plain lua5.4
#   make demo      the hello-world HTTP server demo
#   make bench     benchmarks against peers, printed as ratios
#   make lint      luacheck + cppcheck, no warnings
#   make install   PREFIX=/usr/local DESTDIR=   (uninstall likewise)

LUA_VERSION  ?= 5.4
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LUADIR       ?= $(PREFIX)/share/lua/$(LUA_VERSION)
LIBDIR       ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
LUA_INCDIR   ?= /usr/include/lua$(LUA_VERSION)
LLHTTP_DIR   ?= /usr/share/llhttp
LLHTTP_INC   ?= /usr/share/include/llhttp
LUA          ?= lua$(LUA_VERSION)

CC           ?= cc
OPTFLAGS     ?= -O2 -g
WARNFLAGS    ?= -Wall -Wextra
CFLAGS_EXTRA ?=
CPPFLAGS     += -D_GNU_SOURCE -I$(LUA_INCDIR) -I$(LLHTTP_INC) -Isrc
CFLAGS       += -std=gnu99 -fPIC $(OPTFLAGS) $(WARNFLAGS) $(CFLAGS_EXTRA)
LDFLAGS_EXTRA ?=
LIBS         = -lev -lssl -lcrypto -lz -lpthread -lm
HOST_LIBS    = -llua$(LUA_VERSION) $(LIBS) -ledit -ldl

BUILD        = build
CORE_SRC     = $(filter-out src/main.c src/fuzz_%.c src/host_%.c,$(wildcard src/*.c))
LLHTTP_SRC   = $(LLHTTP_DIR)/llhttp.c $(LLHTTP_DIR)/api.c $(LLHTTP_DIR)/http.c
LLHTTP_OBJ   = $(LLHTTP_SRC:$(LLHTTP_DIR)/%.c=$(BUILD)/llhttp_%.o)
CORE_OBJ     = $(CORE_SRC:src/%.c=$(BUILD)/%.o) $(LLHTTP_OBJ)
HOST_OBJ     = $(BUILD)/main.o $(patsubst src/%.c,$(BUILD)/%.o,$(wildcard src/host_*.c))
HEADERS      = $(wildcard src/*.h)

CORE_SO      = lua/eventlet/core.so
HOST         = eventlet-lua

.PHONY: all deps bench-deps test test-host test-plain demo bench lint \
        install uninstall clean rock-check check-asan check-valgrind \
        fuzz fuzz-build

all: $(HOST) $(CORE_SO)

$(BUILD):
	@mkdir -p $(BUILD)

$(BUILD)/%.o: src/%.c $(HEADERS) | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# llhttp is compiled from Debian's node-llhttp sources, never copied here.
$(BUILD)/llhttp_%.o: $(LLHTTP_DIR)/%.c | $(BUILD)
	$(CC) -I$(LLHTTP_INC) -std=gnu99 -fPIC $(OPTFLAGS) -w -c $< -o $@

$(CORE_SO): $(CORE_OBJ)
	$(CC) -shared -o $@ $(CORE_OBJ) $(LIBS) $(LDFLAGS_EXTRA)

$(HOST): $(HOST_OBJ) $(CORE_OBJ)
	$(CC) -o $@ $(HOST_OBJ) $(CORE_OBJ) -Wl,-E $(HOST_LIBS) $(LDFLAGS_EXTRA)

deps:
	@scripts/deps.sh

bench-deps:
	@scripts/deps.sh --bench

# The README's test command: both runtimes, one summary line at the end.
test: deps all
	@scripts/test.sh

test-host: all
	@scripts/test.sh host

test-plain: all
	@scripts/test.sh plain

demo: deps all
	./$(HOST) examples/demo.lua

bench: deps bench-deps all
	@bench/run.sh

lint: all
	luacheck --quiet lua spec examples bench scripts fuzz
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c99 --suppress=missingIncludeSystem -I src src

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LUADIR)/eventlet $(DESTDIR)$(LIBDIR)/eventlet
	install -m 0755 $(HOST) $(DESTDIR)$(BINDIR)/$(HOST)
	cd lua && find eventlet -name '*.lua' -exec install -D -m 0644 {} $(DESTDIR)$(LUADIR)/{} \;
	install -m 0755 $(CORE_SO) $(DESTDIR)$(LIBDIR)/eventlet/core.so

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(HOST) $(DESTDIR)$(LIBDIR)/eventlet/core.so
	rm -rf $(DESTDIR)$(LUADIR)/eventlet
	-rmdir $(DESTDIR)$(LIBDIR)/eventlet 2>/dev/null

# Prove the rock: luarocks make into a throwaway tree, run a script with it.
rock-check: deps
	@scripts/rock-check.sh

clean:
	rm -rf $(BUILD) $(HOST) $(CORE_SO) $(ASAN_HOST)

# Sanitizers: the host built with AddressSanitizer + UBSan runs the specs;
# valgrind memcheck runs them under the normal host.
ASAN_HOST = eventlet-lua-asan
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

ASAN_OBJ = $(patsubst $(BUILD)/%.o,$(BUILD)/asan/%.o,$(CORE_OBJ) $(HOST_OBJ))

$(BUILD)/asan/%.o: src/%.c $(HEADERS)
	@mkdir -p $(BUILD)/asan
	$(CC) $(CPPFLAGS) -std=gnu99 $(WARNFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(BUILD)/asan/llhttp_%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(BUILD)/asan
	$(CC) -I$(LLHTTP_INC) -std=gnu99 $(ASAN_FLAGS) -w -c $< -o $@

$(ASAN_HOST): $(ASAN_OBJ)
	$(CC) $(ASAN_FLAGS) -o $@ $(ASAN_OBJ) -Wl,-E $(HOST_LIBS)

check-asan: all $(ASAN_HOST)
	@scripts/check.sh asan

check-valgrind: all
	@scripts/check.sh valgrind

# Fuzzing (libFuzzer, clang from Debian): `make fuzz FUZZ_SECONDS=N` builds
# build/fuzz/<target> for each src/fuzz_<target>.c and runs each for N
# seconds on a copy of its seed corpus fuzz/corpus/<target>/ (new inputs
# go to build/fuzz/corpus/<target>/, findings to build/fuzz/crash-*).
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = http_request http_response url httpdate
FUZZ_FLAGS   = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -DFUZZ_ROOT='"$(CURDIR)"'
FUZZ_OBJ     = $(patsubst $(BUILD)/%.o,$(BUILD)/fuzz/%.o,$(CORE_OBJ)) $(BUILD)/fuzz/fuzz_lua.o
FUZZ_BINS    = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%.o: src/%.c $(HEADERS)
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(CPPFLAGS) -std=gnu99 $(WARNFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/llhttp_%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) -I$(LLHTTP_INC) -std=gnu99 $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -w -c $< -o $@

$(BUILD)/fuzz/%: $(BUILD)/fuzz/fuzz_%.o $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ -llua$(LUA_VERSION) $(LIBS)

.PRECIOUS: $(BUILD)/fuzz/%.o

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
