/*
 * fuzz_lua.c -- one Lua state for a fuzzer process: eventlet.core
 * preloaded (the same C code the host links), the tree's Lua modules
 * found under FUZZ_ROOT/lua, and the driver function kept in the
 * registry.  See fuzz_lua.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "fuzz_lua.h"


int luaopen_eventlet_core(lua_State *L);

/* Coverage of the Lua code for libFuzzer: Debian's interpreter is not
 * instrumented, so a line hook counts (previous line, line) edges into
 * libFuzzer's extra counters -- URL and date parsing get guided too. */
#define LUA_EDGES 65536
__attribute__((section("__libfuzzer_extra_counters")))
static uint8_t lua_edges[LUA_EDGES];
static uintptr_t prev_line;

static lua_State *fuzz_L;
static int driver_ref = LUA_NOREF;
static unsigned runs;

/* Print the Lua error on top of the stack and abort: a finding. */
static void die(lua_State *L, const char *what) {
  fprintf(stderr, "fuzz: %s: %s\n", what, lua_tostring(L, -1));
  abort();
}

/* Append a traceback to an error message (the pcall message handler). */
static int traceback(lua_State *L) {
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

/* The line hook: count the edge from the previous line to this one. */
static void count_line(lua_State *L, lua_Debug *ar) {
  uintptr_t here;
  if (!lua_getinfo(L, "S", ar)) return;
  here = (uintptr_t)ar->source * 31u + (uintptr_t)ar->currentline;
  lua_edges[(here ^ (prev_line >> 1)) % LUA_EDGES]++;
  prev_line = here;
}

/* Create the state: libraries, eventlet.core in package.preload, the
 * module path, then the driver file's returned function in the registry. */
static lua_State *open_state(const char *driver) {
  lua_State *L = luaL_newstate();
  if (!L) abort();
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_eventlet_core);
  lua_setfield(L, -2, "eventlet.core");
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_pushstring(L, FUZZ_ROOT "/lua/?.lua;" FUZZ_ROOT "/lua/?/init.lua;" FUZZ_ROOT "/fuzz/?.lua");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  lua_pushcfunction(L, traceback);
  if (luaL_loadfile(L, driver) != LUA_OK) die(L, "load");
  if (lua_pcall(L, 0, 1, -2) != LUA_OK) die(L, "driver");
  driver_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  lua_sethook(L, count_line, LUA_MASKLINE, 0);
  return L;
}

/* Hand one input to the driver as a string; abort on a Lua error. */
void fuzz_lua_run(const char *driver, const uint8_t *data, size_t size) {
  lua_State *L = fuzz_L ? fuzz_L : (fuzz_L = open_state(driver));
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, driver_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, -3) != LUA_OK) die(L, "input");
  lua_pop(L, 1);
  if (++runs % 256 == 0) lua_gc(L, LUA_GCCOLLECT);
}
