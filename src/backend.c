/*
 * backend.c -- which of libev's backends the hub polls with.
 *
 * EVENTLET_HUB=epoll|poll|select|kqueue picks it when the hub is created;
 * use_hub(name) replaces the loop afterwards, as long as nothing has been
 * armed on it yet (see eh_switch_backend in hub.c); backend() tells which
 * one runs.  The seed had select, poll and kqueue hubs; here each is one
 * of libev's backends under the same loop code.
 */
#include <string.h>

#include "hub.h"
#include "backend.h"

/* The backends one may choose.  libev's linuxaio and iouring are left out
 * on purpose: libev does not recommend them, and 4.33's io_uring backend
 * aborts under the spec suite (ev_iouring.c: "io_uring_enter did not
 * consume all sqes").  Names only report them if libev picked one itself. */
static const struct { const char *name; unsigned flag; int choosable; } backends[] = {
  {"epoll", EVBACKEND_EPOLL, 1}, {"poll", EVBACKEND_POLL, 1},
  {"select", EVBACKEND_SELECT, 1}, {"kqueue", EVBACKEND_KQUEUE, 1},
  {"linuxaio", EVBACKEND_LINUXAIO, 0}, {"iouring", EVBACKEND_IOURING, 0},
  {NULL, 0, 0}};

/* The libev flag of a backend name; raises for unknown or missing ones. */
unsigned eh_backend_flag(lua_State *L, const char *name, const char *source) {
  int i;
  if (name == NULL || *name == '\0' || strcmp(name, "default") == 0)
    return EVFLAG_AUTO;
  for (i = 0; backends[i].name; i++)
    if (backends[i].choosable && strcmp(name, backends[i].name) == 0) {
      if (!(ev_supported_backends() & backends[i].flag))
        luaL_error(L, "%s=%s: backend not available here", source, name);
      return backends[i].flag;
    }
  return (unsigned)luaL_error(L, "%s=%s: unknown backend "
                              "(epoll, poll, select, kqueue)", source, name);
}

/* The name of a libev backend flag ("unknown" for none of ours). */
const char *eh_backend_name(unsigned backend) {
  int i;
  for (i = 0; backends[i].name; i++)
    if (backends[i].flag == backend) return backends[i].name;
  return "unknown";
}

/* backend() -> the name of the backend the hub runs on ("epoll", ...).
 * [-0, +1, -] */
static int l_backend(lua_State *L) {
  lua_pushstring(L, eh_backend_name(ev_backend(eh_gethub(L)->loop)));
  return 1;
}

/* backends() -> array of the backend names one may choose here (libev
 * supports them), the ones libev recommends first.  [-0, +1, m] */
static int l_backends(lua_State *L) {
  unsigned supported = ev_supported_backends();
  unsigned recommended = ev_recommended_backends();
  int i, n = 0, pass;
  lua_newtable(L);
  for (pass = 0; pass < 2; pass++)
    for (i = 0; backends[i].name; i++) {
      unsigned f = backends[i].flag;
      if (!backends[i].choosable || !(supported & f) ||
          !!(recommended & f) != (pass == 0)) continue;
      lua_pushstring(L, backends[i].name);
      lua_rawseti(L, -2, ++n);
    }
  return 1;
}

/* use_hub(name) -> name: run the hub on that backend from now on.  A no-op
 * when it already does; otherwise only before the first blocking call
 * (raises "use_hub: ..." once threads wait or watchers are armed).
 * [-0, +1, e] */
static int l_use_hub(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  const char *name = luaL_checkstring(L, 1);
  unsigned flag = eh_backend_flag(L, name, "use_hub");
  if (flag != EVFLAG_AUTO && ev_backend(h->loop) == flag) {
    lua_settop(L, 1);
    return 1;
  }
  eh_switch_backend(L, h, flag);
  lua_pushstring(L, eh_backend_name(ev_backend(h->loop)));
  return 1;
}

const luaL_Reg eh_backend_funcs[] = {
  {"backend", l_backend}, {"backends", l_backends}, {"use_hub", l_use_hub},
  {NULL, NULL}};
