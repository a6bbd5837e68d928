/*
 * timeout.c -- Timeout objects: a deadline that cancels the thread that
 * made it.
 *
 * Timeout(seconds[, err]) starts at once.  When it fires, err (default:
 * the Timeout itself) is raised in its thread at the current wait, or at
 * the next one if the thread is not parked.  It is sticky: until the
 * owner cancels the Timeout (or closes it, `local t <close> = ...`), every
 * further wait raises it again, so a pcall that swallows it by accident
 * cannot keep the thread blocking past its deadline.
 */
#include <stdio.h>
#include <string.h>

#include "hub.h"

#define TIMEOUT_MT "eventlet.Timeout"

enum { TO_UV_THREAD = 1, TO_UV_ERR, TO_UV_COUNT = TO_UV_ERR };

typedef struct eh_timeout {
  ev_timer timer;
  eh_hub *hub;
  eh_thread *target;   /* user value TO_UV_THREAD keeps it alive */
  double seconds;      /* negative: never fires */
  int anchor;          /* registry ref while armed */
} eh_timeout;

/* Check that idx is a Timeout.  */
static eh_timeout *check_timeout(lua_State *L, int idx) {
  return (eh_timeout *)luaL_checkudata(L, idx, TIMEOUT_MT);
}

/* Drop the registry anchor of a Timeout that is no longer armed. */
static void unanchor(lua_State *L, eh_timeout *to) {
  if (to->anchor == LUA_NOREF) return;
  luaL_unref(L, LUA_REGISTRYINDEX, to->anchor);
  to->anchor = LUA_NOREF;
}

/* The deadline passed: cancel the target thread with the Timeout's error. */
static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  eh_timeout *to = (eh_timeout *)w->data;
  eh_thread *t = to->target;
  lua_State *L = to->hub->loop_L;
  int top = lua_gettop(L);
  (void)loop; (void)revents;
  lua_rawgeti(L, LUA_REGISTRYINDEX, to->anchor);     /* the Timeout */
  unanchor(L, to);
  if (t->timeouts) t->timeouts--;
  if (t->state == EH_DEAD || (t->flags & EH_F_FINISHED) ||
      (t->cancelled && t->cancel_once)) {            /* a kill wins */
    lua_settop(L, top);
    return;
  }
  if (lua_getiuservalue(L, -1, TO_UV_ERR) == LUA_TNIL) lua_pop(L, 1);
  eh_set_cancel(L, t, -1, to);
  if (t->state == EH_PARKED) eh_wake(t, EH_WAKE_CANCEL);
  lua_settop(L, top);
}

/* Arm the Timeout at idx for its thread.  */
static void arm(lua_State *L, int idx, eh_timeout *to) {
  if (to->seconds < 0) return;
  ev_now_update(to->hub->loop);
  ev_timer_set(&to->timer, to->seconds, 0.);
  ev_timer_start(to->hub->loop, &to->timer);
  to->target->timeouts++;
  lua_pushvalue(L, idx);
  to->anchor = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Timeout([seconds[, err]]) -> a started Timeout for the running thread;
 * nil seconds never fires.  [-0, +1, m] */
static int l_timeout(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  double s = luaL_opt(L, luaL_checknumber, 1, -1.);
  eh_timeout *to = (eh_timeout *)lua_newuserdatauv(L, sizeof *to, TO_UV_COUNT);
  to->hub = h;
  to->target = h->current;
  to->seconds = s < 0 ? (lua_isnoneornil(L, 1) ? -1. : 0.) : s;
  to->anchor = LUA_NOREF;
  ev_init(&to->timer, timeout_cb);
  to->timer.data = to;
  luaL_setmetatable(L, TIMEOUT_MT);
  eh_pushthread(L, h->current);
  lua_setiuservalue(L, -2, TO_UV_THREAD);
  if (!lua_isnoneornil(L, 2)) {
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, TO_UV_ERR);
  }
  arm(L, lua_gettop(L), to);
  return 1;
}

