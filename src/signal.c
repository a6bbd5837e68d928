/*
 * signal.c -- signals: SIGPIPE ignored, SIGINT/SIGTERM start a graceful
 * exit, and eventlet.signal(signum, fn) runs user handlers in green threads.
 *
 * libev turns a signal into an ordinary event of the loop, so a handler
 * runs as Lua code in its own green thread (it may block) instead of
 * inside an async-signal context.  Signal watchers do not keep the
 * program alive on their own.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

#define SIGNAL_MT "eventlet.SignalHandler"
#define EXIT_HANDLER_KEY "eventlet.on_signal_exit"

typedef struct eh_signal {
  ev_signal w;
  eh_hub *hub;
  int ref;     /* registry ref of the handler userdata while armed */
} eh_signal;

static ev_signal exit_watchers[2];
static int exiting;
static int armed_handlers;  /* user handlers armed (use_hub cannot move) */

static const struct { const char *name; int num; } signames[] = {
  {"SIGHUP", SIGHUP}, {"SIGINT", SIGINT}, {"SIGQUIT", SIGQUIT},
  {"SIGTERM", SIGTERM}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
  {"SIGCHLD", SIGCHLD}, {"SIGWINCH", SIGWINCH}, {"SIGALRM", SIGALRM},
  {"SIGPIPE", SIGPIPE}, {"SIGKILL", SIGKILL}, {NULL, 0}};

/* Accept a signal number or a name like "SIGHUP" or "HUP". */
static int check_signum(lua_State *L, int idx) {
  int i;
  if (lua_type(L, idx) == LUA_TNUMBER) return (int)luaL_checkinteger(L, idx);
  {
    const char *name = luaL_checkstring(L, idx);
    for (i = 0; signames[i].name; i++)
      if (strcmp(name, signames[i].name) == 0 ||
          strcmp(name, signames[i].name + 3) == 0)
        return signames[i].num;
    return luaL_argerror(L, idx, lua_pushfstring(L, "unknown signal '%s'", name));
  }
}

/* Kill the process with sig the conventional way (default action). */
static void die_by(int sig) {
  signal(sig, SIG_DFL);
  raise(sig);
  _exit(128 + sig);
}

/* SIGINT/SIGTERM: the first one starts the graceful exit (the Lua
 * facade's hooks, then death by that signal); a second one is final. */
static void exit_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  eh_hub *h = (eh_hub *)w->data;
  lua_State *L = h->loop_L;
  (void)loop; (void)revents;
  if (exiting++) die_by(w->signum);
  lua_getfield(L, LUA_REGISTRYINDEX, EXIT_HANDLER_KEY);
  if (!lua_isfunction(L, -1)) { lua_pop(L, 1); die_by(w->signum); }
  lua_pushinteger(L, w->signum);
  eh_spawn(L, h, 1);
  eh_enqueue(h, eh_tothread(L, -1));
  lua_pop(L, 1);
}

/* A user signal arrived: run its handler in a new green thread. */
static void user_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  eh_signal *s = (eh_signal *)w;
  lua_State *L = s->hub->loop_L;
  (void)loop; (void)revents;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref);
  lua_getiuservalue(L, -1, 1);
  lua_remove(L, -2);
  lua_pushinteger(L, w->signum);
  eh_spawn(L, s->hub, 1);
  eh_enqueue(s->hub, eh_tothread(L, -1));
  lua_pop(L, 1);
}

/* Stop a handler's watcher and drop its anchor. */
static void stop_handler(lua_State *L, eh_signal *s) {
  if (!ev_is_active(&s->w)) return;
  ev_ref(s->hub->loop);
  ev_signal_stop(s->hub->loop, &s->w);
  armed_handlers--;
  luaL_unref(L, LUA_REGISTRYINDEX, s->ref);
  s->ref = LUA_NOREF;
}

/* signal(signum, fn) -> handler: call fn(signum) in a new green thread on
 * each delivery until handler:cancel().  SIGINT/SIGTERM handlers replace
 * the graceful exit while they are armed.  [-0, +1, e] */
