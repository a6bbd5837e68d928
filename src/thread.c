/*
 * thread.c -- the GreenThread object: spawn, sleep, wait, kill, link.
 *
 * A green thread's coroutine starts in entry(), which calls the user's
 * function under a message handler (so an error keeps its traceback),
 * keeps the results on the coroutine's stack for :wait(), wakes waiters
 * and runs links -- all inside the dying thread, so links may block.
 */
#include <string.h>

#include "hub.h"

#define GREENLET_EXIT_KEY "eventlet.GreenletExit"

/* Return the record of the GreenThread at idx, or NULL. */
static const void *thread_mt;  /* the metatable, to check without a lookup */

eh_thread *eh_tothread(lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  if (p != NULL && lua_getmetatable(L, idx)) {
    int ok = lua_topointer(L, -1) == thread_mt;
    lua_pop(L, 1);
    if (ok) return (eh_thread *)p;
  }
  return (eh_thread *)luaL_testudata(L, idx, EH_THREAD_MT);
}

/* Return the record of the GreenThread at idx or raise a type error. */
eh_thread *eh_checkthread(lua_State *L, int idx) {
  eh_thread *t = eh_tothread(L, idx);
  return t ? t : (eh_thread *)luaL_checkudata(L, idx, EH_THREAD_MT);
}

/* Push a new GreenThread userdata (not yet a coroutine).  [-0, +1, m] */
eh_thread *eh_newthread(lua_State *L, eh_hub *h, int main) {
  eh_thread *t = (eh_thread *)lua_newuserdatauv(L, sizeof *t, EH_UV_COUNT);
  memset(t, 0, sizeof *t);
  t->hub = h;
  t->id = main ? 0 : h->next_id++;
  t->what_fd = -1;
  t->flags = main ? EH_F_MAIN : 0;
  t->born = ev_now(h->loop);
  eh_inittimer(t);
  luaL_setmetatable(L, EH_THREAD_MT);
  return t;
}

/* Push the GreenThread userdata of a record, or nil once it is dead.
 * [-0, +1, -] */
int eh_pushthread(lua_State *L, eh_thread *t) {
  if (t->flags & EH_F_MAIN)
    return lua_getfield(L, LUA_REGISTRYINDEX, "eventlet.main");
  if (t->state == EH_DEAD) { lua_pushnil(L); return LUA_TNIL; }
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->hub->live_ref);
  lua_rawgeti(L, -1, t->ref);
  lua_remove(L, -2);
  return lua_type(L, -1);
}

/* Push the thread's extra table (name, links, waiters), creating it.
 * The thread's userdata must be at the top.  [-0, +1, m] */
void eh_extra(lua_State *L, eh_thread *t) {
  (void)t;
  if (lua_getiuservalue(L, -1, EH_UV_EXTRA) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, -3, EH_UV_EXTRA);
}

/* Report an error that ended a thread: to the Lua reporter when one is
 * set (eventlet.debug, logutil), else to stderr.  [-0, +0, -] */
static void report_error(lua_State *co, eh_thread *t, int erridx) {
  eh_hub *h = t->hub;
  int top = lua_gettop(co);
  erridx = lua_absindex(co, erridx);
  eh_pushthread(co, t);
  eh_extra(co, t);
  if (lua_getfield(co, -1, "killerr") != LUA_TNIL &&
      lua_rawequal(co, -1, erridx)) {  /* died of its kill: not news */
    lua_settop(co, top);
    return;
  }
  lua_getfield(co, -2, "traceback");
  if (!lua_isstring(co, -1)) {
    lua_pop(co, 1);
    luaL_traceback(co, co, luaL_tolstring(co, erridx, NULL), 0);
    lua_remove(co, -2);
  }
  if (h->onerror_ref != LUA_NOREF) {
    lua_rawgeti(co, LUA_REGISTRYINDEX, h->onerror_ref);
    eh_pushthread(co, t);
    lua_pushvalue(co, erridx);
    lua_pushvalue(co, -4);
    if (lua_pcall(co, 3, 0, 0) == LUA_OK) { lua_settop(co, top); return; }
    lua_writestringerror("eventlet: error reporter failed: %s\n",
                         lua_tostring(co, -1));
    lua_pop(co, 1);
  }
  if (h->print_errors) {
    if (lua_getfield(co, -3, "name") == LUA_TSTRING)
      lua_writestringerror("eventlet: green thread %s ", lua_tostring(co, -1));
    else
      lua_writestringerror("%s", "eventlet: green thread ");
    lua_writestringerror("#%d died: ", (int)t->id);
    lua_writestringerror("%s\n", lua_tostring(co, -2));
  }
  lua_settop(co, top);
}

