/*
 * preempt.c -- preemptible green threads, for code typed at a REPL.
 *
 * Green threads are cooperative: a loop that never waits holds the hub.
 * For code a person types into a backdoor that is the wrong trade: one
 * `while true do end` would freeze the program being debugged, and Ctrl-C
 * could never reach it.  A thread made preemptible carries a count hook
 * that, every `instructions` VM instructions, raises a pending kill or
 * Timeout (cancellation is otherwise only delivered at a wait) and yields
 * to the hub (a yield from a count hook is allowed by Lua 5.4; the hub
 * treats it as sleep(0)).  Coroutines the thread creates inherit the hook
 * but only check for cancellation: their yields belong to their resumer.
 */
#include "preempt.h"

#define PREEMPT_DEFAULT 100000  /* instructions between turns */

/* The count hook: deliver a cancellation, then give the others a turn. */
static void preempt_hook(lua_State *L, lua_Debug *ar) {
  eh_hub *h = eh_gethub(L);
  eh_thread *t = h->current;
  (void)ar;
  if (t == NULL || (t->flags & EH_F_MAIN)) return;
  if (eh_pending_cancel(L, t)) {
    lua_pop(L, 1);
    eh_raise_cancel(L, t);
  }
  if (L == t->co && t->top == t->co && lua_isyieldable(L)) lua_yield(L, 0);
}

/* preemptible(gt[, instructions]) -> gt: make gt yield to the hub every
 * `instructions` VM instructions (default 100000) and take kills and
 * Timeouts between them; instructions = false turns it off again.
 * Replaces any other hook of the thread's coroutine.  [-0, +1, e] */
static int l_preemptible(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  luaL_argcheck(L, !(t->flags & EH_F_MAIN) && t->co != NULL, 1,
                "the main thread cannot be preempted");
  if (!lua_isnoneornil(L, 2) && !lua_toboolean(L, 2)) {
    lua_sethook(t->co, NULL, 0, 0);
  } else {
    lua_Integer n = luaL_optinteger(L, 2, PREEMPT_DEFAULT);
    luaL_argcheck(L, n > 0 && n <= 0x7fffffff, 2, "instruction count out of range");
    lua_sethook(t->co, preempt_hook, LUA_MASKCOUNT, (int)n);
  }
  lua_settop(L, 1);
  return 1;
}

const luaL_Reg eh_preempt_funcs[] = {{"preemptible", l_preemptible}, {NULL, NULL}};
