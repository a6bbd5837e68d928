/*
 * hubstats.c -- how the hub is doing, for hub() in the REPL and for
 * eventlet.debug: loop lag, switches per second, and what parked threads
 * wait on.
 *
 * Loop lag is sampled by one periodic timer, never on the switch path: the
 * timer asks to fire every `interval` seconds, and how late it actually
 * runs is how long the loop was kept from handling events (a thread that
 * did not yield, a burst of ready threads).  The timer is unreferenced, so
 * it never keeps a program alive.
 */
#include <stdio.h>
#include <string.h>

#include "hubstats.h"

#define LAG_KEY "eventlet.looplag"
#define LAG_MT "eventlet.LoopLag"
#define LAG_EWMA 0.2       /* weight of a new sample in the mean */

typedef struct eh_lag {
  ev_timer timer;
  eh_hub *hub;
  double interval;         /* seconds between samples; 0 when off */
  double due;              /* when the timer should fire (ev_now clock) */
  double last, max, mean;  /* lag of the last sample, worst, moving mean */
  unsigned long samples;
  unsigned long switches;  /* the hub's counter at the last sample */
  double at;               /* ...and when it was read */
  double rate;             /* switches per second between the last two */
} eh_lag;

/* Arm the timer for the next sample. */
static void schedule(eh_lag *lag) {
  struct ev_loop *loop = lag->hub->loop;
  lag->due = ev_now(loop) + lag->interval;
  ev_timer_set(&lag->timer, lag->interval, 0.);
  ev_timer_start(loop, &lag->timer);
  ev_unref(loop);
}

/* The sample timer fired: record how late, and the switch rate. */
static void sample_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  eh_lag *lag = (eh_lag *)w->data;
  double now = ev_time(), late = now - lag->due;
  (void)revents;
  ev_ref(loop);  /* the timer has stopped: balance its unref */
  if (late < 0) late = 0;
  lag->last = late;
  if (late > lag->max) lag->max = late;
  lag->mean = lag->samples ? lag->mean + LAG_EWMA * (late - lag->mean) : late;
  lag->samples++;
  if (now > lag->at)
    lag->rate = (double)(lag->hub->switches - lag->switches) / (now - lag->at);
  lag->switches = lag->hub->switches;
  lag->at = now;
  schedule(lag);
}

/* Stop sampling. */
static void lag_stop(eh_lag *lag) {
  if (!ev_is_active(&lag->timer)) return;
  ev_ref(lag->hub->loop);
  ev_timer_stop(lag->hub->loop, &lag->timer);
}

/* __gc/__close: the timer must leave the loop with its record. */
static int lag_gc(lua_State *L) {
  lag_stop((eh_lag *)luaL_checkudata(L, 1, LAG_MT));
  return 0;
}

/* __tostring: "LoopLag (every 0.5 s)" or "LoopLag (off)". */
static int lag_tostring(lua_State *L) {
  eh_lag *lag = (eh_lag *)luaL_checkudata(L, 1, LAG_MT);
  char s[32];
  snprintf(s, sizeof s, "%g", lag->interval);
  if (ev_is_active(&lag->timer)) lua_pushfstring(L, "LoopLag (every %s s)", s);
  else lua_pushliteral(L, "LoopLag (off)");
  return 1;
}

/* The sampler of this state, created on first use.  [-0, +0, m] */
static eh_lag *getlag(lua_State *L) {
  eh_lag *lag;
  lua_getfield(L, LUA_REGISTRYINDEX, LAG_KEY);
  lag = (eh_lag *)luaL_testudata(L, -1, LAG_MT);
  lua_pop(L, 1);
  if (lag) return lag;
  lag = (eh_lag *)lua_newuserdatauv(L, sizeof *lag, 0);
  memset(lag, 0, sizeof *lag);
  lag->hub = eh_gethub(L);
  ev_init(&lag->timer, sample_cb);
  lag->timer.data = lag;
  if (luaL_newmetatable(L, LAG_MT)) {
    lua_pushcfunction(L, lag_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lag_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, lag_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, LAG_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, LAG_KEY);
  return lag;
}

/* lag_monitor([seconds|false]) -> bool: sample loop lag every `seconds`
 * (default 0.5; restarting resets the figures), or stop with false.
 * Returns whether sampling is on.  [-0, +1, e] */
static int l_lag_monitor(lua_State *L) {
  eh_lag *lag = getlag(L);
  if (!lua_isnone(L, 1) && !lua_toboolean(L, 1)) {
    lag_stop(lag);
  } else {
    double interval = luaL_optnumber(L, 1, 0.5);
    luaL_argcheck(L, interval > 0, 1, "interval must be positive");
    if (!ev_is_active(&lag->timer) || interval != lag->interval) {
      lag_stop(lag);
      lag->interval = interval;
      lag->last = lag->max = lag->mean = lag->rate = 0;
      lag->samples = 0;
      lag->switches = lag->hub->switches;
      lag->at = ev_time();
      schedule(lag);
    }
  }
  lua_pushboolean(L, ev_is_active(&lag->timer));
  return 1;
}

/* lag_stats() -> {on, interval, samples, last, mean, max, switches_per_s}
 * (seconds; zeros before the first sample).  [-0, +1, m] */
static int l_lag_stats(lua_State *L) {
  eh_lag *lag = getlag(L);
  lua_createtable(L, 0, 7);
  lua_pushboolean(L, ev_is_active(&lag->timer));
  lua_setfield(L, -2, "on");
  lua_pushnumber(L, lag->interval);
  lua_setfield(L, -2, "interval");
  lua_pushinteger(L, (lua_Integer)lag->samples);
  lua_setfield(L, -2, "samples");
  lua_pushnumber(L, lag->last);
  lua_setfield(L, -2, "last");
  lua_pushnumber(L, lag->mean);
  lua_setfield(L, -2, "mean");
  lua_pushnumber(L, lag->max);
  lua_setfield(L, -2, "max");
  lua_pushnumber(L, lag->rate);
  lua_setfield(L, -2, "switches_per_s");
  return 1;
}

/* wait_counts() -> timers, fds: how many live threads have a park timer
 * armed (sleep, waits with a timeout, spawn_after) and how many are
 * parked on a descriptor.  [-0, +2, -] */
static int l_wait_counts(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  lua_Integer timers = 0, fds = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->live_ref);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    eh_thread *t = eh_tothread(L, -1);
    if (t && eh_park_timer_pending(t)) timers++;
    if (t && t->state == EH_PARKED && t->what_fd >= 0) fds++;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_pushinteger(L, timers);
  lua_pushinteger(L, fds);
  return 2;
}

const luaL_Reg eh_hubstats_funcs[] = {
  {"lag_monitor", l_lag_monitor}, {"lag_stats", l_lag_stats},
  {"wait_counts", l_wait_counts}, {NULL, NULL}};
