/*
 * hub.c -- the loop that runs green threads.
 *
 * One round of the loop resumes every thread that was ready when the round
 * began (FIFO), then asks libev for events: without blocking while threads
 * are still ready (at most once per EH_POLL_INTERVAL, so a busy sleep(0)
 * ping-pong does not pay a syscall per switch), blocking otherwise.
 *
 * Blocking calls made where a yield is impossible (the main thread of a
 * plain lua5.4, a C boundary) do not yield: they run this same loop nested
 * until their own wait completes, and report a deadlock when nothing can
 * ever wake them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub.h"
#include "backend.h"

#define EH_POLL_INTERVAL 0.0005  /* seconds between I/O polls while busy */
#define EH_DEADLOCK_LIST 8       /* parked threads named in a deadlock */

static char sentinel_key;
static char hub_key;  /* the hub in the registry, under this address */

/* The value a park yields when it crosses a user coroutine. */
void *eh_sentinel(void) { return &sentinel_key; }

/* A monotonic clock in seconds, cheap enough to read every round (libev's
 * timers run on the same clock). */
double eh_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fetch the hub of this Lua state, opened by luaopen_eventlet_core. */
eh_hub *eh_gethub(lua_State *L) {
  eh_hub *h = *(eh_hub **)lua_getextraspace(L);
  if (h != NULL) return h;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hub_key);
  h = (eh_hub *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (h == NULL) luaL_error(L, "eventlet: the hub is not open");
  return h;
}

/* The userdata at idx when its metatable is mt (one the hub keeps a
 * pointer to), else luaL_checkudata's verdict for tname.  The pointer
 * comparison spares the hot paths a registry lookup by name; a metatable
 * lives as long as the state, so its address cannot be reused.
 * [-0, +0, v] */
void *eh_checkudata(lua_State *L, int idx, const void *mt, const char *tname) {
  void *p = lua_touserdata(L, idx);
  if (p != NULL && mt != NULL && lua_getmetatable(L, idx)) {
    int same = lua_topointer(L, -1) == mt;
    lua_pop(L, 1);
    if (same) return p;
  }
  return luaL_checkudata(L, idx, tname);
}

/* Write the decimal digits of v into out (at least 20 bytes); returns
 * how many.  Response heads and peer addresses use it: snprintf costs
 * more than the rest of either. */
