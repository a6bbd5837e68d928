/*
 * io.c -- trampoline(fd, mode[, timeout]): park until a raw descriptor is
 * readable or writable.  For C modules and pipes that manage their own
 * fds; wrapped sockets have watchers of their own (socket.c).
 */
#include <string.h>

#include "hub.h"

typedef struct eh_fdwait {
  ev_io io;
  eh_thread *thread;
  int revents;
} eh_fdwait;

/* The fd became ready: wake the parked thread. */
static void fdwait_cb(struct ev_loop *loop, ev_io *w, int revents) {
  eh_fdwait *fw = (eh_fdwait *)w;
  (void)loop;
  fw->revents = revents;
  eh_wake_polled(fw->thread);
}

/* Continuation: stop the watcher, then report readiness or the timeout.
 * The wait record is at index 1. */
static int trampoline_k(lua_State *L, int status, lua_KContext ctx) {
  eh_fdwait *fw = (eh_fdwait *)lua_touserdata(L, 1);
  eh_hub *h = eh_gethub(L);
  (void)status; (void)ctx;
  ev_io_stop(h->loop, &fw->io);
  if (eh_park_check(L) == EH_WAKE_TIMEOUT) {
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  lua_pushstring(L, (fw->revents & EV_READ) && (fw->revents & EV_WRITE) ? "rw"
                 : (fw->revents & EV_READ) ? "r" : "w");
  return 1;
}

/* trampoline(fd, "r"|"w"|"rw"[, timeout]) -> "r"|"w"|"rw", or nil,
 * "timeout".  [-0, +(1|2), e] */
static int l_trampoline(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  int fd = (int)luaL_checkinteger(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  double timeout = luaL_optnumber(L, 3, -1.);
  int events = (strchr(mode, 'r') ? EV_READ : 0) | (strchr(mode, 'w') ? EV_WRITE : 0);
  eh_fdwait *fw;
  luaL_argcheck(L, fd >= 0, 1, "invalid file descriptor");
  luaL_argcheck(L, events != 0, 2, "mode must be \"r\", \"w\" or \"rw\"");
  lua_settop(L, 0);
  if (eh_pending_cancel(L, h->current)) {
    lua_pop(L, 1);
    return eh_raise_cancel(L, h->current);
  }
  fw = (eh_fdwait *)lua_newuserdatauv(L, sizeof *fw, 0);
  fw->thread = h->current;
  fw->revents = 0;
  ev_io_init(&fw->io, fdwait_cb, fd, events);
  ev_io_start(h->loop, &fw->io);
  return eh_park(L, timeout < 0 ? -1. : timeout, events & EV_READ ? "read" : "write",
                 fd, 0, trampoline_k);
}

const luaL_Reg eh_io_funcs[] = {{"trampoline", l_trampoline}, {NULL, NULL}};
