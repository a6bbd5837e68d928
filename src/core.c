/*
 * core.c -- luaopen_eventlet_core: the module `eventlet.core`, assembled
 * from the hub, green threads, timeouts, signals, fd waits and the
 * coroutine wrappers.  Opening it twice in one state (busted insulates
 * spec files) returns the same hub.
 */
#include "hub.h"
#include "socket.h"
#include "tls.h"
#include "workers.h"
#include "http.h"
#include "gzip.h"
#include "watchdog.h"
#include "hubstats.h"
#include "umask.h"
#include "preempt.h"
#include "process.h"
#include "tpool.h"
#include "backend.h"
#include "syslog_sink.h"
#include "trace.h"

#define EVENTLET_VERSION "0.1.0"

/* run(): drive the hub until nothing is runnable or armed.  For callers
 * outside any green thread (plain lua5.4 scripts, the host).  [-0, +0, e] */
static int l_run(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  if (h->current != h->main)
    return luaL_error(L, "run: called from a green thread (it already runs)");
  eh_run(L, h, NULL);
  return 0;
}

/* now() -> the loop's cached time; time() -> the current wall time. */
static int l_now(lua_State *L) {
  lua_pushnumber(L, ev_now(eh_gethub(L)->loop));
  return 1;
}

static int l_time(lua_State *L) {
  lua_pushnumber(L, ev_time());
  return 1;
}

/* print_errors([bool]) -> bool: whether errors that end a green thread are
 * printed to stderr (default true); sets it when given. */
static int l_print_errors(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  if (!lua_isnone(L, 1)) h->print_errors = lua_toboolean(L, 1);
  lua_pushboolean(L, h->print_errors);
  return 1;
}

/* on_error(fn|nil): fn(gt, err, traceback) reports errors that end green
 * threads instead of stderr (logutil routes them). */
static int l_on_error(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_unref(L, LUA_REGISTRYINDEX, h->onerror_ref);
  h->onerror_ref = LUA_NOREF;
  if (!lua_isnoneornil(L, 1)) {
    lua_settop(L, 1);
    h->onerror_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return 0;
}

static const luaL_Reg core_funcs[] = {
  {"run", l_run}, {"now", l_now}, {"time", l_time},
  {"print_errors", l_print_errors}, {"on_error", l_on_error},
  {NULL, NULL}};

/* Replace coroutine.resume/wrap with the hub-aware versions, keeping the
 * originals as core.coroutine_raw. */
static void wrap_coroutines(lua_State *L) {
  lua_getglobal(L, "coroutine");
  if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
  lua_createtable(L, 0, 2);
  lua_getfield(L, -2, "resume");
  lua_setfield(L, -2, "resume");
  lua_getfield(L, -2, "wrap");
  lua_setfield(L, -2, "wrap");
  lua_setfield(L, -3, "coroutine_raw");
  luaL_setfuncs(L, eh_coroutine_funcs, 0);
  lua_pop(L, 1);
}

/* The parts of the core: an opener for metatables (may be NULL) and the
 * functions each adds to the module.  New C files add one line here. */
static const struct {
  void (*open)(lua_State *L);
  const luaL_Reg *funcs;
} core_parts[] = {
  {NULL, core_funcs},
  {NULL, eh_thread_funcs},
  {eh_open_waitq, eh_waitq_funcs},
  {eh_open_queue, eh_queue_funcs},
  {NULL, eh_timeout_funcs},
  {NULL, eh_introspect_funcs},
  {NULL, eh_signal_funcs},
  {NULL, eh_io_funcs},
  {eh_open_gzip, eh_gzip_funcs},
  {NULL, eh_backend_funcs},
  {eh_open_syslog, eh_syslog_funcs},
  {NULL, eh_trace_funcs},
  {eh_open_process, eh_process_funcs},
  {eh_open_tpool, eh_tpool_funcs},
  {eh_open_http, eh_http_funcs},
  {NULL, eh_http_write_funcs},
  {NULL, eh_http_log_funcs},
  {NULL, eh_http_sock_funcs},
  {eh_open_socket, eh_socket_funcs},
  {eh_open_serveq, eh_serveq_funcs},
  {NULL, eh_sockaddr_funcs},
  {eh_open_tls, eh_tls_funcs},
  {NULL, eh_tlsctx_funcs},
  {NULL, eh_resolve_funcs},
  {NULL, eh_workers_funcs},
  {NULL, eh_watchdog_funcs},
  {NULL, eh_hubstats_funcs},
  {NULL, eh_umask_funcs},
  {NULL, eh_preempt_funcs},
  /* more parts */
  {NULL, NULL}};

/* luaopen_eventlet_core -> the core module table.  [-0, +1, e] */
int luaopen_eventlet_core(lua_State *L) {
  eh_hub *h;
  int i;
  eh_open_thread(L);
  eh_open_timeout(L);
  h = eh_openhub(L);
  eh_open_signal(L, h);
  for (i = 0; core_parts[i].funcs; i++)
    if (core_parts[i].open) core_parts[i].open(L);
  lua_newtable(L);
  for (i = 0; core_parts[i].funcs; i++)
    luaL_setfuncs(L, core_parts[i].funcs, 0);
  lua_newtable(L);
  luaL_setfuncs(L, eh_coroutine_funcs, 0);
  lua_setfield(L, -2, "coroutine");
  lua_pushliteral(L, EVENTLET_VERSION);
  lua_setfield(L, -2, "version");
  lua_getfield(L, LUA_REGISTRYINDEX, "eventlet.GreenletExit");
  lua_setfield(L, -2, "GreenletExit");
  wrap_coroutines(L);
  return 1;
}