/* Message handler of a thread's function: keep a traceback of the error
 * in the thread's extra table, return the error value unchanged. */
static int msgh(lua_State *co) {
  eh_thread *t = eh_gethub(co)->current;
  const char *msg = luaL_tolstring(co, 1, NULL);
  luaL_traceback(co, co, msg, 1);
  eh_pushthread(co, t);
  eh_extra(co, t);
  lua_pushvalue(co, -3);
  lua_setfield(co, -2, "traceback");
  lua_settop(co, 1);
  return 1;
}

static int links_k(lua_State *co, int status, lua_KContext ctx);

/* Report a link that failed; the error is on top.  */
static void link_failed(lua_State *co, int status) {
  if (status == LUA_OK || status == LUA_YIELD) return;
  lua_writestringerror("eventlet: link failed: %s\n",
                       luaL_tolstring(co, -1, NULL));
  lua_pop(co, 2);
}

/* Run links number i and on, each as fn(gt, args...) under pcall; the
 * links table is on top and is popped.  A link may block. */
static void run_links(lua_State *co, lua_Integer i) {
  eh_thread *t = eh_gethub(co)->current;
  int links = lua_gettop(co);
  while (lua_istable(co, links)) {
    int n, j;
    if (lua_rawgeti(co, links, i) != LUA_TTABLE) break;  /* the end */
    lua_getfield(co, -1, "n");
    n = (int)lua_tointeger(co, -1);
    lua_pop(co, 1);
    lua_rawgeti(co, -1, 1);       /* fn */
    eh_pushthread(co, t);         /* gt */
    for (j = 2; j <= n; j++) lua_rawgeti(co, links + 1, j);
    lua_remove(co, links + 1);
    link_failed(co, lua_pcallk(co, n, 0, 0, (lua_KContext)i, links_k));
    i++;
  }
  lua_settop(co, links - 1);
}

/* Continuation after a link that yielded: run the remaining links and
 * return the thread's results. */
static int links_k(lua_State *co, int status, lua_KContext ctx) {
  eh_thread *t = eh_gethub(co)->current;
  link_failed(co, status);
  run_links(co, (lua_Integer)ctx + 1);
  return t->nres;
}

/* Wake every thread waiting in :wait() for t. */
static void wake_waiters(lua_State *co) {
  lua_Integer i;
  if (lua_getfield(co, -1, "waiters") != LUA_TTABLE) { lua_pop(co, 1); return; }
  for (i = 1; lua_rawgeti(co, -1, i) != LUA_TNIL; i += 2) {
    eh_thread *w = eh_tothread(co, -1);
    lua_rawgeti(co, -2, i + 1);
    if (w && w->state == EH_PARKED && w->seq == (unsigned)lua_tointeger(co, -1))
      eh_unpark(co, w, 0);
    lua_pop(co, 2);
  }
  lua_pop(co, 2);
  lua_pushnil(co);
  lua_setfield(co, -2, "waiters");
}

/* The thread's function is over: keep its results (stack 1..nres), wake
 * waiters, run links, and return the results to the hub. */
