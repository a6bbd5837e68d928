/*
 * dormant.c -- sock:dormant(timeout, fn, ...): hand a socket nobody is
 * reading to the hub until it becomes readable, so an idle connection
 * costs no green thread.
 *
 * A keep-alive connection spends most of its life waiting for the next
 * request.  Parked in a green thread, that wait holds a coroutine with its
 * stack and call frames; dormant, it holds only the socket's read watcher,
 * a timer and one small table with fn and its arguments.  When the socket
 * turns readable, the timeout passes or the socket is closed, fn(...,
 * why) runs in a new green thread, why being "readable", "timeout" or
 * "closed" -- exactly once.
 */
#include "socket.h"

/* Leave the dormant state: stop the timer and the watcher and push the
 * registered table (fn, args...).  [-0, +1, -] */
static void leave(lua_State *L, eh_sock *s) {
  struct ev_loop *loop = s->hub->loop;
  s->dormant = 0;
  ev_timer_stop(loop, &s->dtimer);
  eh_sock_disarm_reader(s);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->dref);
  luaL_unref(L, LUA_REGISTRYINDEX, s->dref);
  s->dref = LUA_NOREF;
}

/* Wake a dormant socket: fn(args..., why) in a new green thread, queued
 * as an I/O watcher's wake-up (eh_enqueue_polled) when polled is set: the
 * socket's readiness, not its timeout or close.  Runs from libev callbacks
 * and from close, on the state driving the loop (or the main state). */
void eh_sock_wake_dormant(eh_sock *s, const char *why, int polled) {
  eh_hub *h = s->hub;
  lua_State *L = h->loop_L ? h->loop_L : h->L;
  int n, i;
  if (!s->dormant) return;
  leave(L, s);
  n = (int)lua_rawlen(L, -1);
  luaL_checkstack(L, n + 2, "dormant socket");
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_pushstring(L, why);
  eh_spawn(L, h, n);                       /* table gt */
  if (polled) eh_enqueue_polled(h, eh_tothread(L, -1));
  else eh_enqueue(h, eh_tothread(L, -1));
  lua_pop(L, 2);
}

/* Forget a dormant registration without running fn (the state closes). */
void eh_sock_drop_dormant(lua_State *L, eh_sock *s) {
  if (!s->dormant) return;
  leave(L, s);
  lua_pop(L, 1);
}

/* The dormant socket's timeout passed. */
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop; (void)revents;
  eh_sock_wake_dormant((eh_sock *)w->data, "timeout", 0);
}

/* sock:dormant([timeout], fn, ...): until the socket is readable (or
 * timeout seconds pass, or it is closed) nobody waits on it; then
 * fn(..., why) runs in a new green thread.  The socket must be open and
 * have no reader.  [-n, +0, e] */
static int l_dormant(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  double timeout = luaL_optnumber(L, 2, -1.);
  int n = lua_gettop(L) - 2, i;
  struct ev_loop *loop = s->hub->loop;
  luaL_checktype(L, 3, LUA_TFUNCTION);
  if (s->fd < 0) return luaL_error(L, "socket: dormant: the socket is closed");
  if (s->reader || s->dormant || s->q) return luaL_error(L, "socket: dormant: already waited on");
  lua_createtable(L, n, 0);
  for (i = 1; i <= n; i++) {
    lua_pushvalue(L, 2 + i);
    lua_rawseti(L, -2, i);
  }
  s->dref = luaL_ref(L, LUA_REGISTRYINDEX);
  s->dormant = 1;
  eh_sock_arm(s, EV_READ, EV_READ);
  if (timeout >= 0) {
    ev_timer_init(&s->dtimer, timer_cb, timeout, 0.);
    s->dtimer.data = s;
    ev_timer_start(loop, &s->dtimer);
  }
  return 0;
}

const luaL_Reg eh_dormant_methods[] = {{"dormant", l_dormant}, {NULL, NULL}};
