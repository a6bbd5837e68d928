/*
 * introspect.c -- what the hub is doing: live threads, what each waits on,
 * tracebacks and counters.  The backdoor's threads()/tb()/hub() and the
 * spec helpers' leak checks are built on these.
 */
#include "hub.h"

static const char *const state_names[] = {
  "new", "ready", "running", "parked", "dead"};

/* Name of a thread state. */
const char *eh_statename(int state) {
  return state >= 0 && state <= EH_DEAD ? state_names[state] : "?";
}

/* Push the description of what t waits on (nil when it does not). */
static void push_wait(lua_State *L, eh_thread *t, int ud) {
  if (t->state != EH_PARKED) { lua_pushnil(L); return; }
  if (lua_getiuservalue(L, ud, EH_UV_WHAT) == LUA_TSTRING && t->what == NULL)
    return;
  lua_pop(L, 1);
  if (t->what_fd >= 0)
    lua_pushfstring(L, "%s (fd %d)", t->what ? t->what : "io", t->what_fd);
  else
    lua_pushstring(L, t->what ? t->what : "park");
}

/* Push a table describing the GreenThread at ud. */
static void push_info(lua_State *L, eh_thread *t, int ud, double now) {
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, t->id);
  lua_setfield(L, -2, "id");
  if (lua_getiuservalue(L, ud, EH_UV_EXTRA) == LUA_TTABLE)
    lua_getfield(L, -1, "name");
  else
    lua_pushnil(L);
  lua_setfield(L, -3, "name");
  lua_pop(L, 1);
  lua_pushstring(L, (t->flags & EH_F_FINISHED) ? "dead" : eh_statename(t->state));
  lua_setfield(L, -2, "state");
  push_wait(L, t, ud);
  lua_setfield(L, -2, "waiting");
  if (t->state == EH_PARKED && t->what_fd >= 0) {  /* eventlet.debug */
    lua_pushinteger(L, t->what_fd);
    lua_setfield(L, -2, "fd");
  }
  if (eh_park_timer_pending(t)) {  /* park timeout or spawn_after delay */
    lua_pushnumber(L, eh_park_timer_left(t));
    lua_setfield(L, -2, "timer");
  }
  lua_pushnumber(L, now - t->born);
  lua_setfield(L, -2, "age");
  lua_pushinteger(L, (lua_Integer)t->switches);
  lua_setfield(L, -2, "switches");
  lua_pushvalue(L, ud);
  lua_setfield(L, -2, "thread");
}

/* threads() -> array of {id, name, state, waiting, fd, timer, age,
 * switches, thread} for every live green thread, ordered by id (fd: the
 * descriptor a C-level wait watches; timer: seconds left on its park
 * timeout or spawn_after delay).  [-0, +1, m] */
static int l_threads(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  double now = ev_now(h->loop);
  lua_Integer n = 0;
  lua_newtable(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->live_ref);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    eh_thread *t = eh_tothread(L, -1);
    if (t) {
      push_info(L, t, lua_gettop(L), now);
      lua_rawseti(L, -5, ++n);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, -3);
  luaL_loadstring(L, "local a, b = ... return a.id < b.id");
  lua_call(L, 2, 0);
  lua_pop(L, 1);
  return 1;
}

/* traceback(gt[, msg]) -> string: where a parked or ready thread stands. */
static int l_traceback(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  const char *msg = luaL_optstring(L, 2, NULL);
  if (t->flags & EH_F_MAIN || t->co == NULL) {
    luaL_traceback(L, L, msg, 1);
  } else if (t->state == EH_RUNNING && t == t->hub->current) {
    luaL_traceback(L, L, msg, 1);
  } else {
    luaL_traceback(L, t->top ? t->top : t->co, msg, 0);
  }
  return 1;
}

/* stats() -> {switches, spawned, live, parked, ready, watchers, pending,
 * depth, now, read_buffers, read_buffers_warm, read_buffer_pool}: the
 * hub's counters (the sockets' pooled read buffers: held by sockets, kept
 * resident for the next ones, and where they come from).  [-0, +1, m] */
static int l_stats(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  eh_thread *t;
  int ready = 0;
  for (t = h->head; t; t = t->next) ready++;
  lua_createtable(L, 0, 12);
  lua_pushinteger(L, (lua_Integer)h->switches);
  lua_setfield(L, -2, "switches");
  lua_pushinteger(L, (lua_Integer)h->spawned);
  lua_setfield(L, -2, "spawned");
  lua_pushinteger(L, h->live);
  lua_setfield(L, -2, "live");
  lua_pushinteger(L, h->parked);
  lua_setfield(L, -2, "parked");
  lua_pushinteger(L, ready);
  lua_setfield(L, -2, "ready");
  lua_pushinteger(L, h->active);
  lua_setfield(L, -2, "watchers");
  lua_pushinteger(L, (lua_Integer)ev_pending_count(h->loop));
  lua_setfield(L, -2, "pending");
  lua_pushinteger(L, h->depth);
  lua_setfield(L, -2, "depth");
  lua_pushnumber(L, ev_now(h->loop));
  lua_setfield(L, -2, "now");
  lua_pushinteger(L, (lua_Integer)h->bufs.out);
  lua_setfield(L, -2, "read_buffers");
  lua_pushinteger(L, h->bufs.nwarm);
  lua_setfield(L, -2, "read_buffers_warm");
  lua_pushstring(L, h->bufs.checked ? "malloc" : "mapped");
  lua_setfield(L, -2, "read_buffer_pool");
  return 1;
}

const luaL_Reg eh_introspect_funcs[] = {
  {"threads", l_threads}, {"traceback", l_traceback}, {"stats", l_stats},
  {NULL, NULL}};