static int finish(lua_State *co, eh_thread *t) {
  t->nres = lua_gettop(co);
  t->flags |= EH_F_FINISHED;
  if (!eh_pushthread(co, t)) { lua_pop(co, 1); return t->nres; }
  if (lua_getiuservalue(co, -1, EH_UV_WAITER) != LUA_TNIL) {
    eh_thread *w = eh_tothread(co, -1);
    lua_pushnil(co);
    lua_setiuservalue(co, -3, EH_UV_WAITER);
    if (w && w->state == EH_PARKED && w->seq == t->waiter_seq) eh_unpark(co, w, 0);
  }
  lua_pop(co, 1);
  if (lua_getiuservalue(co, -1, EH_UV_EXTRA) != LUA_TTABLE) {
    lua_settop(co, t->nres);
    return t->nres;
  }
  wake_waiters(co);
  if (lua_getfield(co, -1, "links") == LUA_TTABLE) {
    /* links run on this stack: keep a copy of the results for wait() */
    int i;
    lua_createtable(co, t->nres, 0);
    for (i = 1; i <= t->nres; i++) {
      lua_pushvalue(co, i);
      lua_rawseti(co, -2, i);
    }
    lua_setfield(co, -3, "results");
  }
  lua_pop(co, 1);
  lua_getfield(co, -1, "links");
  lua_replace(co, t->nres + 1);
  lua_settop(co, t->nres + 1);
  run_links(co, 1);
  return t->nres;
}

/* Continuation of the thread's function: success or error. */
static int entry_k(lua_State *co, int status, lua_KContext ctx) {
  eh_thread *t = eh_gethub(co)->current;
  (void)ctx;
  lua_remove(co, 1);  /* the message handler */
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_settop(co, 1);
    t->flags |= EH_F_ERROR;
    report_error(co, t, 1);
  }
  return finish(co, t);
}

/* First function of every green thread: fn, args... on the stack. */
static int entry(lua_State *co) {
  eh_thread *t = eh_gethub(co)->current;
  int n = lua_gettop(co), status;
  if (t->flags & EH_F_KILLED) {  /* killed before it started */
    lua_settop(co, 0);
    eh_pending_cancel(co, t);
    eh_clear_cancel(co, t, NULL);
    t->flags |= EH_F_ERROR;
    return finish(co, t);
  }
  lua_pushcfunction(co, msgh);
  lua_insert(co, 1);
  status = lua_pcallk(co, n - 1, LUA_MULTRET, 1, 0, entry_k);
  return entry_k(co, status, 0);
}

/* Create a green thread for the function and nargs arguments on top of
 * the stack, replacing them with the GreenThread.  [-(nargs+1), +1, m] */
int eh_spawn(lua_State *L, eh_hub *h, int nargs) {
  eh_thread *t = eh_newthread(L, h, 0);
  lua_State *co = lua_newthread(L);
  lua_setiuservalue(L, -2, EH_UV_CO);
  t->co = t->top = co;
  lua_rotate(L, -(nargs + 2), 1);       /* gt fn args... */
  lua_pushcfunction(co, entry);
  lua_xmove(L, co, nargs + 1);
  t->nwake = nargs + 1;
  t->state = EH_NEW;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->live_ref);
  lua_pushvalue(L, -2);
  t->ref = luaL_ref(L, -2);
  lua_pop(L, 1);
  h->live++;
  h->spawned++;
  return 1;
}

/* Check that the value at idx can be called (a function, or a value whose
 * metatable has __call), so a bad spawn fails at the call site. */
static void check_callable(lua_State *L, int idx) {
  if (lua_isfunction(L, idx)) return;
  if (luaL_getmetafield(L, idx, "__call") != LUA_TNIL) { lua_pop(L, 1); return; }
  luaL_typeerror(L, idx, "function");
}

/* spawn(fn, ...) -> GreenThread: run fn in a new green thread, started
 * when the caller next yields; threads start in spawn order.  [-n, +1, m] */
static int l_spawn(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  check_callable(L, 1);
  eh_spawn(L, h, lua_gettop(L) - 1);
  eh_enqueue(h, eh_tothread(L, -1));
  return 1;
}

/* spawn_n(fn, ...): spawn, under its own name for error messages (eventlet's
 * cheaper variant; here both cost the same).  [-n, +1, m] */
static int l_spawn_n(lua_State *L) {
  return l_spawn(L);
}

/* spawn_after(seconds, fn, ...) -> GreenThread started after a delay;
 * :cancel() before then means it never runs.  [-n, +1, m] */