size_t eh_fmt_uint(char *out, unsigned long long v) {
  char tmp[24];
  size_t n = 0, i;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

/* Pick libev's backend from EVENTLET_HUB; unknown names are an error. */
static unsigned backend_flags(lua_State *L) {
  return eh_backend_flag(L, getenv("EVENTLET_HUB"), "EVENTLET_HUB");
}

static void stop_lasting_watchers(eh_hub *h);

/* __gc of the hub, at lua_close: made before any object of ours, it is
 * finalized after all of them, so nothing can touch the loop any more.
 * Stop the parts' lasting watchers (signal handlers would otherwise point
 * at a freed loop) and free the loop.  [-0, +0, -] */
static int hub_gc(lua_State *L) {
  eh_hub *h = (eh_hub *)lua_touserdata(L, 1);
  if (h->loop == NULL) return 0;
  eh_buf_close(&h->bufs);   /* every socket, finalized before, gave its buffer back */
  stop_lasting_watchers(h);
  ev_loop_destroy(h->loop);
  h->loop = NULL;
  return 0;
}

/* Create the hub once per Lua state and keep it in the registry.
 * [-0, +0, e] */
eh_hub *eh_openhub(lua_State *L) {
  eh_hub *h;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hub_key);
  h = (eh_hub *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (h != NULL) return h;
  h = (eh_hub *)lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  eh_buf_init(&h->bufs);
  if (luaL_newmetatable(L, "eventlet.Hub")) {
    lua_pushcfunction(L, hub_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  /* Not libev's default loop: that one reaps every child of the process
   * (waitpid(-1) on SIGCHLD), which would steal the exit status from
   * io.popen, os.execute and any C library.  Child processes are watched
   * per pid instead (see process.c). */
  h->loop = ev_loop_new(backend_flags(L));
  if (h->loop == NULL) luaL_error(L, "eventlet: cannot initialise libev");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hub_key);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  h->L = lua_tothread(L, -1);
  lua_pop(L, 1);
  *(eh_hub **)lua_getextraspace(h->L) = h;  /* copied into new threads */
  *(eh_hub **)lua_getextraspace(L) = h;
  h->loop_L = h->L;
  h->print_errors = 1;
  h->onerror_ref = LUA_NOREF;
  h->next_id = 1;
  lua_newtable(L);  /* live threads: light userdata -> GreenThread */
  h->live_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  h->main = eh_newthread(L, h, 1);
  h->main->state = EH_RUNNING;
  h->main->co = h->main->top = h->L;
  lua_setfield(L, LUA_REGISTRYINDEX, "eventlet.main");
  h->current = h->main;
  h->last_poll = eh_monotonic();
  return h;
}

/* use_hub() support (owned by issue #10, backend.c): the parts whose
 * watchers stay armed for the hub's whole life register a hook that moves
 * them when the loop is replaced.  See eh_loop_hook in hub.h. */
#define EH_LOOP_HOOKS 8
static eh_loop_hook loop_hooks[EH_LOOP_HOOKS];
static int nloop_hooks;

/* Register a part's loop hook (once; later calls with it are no-ops). */
void eh_add_loop_hook(eh_loop_hook hook) {
  int i;
  for (i = 0; i < nloop_hooks; i++)
    if (loop_hooks[i] == hook) return;
  if (nloop_hooks < EH_LOOP_HOOKS) loop_hooks[nloop_hooks++] = hook;
}

static void poll_nowait(lua_State *L, eh_hub *h);

/* Ask every part to stop its lasting watchers on the current loop. */
static void stop_lasting_watchers(eh_hub *h) {
  int i;
  for (i = 0; i < nloop_hooks; i++) loop_hooks[i](h, EH_LOOP_STOP);
}

/* Stop the park timers that ended parks left armed (parktimer.c) in the
 * loop being replaced: only main's and the running thread's can be, as
 * eh_switch_backend refuses while any other thread lives. */
static void stop_lingering_timers(eh_hub *h) {
  if (h->main->lazy_timer) eh_park_timer_stop(h, h->main);
  if (h->current->lazy_timer) eh_park_timer_stop(h, h->current);
}

/* Replace the hub's loop by a new one on another backend.  Only before
 * the first blocking call (the loop never polled) and while nothing waits
 * on it: no thread parked, ready or scheduled, no referenced watcher armed
 * (one non-blocking poll tells), and every loop hook agrees; park timers
 * left lingering (parktimer.c) are stopped; the hooks
 * then move their watchers across.  [-0, +0, e] */
void eh_switch_backend(lua_State *L, eh_hub *h, unsigned flags) {
  struct ev_loop *loop;
  int i, running = h->current != h->main;
  int polled = ev_iteration(h->loop) > 0;
  if (!polled) poll_nowait(L, h);
  if (polled || h->parked || h->head || h->live > running || h->active)
    luaL_error(L, "use_hub: the hub is already in use (call it before the "
               "first blocking call)");
  for (i = 0; i < nloop_hooks; i++)
    if (loop_hooks[i](h, EH_LOOP_CHECK))
      luaL_error(L, "use_hub: the hub is already in use (signal handlers "
                 "or other watchers are armed)");
  loop = ev_loop_new(flags);
  if (loop == NULL) luaL_error(L, "use_hub: libev cannot create that loop");
  stop_lingering_timers(h);
  stop_lasting_watchers(h);
  ev_loop_destroy(h->loop);
  h->loop = loop;
  for (i = 0; i < nloop_hooks; i++) loop_hooks[i](h, EH_LOOP_START);
  h->last_poll = eh_monotonic();
}

/* The green thread running now (main when none is). */
eh_thread *eh_current(eh_hub *h) { return h->current; }

/* Append a thread to the run queue. */
void eh_enqueue(eh_hub *h, eh_thread *t) {
  t->next = NULL;
  if (h->tail) h->tail->next = t; else h->head = t;
  h->tail = t;
  if (t->state != EH_NEW) t->state = EH_READY;
}

/* Queue t, made runnable by an I/O watcher.  libev runs the watchers of
 * one poll in the reverse of the order the kernel reported them, so while
 * a poll is under way such threads collect newest first -- which puts them
 * back in the kernel's order -- and join the run queue when it returns
 * (join_polled): first ready, first served, as the round's FIFO promises
 * (before, of 1,000 busy connections the one that became ready last was
 * served first). */
void eh_enqueue_polled(eh_hub *h, eh_thread *t) {
  if (!h->polling) {
    eh_enqueue(h, t);
    return;
  }
  t->next = h->polled;
  if (h->polled == NULL) h->polled_tail = t;
  h->polled = t;
  if (t->state != EH_NEW) t->state = EH_READY;
}

/* Append the threads the poll just done made runnable to the run queue. */
static void join_polled(eh_hub *h) {
  if (h->polled == NULL) return;
  if (h->tail) h->tail->next = h->polled; else h->head = h->polled;
  h->tail = h->polled_tail;
  h->polled = h->polled_tail = NULL;
}

/* Take the first thread off the run queue. */
static eh_thread *dequeue(eh_hub *h) {
  eh_thread *t = h->head;
  if (t) {
    h->head = t->next;
    if (h->head == NULL) h->tail = NULL;
    t->next = NULL;
  }
  return t;
}

/* End a park: disarm its timer and make the thread runnable with a
 * reason, queued by an I/O watcher's rules when polled is set. */
static void wake(eh_thread *t, int reason, int polled) {
  eh_hub *h = t->hub;
  if (t->state != EH_PARKED) return;
  eh_park_timer_release(h, t);
  eh_waitq_unlink(t);
  t->wake = (unsigned char)reason;
  h->parked--;
  if (t->flags & EH_F_NESTED) t->state = EH_READY;  /* its loop sees it */
  else if (polled) eh_enqueue_polled(h, t);
  else eh_enqueue(h, t);
}

/* End a park and make the thread runnable with a reason. */
void eh_wake(eh_thread *t, int reason) {
  wake(t, reason, 0);
}

/* End a park from an I/O watcher's callback (see eh_enqueue_polled). */
void eh_wake_polled(eh_thread *t) {
  wake(t, EH_WAKE_IO, 1);
}

/* Hand the top nvalues of `from` to a parked thread and wake it.
 * Returns 0 (and drops the values) when the thread is not parked. */
int eh_unpark(lua_State *from, eh_thread *t, int nvalues) {
  if (t->state != EH_PARKED) {
    lua_pop(from, nvalues);
    return 0;
  }
  if (nvalues > 0) {
    if (!lua_checkstack(t->wake_L, nvalues + LUA_MINSTACK))
      luaL_error(from, "eventlet: stack overflow waking a thread");
    lua_xmove(from, t->wake_L, nvalues);
  }
  t->nwake = nvalues;
  eh_wake(t, EH_WAKE_UNPARK);
  return 1;
}

/* Record a cancellation for t: the value at idx, raised at its current or
 * next park.  owner is the Timeout that fired, or NULL for a kill. */
void eh_set_cancel(lua_State *L, eh_thread *t, int idx, const void *owner) {
  idx = lua_absindex(L, idx);
  eh_pushthread(L, t);
  lua_pushvalue(L, idx);
  lua_setiuservalue(L, -2, EH_UV_CANCEL);
  lua_pop(L, 1);
  t->cancelled = 1;
  t->cancel_once = owner == NULL;
  t->cancel_owner = owner;
}

/* Withdraw the cancellation of t if owner (a Timeout, or NULL) set it. */
void eh_clear_cancel(lua_State *L, eh_thread *t, const void *owner) {
  if (!t->cancelled || t->cancel_owner != owner) return;
  t->cancelled = 0;
  t->cancel_once = 0;
  t->cancel_owner = NULL;
  if (t->state == EH_DEAD) return;
  eh_pushthread(L, t);
  lua_pushnil(L);
  lua_setiuservalue(L, -2, EH_UV_CANCEL);
  lua_pop(L, 1);
}

/* Push the cancellation waiting for t (kill or fired Timeout), if any.
 * Returns 1 with the value pushed, or 0 with nothing pushed. */
int eh_pending_cancel(lua_State *L, eh_thread *t) {
  if (!t->cancelled) return 0;
  eh_pushthread(L, t);
  lua_getiuservalue(L, -1, EH_UV_CANCEL);
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return 0; }
  return 1;
}

/* Raise the cancellation pending for t; a kill is delivered only once,
 * a fired Timeout stays until its owner cancels it.  [-0, +0, v] */
int eh_raise_cancel(lua_State *L, eh_thread *t) {
  if (!eh_pending_cancel(L, t)) return luaL_error(L, "eventlet: no cancel");
  if (t->cancel_once) eh_clear_cancel(L, t, NULL);
  return lua_error(L);
}

/* Shrink a finished thread's stack that holds no results to the minimum
 * at once, instead of when the collector frees the thread: thousands of
 * connection threads that end as their connections doze off would
 * otherwise keep the stacks their requests grew until then. */
static void give_back_stack(lua_State *co) {
#if LUA_VERSION_RELEASE_NUM >= 50406
  (void)lua_closethread(co, NULL);
#else
  (void)lua_resetthread(co);
#endif
}

/* Resume one thread and account for how it came back. */
static void resume(lua_State *L, eh_hub *h, eh_thread *t) {
  eh_thread *owner = h->current;
  int nargs = t->nwake, nres = 0, status;  /* nwake stays readable by k */
  t->state = EH_RUNNING;
  t->switches++;
  h->switches++;
  h->current = t;
  status = lua_resume(t->co, L, nargs, &nres);
  h->current = owner;
  if (status == LUA_YIELD) {
    lua_pop(t->co, nres);
    /* A bare coroutine.yield() at the top of a green thread: sleep(0). */
    if (t->state == EH_RUNNING) eh_enqueue(h, t);
    return;
  }
  if (status != LUA_OK) {  /* the entry function failed itself (memory) */
    const char *msg = lua_tostring(t->co, -1);
    lua_writestringerror("eventlet: green thread failed: %s\n",
                         msg ? msg : "(error object)");
    t->flags |= EH_F_ERROR;
    nres = 1;
  }
  t->nwake = nres;  /* a dead thread keeps its results on its stack */
  if (nres == 0 && !(t->flags & EH_F_ERROR)) give_back_stack(t->co);
  eh_park_timer_stop(h, t);   /* a lingering one: nothing waits now */
  t->state = EH_DEAD;
  h->live--;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->live_ref);
  luaL_unref(L, -1, t->ref);
  lua_pop(L, 1);
}

