/*
 * cowrap.c -- coroutine.resume and coroutine.wrap that let a user
 * coroutine block on the hub.
 *
 * A park inside a user coroutine yields a sentinel instead of yielding to
 * the hub directly.  These wrappers recognise it and pass the yield on
 * outward -- to the hub, or to the next wrapper -- and, once woken, hand
 * the wake values back down by resuming the inner coroutine again.  Where
 * the wrapper itself cannot yield, it waits by running the loop nested.
 * Ordinary yields reach the caller of resume exactly as in stock Lua.
 */
#include "hub.h"

/* Status of co seen from L, as coroutine.status reports it. */
static const char *co_status(lua_State *L, lua_State *co) {
  lua_Debug ar;
  if (L == co) return "running";
  switch (lua_status(co)) {
    case LUA_YIELD: return "suspended";
    case LUA_OK:
      if (lua_getstack(co, 0, &ar)) return "normal";
      return lua_gettop(co) == 0 ? "dead" : "suspended";
    default: return "dead";
  }
}

static int resume_k(lua_State *L, int status, lua_KContext ctx);

/* Resume co (the value at index 1 of L) with nargs values from L's top,
 * carrying hub parks across it.  Leaves the status and the yielded or
 * returned values (or the error) on L; returns their count, with a
 * negative sign on error. */
static int resume_loop(lua_State *L, lua_State *co, int nargs, int wrap) {
  eh_hub *h = eh_gethub(L);
  for (;;) {
    eh_thread *t = h->current;
    lua_State *outer = t->top;
    int status, nres;
    if (!lua_checkstack(co, nargs)) {
      lua_pushliteral(L, "too many arguments to resume");
      return -1;
    }
    lua_xmove(L, co, nargs);
    t->top = co;
    status = lua_resume(co, L, nargs, &nres);
    t->top = outer;
    if (status == LUA_YIELD && nres == 1 &&
        lua_touserdata(co, -1) == eh_sentinel()) {
      lua_pop(co, 1);
      if (!(t->flags & EH_F_MAIN) && (L == t->co || L == t->top) &&
          lua_isyieldable(L)) {
        if (L == t->co) return lua_yieldk(L, 0, wrap, resume_k);
        lua_pushlightuserdata(L, eh_sentinel());
        return lua_yieldk(L, 1, wrap, resume_k);
      }
      {
        int base = lua_gettop(L);
        eh_wait_nested(L, t);
        nargs = lua_gettop(L) - base;
      }
      continue;
    }
    if (status == LUA_OK || status == LUA_YIELD) {
      if (!lua_checkstack(L, nres + 1)) {
        lua_pop(co, nres);
        lua_pushliteral(L, "too many results to resume");
        return -1;
      }
      lua_xmove(co, L, nres);
      return nres;
    }
    lua_xmove(co, L, 1);
    return -1;
  }
}

/* Hand the outcome of resume_loop (n values, negative: error) to the
 * caller: as coroutine.resume does, or raising as coroutine.wrap does. */
static int deliver(lua_State *L, lua_State *co, int n, int wrap) {
  if (wrap) {
    if (n >= 0) return n;
    if (lua_status(co) != LUA_OK && lua_status(co) != LUA_YIELD) {
      eh_closethread(co, L);  /* run its to-be-closed variables */
      lua_xmove(co, L, 1);
    }
    if (lua_type(L, -1) == LUA_TSTRING) {
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  if (n < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(n + 1));
  return n + 1;
}

/* Resume the coroutine at index 1 with the values above it; also the
 * continuation of a resume that carried a park outward, whose wake
 * values are then on top. */
static int resume_k(lua_State *L, int status, lua_KContext ctx) {
  lua_State *co = lua_tothread(L, 1);
  int wrap = (int)ctx;
  (void)status;
  return deliver(L, co, resume_loop(L, co, lua_gettop(L) - 1, wrap), wrap);
}

/* Check that co can be resumed, with lcorolib's messages. */
static int check_resumable(lua_State *L, lua_State *co) {
  const char *st = co_status(L, co);
  if (st[0] == 's') return 1;
  lua_pushfstring(L, "cannot resume %s coroutine",
                  st[0] == 'd' ? "dead" : "non-suspended");
  return 0;
}

/* coroutine.resume(co, ...) -> true, values... | false, err.
 * [-0, +n, e] */
static int co_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  if (!check_resumable(L, co)) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  return resume_k(L, LUA_OK, 0);
}

/* The function returned by coroutine.wrap: resume, raise on error. */
static int wrapped(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  if (!check_resumable(L, co)) return lua_error(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  return resume_k(L, LUA_OK, 1);
}

/* coroutine.wrap(f) -> a function that resumes a new coroutine. */
static int co_wrap(lua_State *L) {
  lua_State *co;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, wrapped, 1);
  return 1;
}

const luaL_Reg eh_coroutine_funcs[] = {
  {"resume", co_resume}, {"wrap", co_wrap}, {NULL, NULL}};