static int l_spawn_after(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  double delay = luaL_checknumber(L, 1);
  eh_thread *t;
  check_callable(L, 2);
  lua_remove(L, 1);
  eh_spawn(L, h, lua_gettop(L) - 1);
  t = eh_tothread(L, -1);
  ev_now_update(h->loop);
  ev_timer_set(&t->timer, delay > 0 ? delay : 0., 0.);
  ev_timer_start(h->loop, &t->timer);
  return 1;
}

/* Continuation of sleep: returns nothing once the time has passed. */
static int sleep_k(lua_State *L, int status, lua_KContext ctx) {
  eh_thread *t = eh_gethub(L)->current;
  (void)status; (void)ctx;
  eh_park_check(L);
  lua_pop(L, t->nwake);
  return 0;
}

/* sleep([seconds]): park for that long; 0 lets every ready thread run.
 * [-0, +0, e] */
static int l_sleep(lua_State *L) {
  double s = luaL_optnumber(L, 1, 0.);
  lua_settop(L, 0);
  if (s <= 0) return eh_sleep0(L, 0, sleep_k);
  return eh_park(L, s, "sleep", -1, 0, sleep_k);
}

/* getcurrent([peek]) -> the running GreenThread (the main pseudo-thread
 * outside any green thread).  A server worker lent to a request is marked
 * as seen -- whoever holds it may kill it or keep its locals, so it will
 * serve no other request (serveq.c) -- unless peek: a look at its name or
 * identity that keeps no hold.  [-(0|1), +1, -] */
static int l_getcurrent(lua_State *L) {
  eh_thread *t = eh_gethub(L)->current;
  if ((t->flags & EH_F_LENT) && !lua_toboolean(L, 1)) t->flags |= EH_F_SEEN;
  eh_pushthread(L, t);
  return 1;
}

/* Push the value a kill raises by default (GreenletExit). */
static void push_greenlet_exit(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, GREENLET_EXIT_KEY);
}

/* Deliver err (at erridx) into t: now if parked, at its next park if it is
 * ready, before it starts if new.  Returns 1 if the caller must raise it
 * itself (t is the running thread). */
int eh_kill(lua_State *L, eh_thread *t, int erridx) {
  eh_hub *h = t->hub;
  if (t->flags & (EH_F_FINISHED | EH_F_MAIN) || t->state == EH_DEAD) return 0;
  if (t == h->current) return 1;
  eh_pushthread(L, t);
  eh_extra(L, t);
  lua_pushvalue(L, erridx);
  lua_setfield(L, -2, "killerr");
  lua_pop(L, 2);
  eh_set_cancel(L, t, erridx, NULL);
  if (t->state == EH_NEW) {
    t->flags |= EH_F_KILLED;
    if (ev_is_active(&t->timer)) {  /* spawn_after: start it now to die */
      eh_park_timer_stop(h, t);
      eh_enqueue(h, t);
    }
  } else if (t->state == EH_PARKED) {
    eh_wake(t, EH_WAKE_CANCEL);
  }
  return 0;
}

/* Continuation of kill: nothing to return. */
static int kill_k(lua_State *L, int status, lua_KContext ctx) {
  (void)L; (void)status; (void)ctx;
  return 0;
}

/* kill(gt[, err]): raise err (default GreenletExit) in gt at its current or
 * next wait; a thread not started yet never runs.  The caller then yields
 * once so the victim can react.  No-op on a dead thread.  [-0, +0, e] */
static int l_kill(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  if (lua_isnoneornil(L, 2)) { lua_settop(L, 1); push_greenlet_exit(L); }
  lua_settop(L, 2);
  if (eh_kill(L, t, 2)) return lua_error(L);
  if (t->flags & (EH_F_FINISHED | EH_F_MAIN) || t->state == EH_DEAD) return 0;
  lua_settop(L, 0);
  return eh_sleep0(L, 0, kill_k);
}