/* Resume the threads that were ready when the round began.  Stops early
 * when `until` has been woken.  Returns how many were resumed. */
static int run_round(lua_State *L, eh_hub *h, eh_thread *until) {
  eh_thread *last = h->tail, *t;
  int n = 0;
  while (last != NULL && (t = dequeue(h)) != NULL) {
    resume(L, h, t);
    n++;
    if (t == last) break;
    if (until && until->state != EH_PARKED) break;
  }
  return n;
}

/* Run libev once (flags: EVRUN_NOWAIT or EVRUN_ONCE) with L driving its
 * callbacks, then queue what its I/O watchers woke. */
static void poll_once(lua_State *L, eh_hub *h, int flags) {
  lua_State *saved = h->loop_L;
  h->loop_L = L;
  h->polling++;
  h->active = ev_run(h->loop, flags);
  h->polling--;
  h->loop_L = saved;
  if (!h->polling) join_polled(h);
  h->last_poll = eh_monotonic();
}

/* Let libev run what is due without blocking. */
static void poll_nowait(lua_State *L, eh_hub *h) {
  poll_once(L, h, EVRUN_NOWAIT);
}

/* Block in libev until something happens (returns at once when nothing
 * is armed); records whether any watcher is still active. */
static void poll_block(lua_State *L, eh_hub *h) {
  poll_once(L, h, EVRUN_ONCE);
}

