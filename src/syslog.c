/*
 * syslog.c -- the syslog sink of eventlet.logutil, and the pid every log
 * line carries.
 *
 * Without a socket path a sink goes through syslog(3), so messages reach
 * whatever the system runs (journald, rsyslog).  With a path it writes the
 * same RFC 3164 datagram syslog(3) writes to /dev/log -- "<pri>Mmm dd
 * hh:mm:ss ident[pid]: message" -- to that Unix datagram socket instead,
 * so a program (or a spec) can point its log at a collector of its own.
 * Sending never blocks the hub: a full collector drops the line and the
 * caller gets nil, err.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "syslog_sink.h"

#define SYSLOG_MT "eventlet.SyslogSink"
#define IDENT_MAX 64

typedef struct eh_syslog {
  int fd;            /* datagram socket, or -1 when using syslog(3) */
  int facility;      /* LOG_USER, LOG_DAEMON, LOG_LOCAL0... */
  int closed;
  char ident[IDENT_MAX];
  struct sockaddr_un addr;
} eh_syslog;

/* openlog(3) keeps the ident pointer: one static copy per process. */
static char openlog_ident[IDENT_MAX];
static int openlog_users;

static const struct { const char *name; int value; } facilities[] = {
  {"user", LOG_USER}, {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},
  {"authpriv", LOG_AUTHPRIV}, {"mail", LOG_MAIL}, {"cron", LOG_CRON},
  {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
  {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
  {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}, {NULL, 0}};

static const char *const priorities[] = {
  "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL};

/* Whether the sink sends to a socket of its own rather than syslog(3). */
static int uses_socket(const eh_syslog *s) {
  return s->addr.sun_family == AF_UNIX;
}

/* Return the open sink at idx or raise. */
static eh_syslog *check_sink(lua_State *L, int idx) {
  eh_syslog *s = (eh_syslog *)luaL_checkudata(L, idx, SYSLOG_MT);
  if (s->closed) luaL_error(L, "attempt to use a closed syslog sink");
  return s;
}

/* Connect the sink's datagram socket to its path; 0 or an errno. */
static int connect_socket(eh_syslog *s) {
  if (s->fd < 0) {
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0) return errno;
  }
  if (connect(s->fd, (struct sockaddr *)&s->addr, sizeof s->addr) < 0) {
    int e = errno;
    close(s->fd);
    s->fd = -1;
    return e;
  }
  return 0;
}

/* syslog_open(ident[, facility[, path]]) -> sink | nil, err: a syslog
 * sink; facility defaults to "user"; path names a Unix datagram socket to
 * send to instead of syslog(3).  [-0, +1|2, e] */
static int l_syslog_open(lua_State *L) {
  const char *ident = luaL_checkstring(L, 1);
  int facility;
  const char *path = luaL_optstring(L, 3, NULL);
  const char *names[sizeof facilities / sizeof facilities[0]];
  eh_syslog *s;
  int i, e;
  for (i = 0; facilities[i].name; i++) names[i] = facilities[i].name;
  names[i] = NULL;
  facility = facilities[luaL_checkoption(L, 2, "user", names)].value;
  if (path && strlen(path) >= sizeof s->addr.sun_path)
    return luaL_argerror(L, 3, "socket path too long");
  s = (eh_syslog *)lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->fd = -1;
  s->facility = facility;
  snprintf(s->ident, sizeof s->ident, "%s", ident);
  luaL_setmetatable(L, SYSLOG_MT);
  if (path == NULL) {
    if (openlog_users++ == 0) {
      snprintf(openlog_ident, sizeof openlog_ident, "%s", ident);
      openlog(openlog_ident, LOG_PID | LOG_NDELAY, facility);
    }
    return 1;
  }
  s->addr.sun_family = AF_UNIX;
  memcpy(s->addr.sun_path, path, strlen(path) + 1);
  if ((e = connect_socket(s)) != 0) {
    s->closed = 1;
    lua_pushnil(L);
    lua_pushstring(L, strerror(e));
    return 2;
  }
  return 1;
}

/* Send one RFC 3164 datagram; 0 or an errno (reconnects once when the
 * collector was restarted). */
static int send_datagram(eh_syslog *s, int priority, const char *msg) {
  char head[128], stamp[32];
  struct iovec iov[2];
  struct msghdr mh;
  time_t now = time(NULL);
  struct tm tm;
  int tries;
  strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", localtime_r(&now, &tm));
  iov[0].iov_base = head;
  iov[0].iov_len = (size_t)snprintf(head, sizeof head, "<%d>%s %s[%d]: ",
                                    s->facility | priority, stamp, s->ident,
                                    (int)getpid());
  iov[1].iov_base = (void *)msg;
  iov[1].iov_len = strlen(msg);
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = iov;
  mh.msg_iovlen = 2;
  for (tries = 0; tries < 2; tries++) {
    int e = s->fd < 0 ? connect_socket(s) : 0;
    if (e != 0) return e;
    if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) >= 0) return 0;
    if (errno != ECONNREFUSED && errno != ENOTCONN) return errno;
    close(s->fd);
    s->fd = -1;
  }
  return ECONNREFUSED;
}

/* sink:log(priority, message) -> true | nil, err: one message at a
 * syslog priority ("err", "warning", "info", "debug", ...).  [-0, +1|2, e] */
static int sink_log(lua_State *L) {
  eh_syslog *s = check_sink(L, 1);
  int priority = luaL_checkoption(L, 2, NULL, priorities);
  const char *msg = luaL_checkstring(L, 3);
  int e;
  if (!uses_socket(s)) {
    syslog(s->facility | priority, "%s", msg);
    lua_pushboolean(L, 1);
    return 1;
  }
  if ((e = send_datagram(s, priority, msg)) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, e == EAGAIN || e == EWOULDBLOCK ? "busy" : strerror(e));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* sink:close(): release the socket (or this sink's share of openlog).
 * Also __gc and __close.  [-0, +0, -] */
static int sink_close(lua_State *L) {
  eh_syslog *s = (eh_syslog *)luaL_checkudata(L, 1, SYSLOG_MT);
  if (s->closed) return 0;
  s->closed = 1;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (!uses_socket(s) && --openlog_users == 0) closelog();
  return 0;
}

/* __tostring: "SyslogSink (ident -> path|syslog(3))". */
static int sink_tostring(lua_State *L) {
  eh_syslog *s = (eh_syslog *)luaL_checkudata(L, 1, SYSLOG_MT);
  lua_pushfstring(L, "SyslogSink (%s -> %s%s)", s->ident,
                  uses_socket(s) ? s->addr.sun_path : "syslog(3)",
                  s->closed ? ", closed" : "");
  return 1;
}

/* getpid() -> the process id, which every log line carries.  [-0, +1, -] */
static int l_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static const luaL_Reg sink_meta[] = {
  {"__gc", sink_close}, {"__close", sink_close}, {"__tostring", sink_tostring},
  {"__index", NULL}, {NULL, NULL}};
static const luaL_Reg sink_methods[] = {
  {"log", sink_log}, {"close", sink_close}, {NULL, NULL}};

/* Create the SyslogSink metatable. */
void eh_open_syslog(lua_State *L) {
  if (luaL_newmetatable(L, SYSLOG_MT)) {
    luaL_setfuncs(L, sink_meta, 0);
    luaL_newlib(L, sink_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

const luaL_Reg eh_syslog_funcs[] = {
  {"syslog_open", l_syslog_open}, {"getpid", l_getpid}, {NULL, NULL}};