/* gt:cancel([err]) -> bool: kill gt only if it has not started yet. */
static int gt_cancel(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  if (t->state != EH_NEW || (t->flags & EH_F_KILLED)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (lua_isnoneornil(L, 2)) { lua_settop(L, 1); push_greenlet_exit(L); }
  lua_settop(L, 2);
  eh_kill(L, t, 2);
  lua_pushboolean(L, 1);
  return 1;
}

/* Push the results of a finished thread, or raise its error. */
static int push_results(lua_State *L, eh_thread *t) {
  int i;
  if (!lua_checkstack(L, t->nres + LUA_MINSTACK))
    return luaL_error(L, "too many results to wait for");
  if (t->state != EH_DEAD) {  /* still running its links */
    eh_pushthread(L, t);
    eh_extra(L, t);
    lua_getfield(L, -1, "results");
    lua_replace(L, -3);
    lua_pop(L, 1);
    for (i = 1; i <= t->nres; i++) lua_rawgeti(L, -i, i);
    lua_remove(L, -(t->nres + 1));
  } else {
    for (i = 1; i <= t->nres; i++) {
      lua_pushvalue(t->co, i);
      lua_xmove(t->co, L, 1);
    }
  }
  if (t->flags & EH_F_ERROR) return lua_error(L);
  return t->nres;
}

/* Continuation of wait: the awaited thread (arg 1) has finished. */
static int wait_k(lua_State *L, int status, lua_KContext ctx) {
  eh_thread *t = eh_tothread(L, 1);
  (void)status; (void)ctx;
  eh_park_check(L);
  if (!(t->flags & EH_F_FINISHED)) return luaL_error(L, "wait: spurious wake");
  lua_settop(L, 1);
  return push_results(L, t);
}

/* gt:wait() -> the thread's results, or its error re-raised.  [-0, +n, e] */
static int gt_wait(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  eh_hub *h = t->hub;
  eh_thread *me = h->current;
  lua_Integer n;
  lua_settop(L, 1);
  if (t->flags & EH_F_FINISHED) return push_results(L, t);
  if (t == me) return luaL_error(L, "wait: a green thread cannot wait for itself");
  if (t->flags & EH_F_MAIN) return luaL_error(L, "wait: cannot wait for main");
  if (lua_getiuservalue(L, 1, EH_UV_WAITER) == LUA_TNIL) {  /* the usual case */
    eh_pushthread(L, me);
    lua_setiuservalue(L, 1, EH_UV_WAITER);
    t->waiter_seq = me->seq + 1;
    lua_settop(L, 1);
    return eh_park(L, -1, "wait", -1, 0, wait_k);
  }
  lua_settop(L, 1);
  eh_extra(L, t);
  if (lua_getfield(L, -1, "waiters") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "waiters");
  }
  n = (lua_Integer)lua_rawlen(L, -1);
  eh_pushthread(L, me);
  lua_rawseti(L, -2, n + 1);
  lua_pushinteger(L, (lua_Integer)(me->seq + 1));
  lua_rawseti(L, -2, n + 2);
  lua_settop(L, 1);
  return eh_park(L, -1, "wait", -1, 0, wait_k);
}

/* gt:link(fn, ...): call fn(gt, ...) when gt finishes, inside the dying
 * thread; at once if it already has.  [-0, +0, e] */
static int gt_link(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  int n = lua_gettop(L), i;
  luaL_checkany(L, 2);
  if (t->flags & EH_F_FINISHED) {
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    for (i = 3; i <= n; i++) lua_pushvalue(L, i);
    lua_call(L, n - 1, 0);
    return 0;
  }
  lua_pushvalue(L, 1);
  eh_extra(L, t);
  if (lua_getfield(L, -1, "links") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "links");
  }
  lua_createtable(L, n - 1, 1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 1);
  for (i = 3; i <= n; i++) { lua_pushvalue(L, i); lua_rawseti(L, -2, i - 1); }
  lua_pushinteger(L, n - 1);
  lua_setfield(L, -2, "n");
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