/* Run the loop until `until` is woken, or (until == NULL) until nothing
 * is runnable or armed.  Returns 0, or -1 on deadlock. */
static int run_loop(lua_State *L, eh_hub *h, eh_thread *until) {
  int rc = 0;
  h->depth++;
  for (;;) {
    if (until && until->state != EH_PARKED) break;
    if (h->head) {
      run_round(L, h, until);
      if (until && until->state != EH_PARKED) break;
      if (h->head && eh_monotonic() - h->last_poll >= EH_POLL_INTERVAL)
        poll_nowait(L, h);
      continue;
    }
    poll_block(L, h);
    if (h->head == NULL && !h->active) {
      if (until && until->state == EH_PARKED) rc = -1;
      break;
    }
  }
  h->depth--;
  return rc;
}

/* Run the hub from a non-thread caller until everything is done. */
void eh_run(lua_State *L, eh_hub *h, eh_thread *until) {
  (void)run_loop(L, h, until);
}

/* Describe what a parked thread waits on (pushes a string). */
static void push_waiting(lua_State *L, eh_thread *t) {
  if (t->what != NULL) {
    if (t->what_fd >= 0) lua_pushfstring(L, "%s (fd %d)", t->what, t->what_fd);
    else lua_pushstring(L, t->what);
    return;
  }
  eh_pushthread(L, t);
  lua_getiuservalue(L, -1, EH_UV_WHAT);
  lua_remove(L, -2);
  if (lua_isstring(L, -1)) return;
  lua_pop(L, 1);
  if (t->what_fd >= 0)
    lua_pushfstring(L, "%s (fd %d)", t->what ? t->what : "io", t->what_fd);
  else
    lua_pushstring(L, t->what ? t->what : "park");
}