/* t:cancel(): disarm; if it already fired, its pending error is withdrawn. */
static int to_cancel(lua_State *L) {
  eh_timeout *to = check_timeout(L, 1);
  if (ev_is_active(&to->timer) && to->target->timeouts) to->target->timeouts--;
  ev_timer_stop(to->hub->loop, &to->timer);
  unanchor(L, to);
  eh_clear_cancel(L, to->target, to);
  return 0;
}

/* t:start(): arm again a Timeout that is not pending.  */
static int to_start(lua_State *L) {
  eh_timeout *to = check_timeout(L, 1);
  if (ev_is_active(&to->timer)) return luaL_error(L, "Timeout:start(): already pending");
  eh_clear_cancel(L, to->target, to);
  arm(L, 1, to);
  lua_settop(L, 1);
  return 1;
}

/* t:error() -> the value this Timeout raises (itself unless err was given). */
static int to_error(lua_State *L) {
  check_timeout(L, 1);
  if (lua_getiuservalue(L, 1, TO_UV_ERR) == LUA_TNIL) lua_pushvalue(L, 1);
  return 1;
}

static const luaL_Reg to_methods[] = {
  {"cancel", to_cancel}, {"start", to_start}, {"error", to_error},
  {NULL, NULL}};

/* __index: .pending, .seconds, .is_timeout, then the methods. */
static int to_index(lua_State *L) {
  eh_timeout *to = check_timeout(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (k[0] == 'p' && strcmp(k, "pending") == 0)
    lua_pushboolean(L, ev_is_active(&to->timer));
  else if (strcmp(k, "seconds") == 0) {
    if (to->seconds < 0) lua_pushnil(L); else lua_pushnumber(L, to->seconds);
  } else if (strcmp(k, "is_timeout") == 0)
    lua_pushboolean(L, 1);
  else {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_getfield(L, -1, k);
  }
  return 1;
}

/* __tostring: "Timeout (1 second)", "Timeout (0.5 seconds)". */
static int to_tostring(lua_State *L) {
  eh_timeout *to = check_timeout(L, 1);
  char num[32];
  if (to->seconds < 0) {
    lua_pushliteral(L, "Timeout (never)");
    return 1;
  }
  snprintf(num, sizeof num, "%g", to->seconds);
  lua_pushfstring(L, "Timeout (%s second%s)", num, to->seconds == 1.0 ? "" : "s");
  return 1;
}

/* __gc: never leave a collected Timeout's timer in the loop. */
static int to_gc(lua_State *L) {
  eh_timeout *to = check_timeout(L, 1);
  ev_timer_stop(to->hub->loop, &to->timer);
  return 0;
}

static const luaL_Reg to_meta[] = {
  {"__index", to_index}, {"__tostring", to_tostring}, {"__gc", to_gc},
  {"__close", to_cancel}, {NULL, NULL}};

/* is_timeout(v) -> bool: a Timeout, or a value marked is_timeout. */
static int l_is_timeout(lua_State *L) {
  if (luaL_testudata(L, 1, TIMEOUT_MT)) { lua_pushboolean(L, 1); return 1; }
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "is_timeout");
    lua_pushboolean(L, lua_toboolean(L, -1));
    return 1;
  }
  lua_pushboolean(L, 0);
  return 1;
}

const luaL_Reg eh_timeout_funcs[] = {
  {"Timeout", l_timeout}, {"is_timeout", l_is_timeout}, {NULL, NULL}};

/* Register the Timeout metatable. */
void eh_open_timeout(lua_State *L) {
  if (luaL_newmetatable(L, TIMEOUT_MT)) {
    luaL_setfuncs(L, to_meta, 0);
    luaL_newlib(L, to_methods);
    lua_setfield(L, -2, "methods");
  }
  lua_pop(L, 1);
}