/* gt:unlink(fn) -> bool: remove the first link to fn. */
static int gt_unlink(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  lua_Integer i, n;
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  lua_pushvalue(L, 1);
  eh_extra(L, t);
  if (lua_getfield(L, -1, "links") == LUA_TTABLE) {
    n = (lua_Integer)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      lua_rawgeti(L, -1, 1);
      if (lua_rawequal(L, -1, 2)) {
        lua_pop(L, 2);
        for (; i < n; i++) { lua_rawgeti(L, -1, i + 1); lua_rawseti(L, -2, i); }
        lua_pushnil(L);
        lua_rawseti(L, -2, n);
        lua_pushboolean(L, 1);
        return 1;
      }
      lua_pop(L, 2);
    }
  }
  lua_pushboolean(L, 0);
  return 1;
}

/* gt:dead() -> bool: the thread's function has returned or failed. */
static int gt_dead(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  lua_pushboolean(L, (t->flags & EH_F_FINISHED) || t->state == EH_DEAD);
  return 1;
}

/* gt:id() -> integer: unique per process; main is 0. */
static int gt_id(lua_State *L) {
  lua_pushinteger(L, eh_checkthread(L, 1)->id);
  return 1;
}

/* gt:name([new]) -> the thread's name (nil when unnamed); sets it first
 * when given.  Names show in errors, threads() and deadlock reports. */
static int gt_name(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  lua_settop(L, 2);
  if (t->flags & EH_F_MAIN) { lua_pushliteral(L, "main"); return 1; }
  lua_pushvalue(L, 1);
  eh_extra(L, t);
  if (!lua_isnone(L, 2) && !lua_isnil(L, 2)) {
    luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "name");
  }
  lua_getfield(L, -1, "name");
  return 1;
}

/* gt:state() -> "new"|"ready"|"running"|"parked"|"dead". */
static int gt_state(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  lua_pushstring(L, (t->flags & EH_F_FINISHED) ? "dead" : eh_statename(t->state));
  return 1;
}

/* gt:locals() -> the thread's private table (eventlet.local storage),
 * collected with the thread. */
static int gt_locals(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  lua_settop(L, 1);
  eh_extra(L, t);
  if (lua_getfield(L, -1, "locals") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "locals");
  }
  return 1;
}

/* __tostring: "GreenThread #3 (name): parked". */
static int gt_tostring(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  const char *state = (t->flags & EH_F_FINISHED) ? "dead" : eh_statename(t->state);
  lua_settop(L, 1);
  if (t->flags & EH_F_MAIN) {
    lua_pushfstring(L, "GreenThread main: %s", state);
    return 1;
  }
  eh_extra(L, t);
  if (lua_getfield(L, -1, "name") == LUA_TSTRING)
    lua_pushfstring(L, "GreenThread #%d (%s): %s", (int)t->id, lua_tostring(L, -1), state);
  else
    lua_pushfstring(L, "GreenThread #%d: %s", (int)t->id, state);
  return 1;
}

/* __gc: a collected thread is dead or the state is closing; its park
 * timer must not stay in the loop. */
static int gt_gc(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  eh_park_timer_stop(t->hub, t);
  eh_waitq_unlink(t);  /* the state is closing with the thread parked */
  return 0;
}

/* __close: `local gt <close> = spawn(...)` kills the thread at scope end. */
static int gt_close(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  lua_settop(L, 1);
  push_greenlet_exit(L);
  if (eh_kill(L, t, 2)) return 0;  /* closing itself: nothing to do */
  return 0;
}

/* The results of a park, for its continuation: true, values... when
 * unparked; nil, "timeout" when the time ran out; raises on kill or
 * Timeout.  Only the wake values may be left on the stack.  [-0, +(2|n), e] */
int eh_park_result(lua_State *L, int status, lua_KContext ctx) {
  eh_thread *t = eh_gethub(L)->current;
  int n = lua_gettop(L);  /* t->nwake is already reset by the hub's resume */
  (void)status; (void)ctx;
  if (t->wake == EH_WAKE_CANCEL) { lua_pop(L, n); return eh_park_check(L); }
  if (t->wake == EH_WAKE_TIMEOUT) {
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(n + 1));
  return n + 1;
}

/* Label t's coming park with the string at idx (if it is one) for
 * threads() and deadlock reports; returns whether it was labelled.  A
 * loop parking with the same string (the usual case) costs only a
 * pointer comparison.  [-0, +0, -] */
