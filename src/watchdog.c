/*
 * watchdog.c -- the blocking watchdog: notice a green thread that runs for
 * longer than a threshold without yielding, and say where it is.
 *
 * A monitor pthread wakes every threshold/2 and samples a progress count:
 * the hub's switch counter (bumped on every resume) plus the loop passes
 * an ev_check watcher sees.  When the count has not moved for a whole
 * threshold and the loop is not sitting in its poll (an ev_prepare /
 * ev_check pair brackets the poll), some Lua code is running without
 * yielding.  The monitor then sets a count hook on the running coroutine
 * -- lua_sethook is safe to call asynchronously, it is how lua.c stops a
 * script on SIGINT -- and the hook, running inside the stuck thread at its
 * next instruction, removes itself and logs the thread's name and Lua
 * traceback (to a Lua reporter when one is set, stderr otherwise), or
 * raises when asked to.  The switch path pays nothing: it only bumps a
 * counter that already exists.  Time is measured on the hub thread's own
 * clock: wall time minus the time the kernel kept it waiting for a CPU
 * (run_delay in /proc/self/task/TID/schedstat), so a loaded machine is
 * not mistaken for a thread that does not yield.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "watchdog.h"

#define WATCHDOG_KEY "eventlet.watchdog"
#define WATCHDOG_MT "eventlet.Watchdog"

typedef struct eh_watchdog {
  eh_hub *hub;
  ev_prepare prepare;       /* sets polling before libev polls */
  ev_check check;           /* clears it after, counts loop passes */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int started;              /* the monitor thread exists */
  int stop;                 /* asks it to end (under mu) */
  int raise;                /* raise in the stuck thread instead of logging */
  int report_ref;           /* Lua reporter fn(message, gt), or LUA_NOREF */
  double threshold;         /* seconds; 0 when off */
  int polling;              /* atomic: the loop is in its poll */
  unsigned long ticks;      /* atomic: loop passes seen by check */
  unsigned long armed_at;   /* atomic: progress when the hook was set */
  double stuck_since;       /* when progress stopped (hub_clock) */
  char schedstat[64];       /* /proc/self/task/<hub tid>/schedstat */
  unsigned long fired;      /* reports made */
  double longest;           /* longest stretch seen without progress */
} eh_watchdog;

/* A monotonic clock in seconds (the monitor's condition variable waits
 * on the same clock). */
static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds the hub thread has spent waiting for a CPU (run_delay in its
 * schedstat; 0 where the kernel does not keep it). */
static double run_delay(eh_watchdog *wd) {
  FILE *f = fopen(wd->schedstat, "r");
  unsigned long long cpu = 0, delay = 0;
  if (f == NULL) return 0;
  if (fscanf(f, "%llu %llu", &cpu, &delay) != 2) delay = 0;
  fclose(f);
  return (double)delay * 1e-9;
}

/* The watchdog's clock: monotonic time minus the time the OS kept the hub
 * thread off the CPU, so a loaded machine is not mistaken for a thread
 * that does not yield. */
static double hub_clock(eh_watchdog *wd) {
  return mono() - run_delay(wd);
}

/* The progress count: resumes plus loop passes.  Read from the monitor
 * while the hub thread writes it: a torn or stale read only delays or
 * repeats a sample. */
static unsigned long progress(eh_watchdog *wd) {
  return __atomic_load_n(&wd->hub->switches, __ATOMIC_RELAXED) +
         __atomic_load_n(&wd->ticks, __ATOMIC_RELAXED);
}

/* libev is about to poll: nothing runs until check. */
static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
  eh_watchdog *wd = (eh_watchdog *)w->data;
  (void)loop; (void)revents;
  __atomic_store_n(&wd->polling, 1, __ATOMIC_RELAXED);
}

/* libev has polled: the loop made progress. */
static void check_cb(struct ev_loop *loop, ev_check *w, int revents) {
  eh_watchdog *wd = (eh_watchdog *)w->data;
  (void)loop; (void)revents;
  __atomic_store_n(&wd->polling, 0, __ATOMIC_RELAXED);
  __atomic_add_fetch(&wd->ticks, 1, __ATOMIC_RELAXED);
}

/* Fetch the watchdog of this state, or NULL before its first use. */
static eh_watchdog *getwatchdog(lua_State *L) {
  eh_watchdog *wd;
  lua_getfield(L, LUA_REGISTRYINDEX, WATCHDOG_KEY);
  wd = (eh_watchdog *)luaL_testudata(L, -1, WATCHDOG_MT);
  lua_pop(L, 1);
  return wd;
}

/* Push "green thread #id (name)" or "the main thread" for t. */
static void push_label(lua_State *L, eh_thread *t) {
  if (t->flags & EH_F_MAIN) { lua_pushliteral(L, "the main thread"); return; }
  eh_pushthread(L, t);
  if (lua_getiuservalue(L, -1, EH_UV_EXTRA) == LUA_TTABLE &&
      lua_getfield(L, -1, "name") == LUA_TSTRING) {
    lua_pushfstring(L, "green thread #%d (%s)", (int)t->id, lua_tostring(L, -1));
    lua_replace(L, -4);
    lua_pop(L, 2);
    return;
  }
  lua_settop(L, lua_gettop(L) - 2);
  lua_pushfstring(L, "green thread #%d", (int)t->id);
}