/* Push the name of a thread ("main" or "#id name"). */
static void push_label(lua_State *L, eh_thread *t) {
  int top = lua_gettop(L);
  if (t->flags & EH_F_MAIN) { lua_pushliteral(L, "main"); return; }
  eh_pushthread(L, t);
  lua_getiuservalue(L, -1, EH_UV_EXTRA);
  if (lua_istable(L, -1) && lua_getfield(L, -1, "name") == LUA_TSTRING)
    lua_pushfstring(L, "#%d %s", (int)t->id, lua_tostring(L, -1));
  else
    lua_pushfstring(L, "#%d", (int)t->id);
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
}

/* Raise "deadlock: ..." naming the waiter and other parked threads. */
static int raise_deadlock(lua_State *L, eh_hub *h, eh_thread *t) {
  int base = lua_gettop(L), listed = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->live_ref);         /* base+1 */
  push_label(L, t);
  push_waiting(L, t);
  lua_pushfstring(L, "deadlock: %s waits on %s and nothing can wake it",
                  lua_tostring(L, -2), lua_tostring(L, -1));
  lua_replace(L, base + 2);                               /* message */
  lua_settop(L, base + 2);
  lua_pushnil(L);
  while (lua_next(L, base + 1)) {
    eh_thread *o = eh_tothread(L, -1);
    lua_pop(L, 1);
    if (o == NULL || o == t || o->state != EH_PARKED) continue;
    if (listed++ == EH_DEADLOCK_LIST) {
      lua_pushfstring(L, "%s; ...", lua_tostring(L, base + 2));
      lua_replace(L, base + 2);
      lua_pop(L, 1);
      break;
    }
    push_label(L, o);
    push_waiting(L, o);
    lua_pushfstring(L, "%s%s%s on %s", lua_tostring(L, base + 2),
                    listed == 1 ? " (parked: " : "; ",
                    lua_tostring(L, -2), lua_tostring(L, -1));
    lua_replace(L, base + 2);
    lua_pop(L, 2);
  }
  if (listed) {
    lua_pushfstring(L, "%s)", lua_tostring(L, base + 2));
    lua_replace(L, base + 2);
  }
  lua_settop(L, base + 2);
  return lua_error(L);
}

/* Undo a park that never happened (deadlock) or is being abandoned. */
static void unpark_self(eh_hub *h, eh_thread *t) {
  if (t->state == EH_PARKED) h->parked--;
  eh_park_timer_stop(h, t);
  eh_waitq_unlink(t);
  t->state = EH_RUNNING;
}