int eh_label_park(lua_State *L, eh_thread *t, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  if (lua_topointer(L, idx) != t->what_lua) {
    eh_pushthread(L, t);
    lua_pushvalue(L, idx);
    lua_setiuservalue(L, -2, EH_UV_WHAT);
    lua_pop(L, 1);
    t->what_lua = lua_topointer(L, idx);
  }
  return 1;
}

/* park([timeout[, what]]) -> true, values... when unparked; nil, "timeout"
 * when the time ran out; raises on kill or Timeout.  The building block of
 * every Lua-level primitive.  [-0, +(2|n), e] */
static int l_park(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  double timeout = luaL_optnumber(L, 1, -1.);
  int labelled = eh_label_park(L, h->current, 2);
  lua_settop(L, 0);
  return eh_park(L, timeout < 0 ? -1. : timeout, labelled ? NULL : "park", -1,
                 0, eh_park_result);
}

/* waiter() -> gt, seq: the running thread and the id of its next park,
 * to hand to unpark() so a stale wake-up can never hit a later wait. */
static int l_waiter(lua_State *L) {
  eh_thread *t = eh_gethub(L)->current;
  eh_pushthread(L, t);
  lua_pushinteger(L, (lua_Integer)(t->seq + 1));
  return 2;
}

/* unpark(gt, seq, ...) -> bool: wake gt with the values if it is still in
 * the park numbered seq (any park when seq is nil).  Never yields. */
static int l_unpark(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  int n = lua_gettop(L) - 2;
  if (n < 0) n = 0;
  if (t->state != EH_PARKED ||
      (!lua_isnoneornil(L, 2) && (lua_Integer)t->seq != luaL_checkinteger(L, 2))) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, eh_unpark(L, t, n));
  return 1;
}

/* reset_cancel(gt) -> the kill or fired Timeout that was pending for gt
 * (nil if none), discarded.  For harnesses that must hand a clean thread
 * to the next piece of work. */
static int l_reset_cancel(lua_State *L) {
  eh_thread *t = eh_checkthread(L, 1);
  if (!eh_pending_cancel(L, t)) return 0;
  t->cancel_owner = t->cancel_once ? NULL : t->cancel_owner;
  eh_clear_cancel(L, t, t->cancel_owner);
  return 1;
}

static const luaL_Reg gt_methods[] = {
  {"wait", gt_wait}, {"kill", l_kill}, {"cancel", gt_cancel},
  {"link", gt_link}, {"unlink", gt_unlink}, {"dead", gt_dead},
  {"id", gt_id}, {"name", gt_name}, {"state", gt_state},
  {"locals", gt_locals}, {NULL, NULL}};

static const luaL_Reg gt_meta[] = {
  {"__tostring", gt_tostring}, {"__gc", gt_gc}, {"__close", gt_close},
  {"__index", NULL}, {NULL, NULL}};

const luaL_Reg eh_thread_funcs[] = {
  {"spawn", l_spawn}, {"spawn_n", l_spawn_n}, {"spawn_after", l_spawn_after},
  {"sleep", l_sleep}, {"getcurrent", l_getcurrent}, {"kill", l_kill},
  {"park", l_park}, {"unpark", l_unpark}, {"waiter", l_waiter},
  {"reset_cancel", l_reset_cancel},
  {NULL, NULL}};

/* __tostring of the GreenletExit value. */
static int exit_tostring(lua_State *L) {
  lua_pushliteral(L, "GreenletExit");
  return 1;
}

/* Register the GreenThread metatable and the GreenletExit value. */
void eh_open_thread(lua_State *L) {
  if (luaL_newmetatable(L, EH_THREAD_MT)) {
    luaL_setfuncs(L, gt_meta, 0);
    luaL_newlib(L, gt_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "GreenThread");
    lua_setfield(L, -2, "__name");
  }
  thread_mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, LUA_REGISTRYINDEX, GREENLET_EXIT_KEY) == LUA_TNIL) {
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, exit_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, GREENLET_EXIT_KEY);
  }
  lua_pop(L, 1);
}