/* Hand the report (message at -2, traceback at -1) to the Lua reporter,
 * or print it; pops both. */
static void report(lua_State *L, eh_watchdog *wd, eh_thread *t) {
  if (wd->report_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, wd->report_ref);
    lua_pushvalue(L, -2);
    eh_pushthread(L, t);
    if (lua_pcall(L, 2, 0, 0) == LUA_OK) { lua_pop(L, 2); return; }
    lua_writestringerror("eventlet: watchdog reporter failed: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_writestringerror("eventlet: %s\n", lua_tostring(L, -1));
  lua_pop(L, 2);
}

/* The count hook the monitor sets: runs once inside the stuck thread. */
static void hook(lua_State *L, lua_Debug *ar) {
  eh_watchdog *wd = getwatchdog(L);
  eh_thread *t;
  char ran[32];
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  if (wd == NULL || wd->threshold <= 0 ||
      progress(wd) != __atomic_load_n(&wd->armed_at, __ATOMIC_ACQUIRE))
    return;  /* it yielded meanwhile: stale */
  t = wd->hub->current;
  snprintf(ran, sizeof ran, "%.2f", hub_clock(wd) - wd->stuck_since);
  wd->fired++;
  push_label(L, t);
  lua_pushfstring(L, "blocking: %s has run %s s without yielding",
                  lua_tostring(L, -1), ran);
  lua_remove(L, -2);
  if (wd->raise) lua_error(L);
  luaL_traceback(L, L, lua_tostring(L, -1), 0);
  report(L, wd, t);
}

/* From the monitor: make the running coroutine call hook() at its next
 * instruction, unless it already has a hook (a debugger's, a tracer's). */
static void arm(eh_watchdog *wd, unsigned long at) {
  eh_thread *t = __atomic_load_n(&wd->hub->current, __ATOMIC_RELAXED);
  lua_State *co;
  if (t == NULL) return;
  co = t->top ? t->top : t->co;
  /* still no progress: t is still running (not finished and collected) */
  if (co == NULL || progress(wd) != at || lua_gethook(co) != NULL) return;
  __atomic_store_n(&wd->armed_at, at, __ATOMIC_RELEASE);
  lua_sethook(co, hook, LUA_MASKCOUNT, 1);
}

/* The monitor thread: sample progress every threshold/2. */
static void *monitor(void *arg) {
  eh_watchdog *wd = (eh_watchdog *)arg;
  unsigned long last = progress(wd);
  double since = hub_clock(wd);
  int reported = 0;
  pthread_mutex_lock(&wd->mu);
  while (!wd->stop) {
    struct timespec ts;
    double period = wd->threshold / 2, now;
    unsigned long p;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)period;
    ts.tv_nsec += (long)((period - (double)(time_t)period) * 1e9);
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_cond_timedwait(&wd->cv, &wd->mu, &ts);
    if (wd->stop) break;
    p = progress(wd);
    now = hub_clock(wd);
    if (p != last || __atomic_load_n(&wd->polling, __ATOMIC_RELAXED)) {
      if (reported && now - since > wd->longest) wd->longest = now - since;
      last = p; since = now; reported = 0;
      continue;
    }
    if (!reported && now - since >= wd->threshold) {
      wd->stuck_since = since;
      arm(wd, p);
      reported = 1;
    }
  }
  pthread_mutex_unlock(&wd->mu);
  return NULL;
}

/* Stop the monitor thread and the loop watchers. */
static void stop(eh_watchdog *wd) {
  if (!wd->started) return;
  pthread_mutex_lock(&wd->mu);
  wd->stop = 1;
  pthread_cond_signal(&wd->cv);
  pthread_mutex_unlock(&wd->mu);
  pthread_join(wd->thread, NULL);
  wd->started = 0;
  ev_ref(wd->hub->loop);
  ev_prepare_stop(wd->hub->loop, &wd->prepare);
  ev_ref(wd->hub->loop);
  ev_check_stop(wd->hub->loop, &wd->check);
}

/* Start the loop watchers (unreferenced: they keep nothing alive) and
 * the monitor thread.  Returns 0, or an errno. */
static int start(eh_watchdog *wd) {
  int rc;
  __atomic_store_n(&wd->polling, 0, __ATOMIC_RELAXED);
  snprintf(wd->schedstat, sizeof wd->schedstat, "/proc/self/task/%ld/schedstat",
           (long)syscall(SYS_gettid));
  ev_prepare_start(wd->hub->loop, &wd->prepare);
  ev_unref(wd->hub->loop);
  ev_check_start(wd->hub->loop, &wd->check);
  ev_unref(wd->hub->loop);
  wd->stop = 0;
  rc = pthread_create(&wd->thread, NULL, monitor, wd);
  if (rc == 0) { wd->started = 1; return 0; }
  ev_ref(wd->hub->loop);
  ev_prepare_stop(wd->hub->loop, &wd->prepare);
  ev_ref(wd->hub->loop);
  ev_check_stop(wd->hub->loop, &wd->check);
  return rc;
}