static int l_signal(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  int sig = check_signum(L, 1);
  eh_signal *s;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (sig == SIGKILL || sig == SIGSTOP)
    return luaL_argerror(L, 1, "SIGKILL and SIGSTOP cannot be caught");
  s = (eh_signal *)lua_newuserdatauv(L, sizeof *s, 1);
  s->hub = h;
  s->ref = LUA_NOREF;
  ev_signal_init(&s->w, user_cb, sig);
  luaL_setmetatable(L, SIGNAL_MT);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  if (sig == SIGINT || sig == SIGTERM) {
    ev_signal *ew = &exit_watchers[sig == SIGINT ? 0 : 1];
    if (ev_is_active(ew)) { ev_ref(h->loop); ev_signal_stop(h->loop, ew); }
  }
  ev_signal_start(h->loop, &s->w);
  ev_unref(h->loop);
  armed_handlers++;
  lua_pushvalue(L, -1);
  s->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

/* handler:cancel(): stop delivering; SIGINT/SIGTERM exit again. */
static int sig_cancel(lua_State *L) {
  eh_signal *s = (eh_signal *)luaL_checkudata(L, 1, SIGNAL_MT);
  int sig = s->w.signum;
  stop_handler(L, s);
  if (sig == SIGINT || sig == SIGTERM) {
    ev_signal *ew = &exit_watchers[sig == SIGINT ? 0 : 1];
    if (!ev_is_active(ew)) { ev_signal_start(s->hub->loop, ew); ev_unref(s->hub->loop); }
  }
  return 0;
}

/* __tostring: "SignalHandler (SIGHUP)". */
static int sig_tostring(lua_State *L) {
  eh_signal *s = (eh_signal *)luaL_checkudata(L, 1, SIGNAL_MT);
  int i;
  for (i = 0; signames[i].name; i++)
    if (signames[i].num == s->w.signum) break;
  if (signames[i].name) lua_pushfstring(L, "SignalHandler (%s)", signames[i].name);
  else lua_pushfstring(L, "SignalHandler (%d)", s->w.signum);
  return 1;
}

/* __gc: a handler that is collected was cancelled (it is anchored while
 * armed) or the state is closing. */
static int sig_gc(lua_State *L) {
  eh_signal *s = (eh_signal *)luaL_checkudata(L, 1, SIGNAL_MT);
  if (ev_is_active(&s->w)) {
    ev_ref(s->hub->loop);
    ev_signal_stop(s->hub->loop, &s->w);
    armed_handlers--;
  }
  return 0;
}

/* signum(name) -> number of a signal name. */
static int l_signum(lua_State *L) {
  lua_pushinteger(L, check_signum(L, 1));
  return 1;
}

/* set_exit_handler(fn): fn(signum) runs in a green thread on the first
 * SIGINT/SIGTERM; it is expected to run exit hooks and end the process. */
static int l_set_exit_handler(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, EXIT_HANDLER_KEY);
  return 0;
}

/* die(signum): end the process by that signal, as its default would. */
static int l_die(lua_State *L) {
  die_by(check_signum(L, 1));
  return 0;
}

static const luaL_Reg sig_meta[] = {
  {"__gc", sig_gc}, {"__close", sig_cancel}, {"__tostring", sig_tostring},
  {"__index", NULL}, {NULL, NULL}};
static const luaL_Reg sig_methods[] = {{"cancel", sig_cancel}, {NULL, NULL}};

/* use_hub() replaces the loop: move the exit watchers to the new one;
 * refuse while user handlers are armed (see eh_loop_hook in hub.h). */
static int move_exit_watchers(eh_hub *h, int phase) {
  int i;
  if (phase == EH_LOOP_CHECK) return armed_handlers > 0;
  for (i = 0; i < 2; i++) {
    ev_signal *ew = &exit_watchers[i];
    if (phase == EH_LOOP_STOP && ev_is_active(ew)) {
      ev_ref(h->loop);
      ev_signal_stop(h->loop, ew);
    } else if (phase == EH_LOOP_START && !ev_is_active(ew)) {
      ev_signal_start(h->loop, ew);
      ev_unref(h->loop);
    }
  }
  return 0;
}

/* Install the process-wide signal policy of the hub. */
void eh_open_signal(lua_State *L, eh_hub *h) {
  static const int sigs[2] = {SIGINT, SIGTERM};
  int i;
  if (luaL_newmetatable(L, SIGNAL_MT)) {
    luaL_setfuncs(L, sig_meta, 0);
    luaL_newlib(L, sig_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  signal(SIGPIPE, SIG_IGN);
  eh_add_loop_hook(move_exit_watchers);
  for (i = 0; i < 2; i++) {
    if (ev_is_active(&exit_watchers[i])) continue;
    ev_signal_init(&exit_watchers[i], exit_cb, sigs[i]);
    exit_watchers[i].data = h;
    ev_signal_start(h->loop, &exit_watchers[i]);
    ev_unref(h->loop);
  }
}

const luaL_Reg eh_signal_funcs[] = {
  {"signal", l_signal}, {"signum", l_signum},
  {"set_exit_handler", l_set_exit_handler}, {"die", l_die},
  {NULL, NULL}};