/* Park the running thread: yield to the hub when possible, otherwise run
 * the loop nested until this thread is woken.  Resumes in k with the wake
 * reason in t->wake and t->nwake values on top of the stack. */
int eh_park(lua_State *L, double timeout, const char *what, int fd,
            lua_KContext ctx, lua_KFunction k) {
  eh_hub *h = eh_gethub(L);
  eh_thread *t = h->current;
  t->seq++;  /* consumed even when cancelled: records made for it go stale */
  if (eh_pending_cancel(L, t)) {  /* raised before parking: leave any waitq */
    lua_pop(L, 1);
    eh_waitq_unlink(t);
    return eh_raise_cancel(L, t);
  }
  t->state = EH_PARKED;
  t->wake = EH_WAKE_NONE;
  t->nwake = 0;
  t->what = what;
  t->what_fd = fd;
  h->parked++;
  if (timeout >= 0) {
    ev_now_update(h->loop);  /* the thread may have run (or blocked) long */
    eh_park_timer_arm(h, t, timeout);
  }
  if (!(t->flags & EH_F_MAIN) && (L == t->co || L == t->top) &&
      lua_isyieldable(L)) {
    t->flags &= (unsigned char)~EH_F_NESTED;
    t->wake_L = t->co;
    if (L == t->co) return lua_yieldk(L, 0, ctx, k);
    lua_pushlightuserdata(L, eh_sentinel());
    return lua_yieldk(L, 1, ctx, k);
  }
  eh_wait_nested(L, t);
  return k(L, LUA_YIELD, ctx);
}

/* Remove t from the run queue (rare: a sleep(0) that cannot yield). */
static void unqueue(eh_hub *h, eh_thread *t) {
  eh_thread **p = &h->head, *prev = NULL;
  while (*p && *p != t) { prev = *p; p = &(*p)->next; }
  if (*p == NULL) return;
  *p = t->next;
  if (h->tail == t) h->tail = prev;
  t->next = NULL;
}

/* Wait for t's current park (or sleep(0)) without yielding, by running
 * the loop on L's stack; wake values land on L.  Raises on deadlock. */
void eh_wait_nested(lua_State *L, eh_thread *t) {
  eh_hub *h = t->hub;
  if (t->state == EH_READY) {  /* sleep(0): one round for the others */
    unqueue(h, t);
    t->state = EH_RUNNING;
    if (h->head) run_round(L, h, NULL);
    poll_nowait(L, h);
    return;
  }
  t->flags |= EH_F_NESTED;
  t->wake_L = L;
  if (run_loop(L, h, t) < 0) {
    t->flags &= (unsigned char)~EH_F_NESTED;
    unpark_self(h, t);
    raise_deadlock(L, h, t);
  }
  t->flags &= (unsigned char)~EH_F_NESTED;
  t->state = EH_RUNNING;
}

/* In a park continuation: raise a kill or fired Timeout if that is why
 * the thread woke.  Call it after disarming the caller's own watchers. */
int eh_park_check(lua_State *L) {
  eh_thread *t = eh_gethub(L)->current;
  int wake = t->wake;
  t->wake = EH_WAKE_NONE;  /* a reason is read once: never a stale one */
  if (wake == EH_WAKE_CANCEL) return eh_raise_cancel(L, t);
  return wake;
}

/* Give every other ready thread a turn, then continue in k. */
int eh_sleep0(lua_State *L, lua_KContext ctx, lua_KFunction k) {
  eh_hub *h = eh_gethub(L);
  eh_thread *t = h->current;
  if (eh_pending_cancel(L, t)) { lua_pop(L, 1); return eh_raise_cancel(L, t); }
  t->wake = EH_WAKE_NONE;
  if (!(t->flags & EH_F_MAIN) && (L == t->co || L == t->top) &&
      lua_isyieldable(L)) {
    eh_enqueue(h, t);
    t->nwake = 0;
    if (L == t->co) return lua_yieldk(L, 0, ctx, k);
    lua_pushlightuserdata(L, eh_sentinel());
    return lua_yieldk(L, 1, ctx, k);
  }
  eh_enqueue(h, t);
  eh_wait_nested(L, t);
  return k(L, LUA_YIELD, ctx);
}
