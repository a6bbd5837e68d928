/*
 * trace.c -- one line hook for every green thread, for eventlet.debug's
 * spew().
 *
 * debug.sethook() hooks one coroutine, and a green thread is a coroutine
 * of its own; this sets one Lua function as the line hook of the main
 * state and of every live green thread.  Threads and coroutines created
 * later inherit the hook from their creator (lua_newthread copies it), and
 * the hook finds the function in the registry, so they are traced too.
 * The function is called as ldblib's hooks are: fn("line", line), with the
 * traced function at level 2 of debug.getinfo.
 */
#include "hub.h"
#include "trace.h"

static char hook_key;  /* registry key of the Lua hook function */

/* The C hook: call the Lua function; a state whose hook was switched off
 * (or never set in Lua) drops the C hook from itself. */
static void line_hook(lua_State *L, lua_Debug *ar) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &hook_key) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  lua_pushliteral(L, "line");
  lua_pushinteger(L, ar->currentline);
  lua_call(L, 2, 0);
}

/* Set (or clear, when on is 0) the hook on one coroutine. */
static void hook_state(lua_State *co, int on) {
  if (co == NULL) return;
  if (on) lua_sethook(co, line_hook, LUA_MASKLINE, 0);
  else lua_sethook(co, NULL, 0, 0);
}

/* trace(fn|nil): make fn("line", line) the line hook of every green
 * thread, the main state and what they create from now on; nil removes
 * it everywhere.  [-0, +0, e] */
static int l_trace(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  int on = !lua_isnoneornil(L, 1);
  if (on) luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hook_key);
  hook_state(h->L, on);
  hook_state(L, on);
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->live_ref);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    eh_thread *t = eh_tothread(L, -1);
    if (t && t->state != EH_DEAD) {
      hook_state(t->co, on);
      if (t->top != t->co) hook_state(t->top, on);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

const luaL_Reg eh_trace_funcs[] = {{"trace", l_trace}, {NULL, NULL}};