/* __gc/__close: the monitor must be gone before the state is. */
static int wd_gc(lua_State *L) {
  eh_watchdog *wd = (eh_watchdog *)luaL_checkudata(L, 1, WATCHDOG_MT);
  stop(wd);
  wd->threshold = 0;
  return 0;
}

/* __tostring: "Watchdog (0.5 s)" or "Watchdog (off)". */
static int wd_tostring(lua_State *L) {
  eh_watchdog *wd = (eh_watchdog *)luaL_checkudata(L, 1, WATCHDOG_MT);
  char s[32];
  snprintf(s, sizeof s, "%g", wd->threshold);
  if (wd->threshold > 0) lua_pushfstring(L, "Watchdog (%s s)", s);
  else lua_pushliteral(L, "Watchdog (off)");
  return 1;
}

/* A condition variable whose timed waits use the monotonic clock (the
 * monitor computes its deadlines on it). */
static void init_cond(pthread_cond_t *cv) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &attr);
  pthread_condattr_destroy(&attr);
}

/* Create the watchdog of this state (once).  [-0, +0, m] */
static eh_watchdog *openwatchdog(lua_State *L) {
  eh_watchdog *wd = getwatchdog(L);
  if (wd) return wd;
  wd = (eh_watchdog *)lua_newuserdatauv(L, sizeof *wd, 0);
  memset(wd, 0, sizeof *wd);
  wd->hub = eh_gethub(L);
  wd->report_ref = LUA_NOREF;
  pthread_mutex_init(&wd->mu, NULL);
  init_cond(&wd->cv);
  ev_prepare_init(&wd->prepare, prepare_cb);
  wd->prepare.data = wd;
  ev_check_init(&wd->check, check_cb);
  wd->check.data = wd;
  if (luaL_newmetatable(L, WATCHDOG_MT)) {
    lua_pushcfunction(L, wd_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, wd_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, wd_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, WATCHDOG_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, WATCHDOG_KEY);
  return wd;
}

/* Push the watchdog's state: {threshold, raise, fired, longest}, or
 * false when it is off. */
static int push_state(lua_State *L, eh_watchdog *wd) {
  if (wd == NULL || wd->threshold <= 0) { lua_pushboolean(L, 0); return 1; }
  lua_createtable(L, 0, 4);
  lua_pushnumber(L, wd->threshold);
  lua_setfield(L, -2, "threshold");
  lua_pushboolean(L, wd->raise);
  lua_setfield(L, -2, "raise");
  pthread_mutex_lock(&wd->mu);
  lua_pushinteger(L, (lua_Integer)wd->fired);
  lua_setfield(L, -2, "fired");
  lua_pushnumber(L, wd->longest);
  lua_setfield(L, -2, "longest");
  pthread_mutex_unlock(&wd->mu);
  return 1;
}

/* Read the options table at idx: raise (bool), report (function). */
static void set_options(lua_State *L, eh_watchdog *wd, int idx) {
  luaL_unref(L, LUA_REGISTRYINDEX, wd->report_ref);
  wd->report_ref = LUA_NOREF;
  wd->raise = 0;
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_getfield(L, idx, "raise");
  wd->raise = lua_toboolean(L, -1);
  lua_getfield(L, idx, "report");
  if (!lua_isnil(L, -1)) {
    luaL_checktype(L, -1, LUA_TFUNCTION);
    wd->report_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* watchdog([seconds|false[, {raise=, report=}]]) -> state: with seconds,
 * report any green thread that runs that long without yielding (the
 * report is fn(message_with_traceback, gt) or a line on stderr; raise
 * makes it an error inside the blocking code); false turns it off.
 * Returns {threshold, raise, fired, longest}, or false when off.
 * [-0, +1, e] */
static int l_watchdog(lua_State *L) {
  eh_watchdog *wd;
  double seconds;
  int rc;
  if (lua_isnone(L, 1)) return push_state(L, getwatchdog(L));
  wd = openwatchdog(L);
  seconds = lua_toboolean(L, 1) ? luaL_checknumber(L, 1) : 0.;
  luaL_argcheck(L, seconds >= 0, 1, "threshold must be positive");
  stop(wd);
  wd->threshold = seconds;
  set_options(L, wd, 2);
  if (seconds > 0 && (rc = start(wd)) != 0) {
    wd->threshold = 0;
    return luaL_error(L, "watchdog: cannot start the monitor thread: %s", strerror(rc));
  }
  return push_state(L, wd);
}

const luaL_Reg eh_watchdog_funcs[] = {
  {"watchdog", l_watchdog}, {NULL, NULL}};
