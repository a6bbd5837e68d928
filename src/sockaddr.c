/*
 * sockaddr.c -- creating sockets and everything about addresses: bind,
 * listen, connect, accept, names, options, shutdown.
 *
 * Hosts here are numeric (IPv4, IPv6 with or without brackets, "*" for
 * any); names are resolved first, off the loop (resolve.c, eventlet.net).
 * connect and accept park through eh_sock_wait with the socket's timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "socket.h"
#include "tls.h"

/* Numeric host and port at idx, idx+1 (or a path for AF_UNIX) into ss.
 * Returns 0, or -1 with nil, err pushed. */
int eh_parseaddr(lua_State *L, int family, int idx, struct sockaddr_storage *ss,
                 unsigned *len) {
  const char *host = luaL_checkstring(L, idx);
  memset(ss, 0, sizeof *ss);
  if (family == AF_UNIX) {
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    size_t n = strlen(host);
    if (n >= sizeof un->sun_path) {
      lua_pushnil(L);
      lua_pushliteral(L, "unix socket path too long");
      return -1;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, host, n + 1);
    *len = (unsigned)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
  } else {
    lua_Integer port = luaL_checkinteger(L, idx + 1);
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(host);
    luaL_argcheck(L, port >= 0 && port <= 65535, idx + 1, "port out of range");
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
      memcpy(buf, host + 1, n - 2);
      buf[n - 2] = '\0';
      host = buf;
    }
    if (family != AF_INET6) {
      struct sockaddr_in *in = (struct sockaddr_in *)ss;
      in->sin_family = AF_INET;
      in->sin_port = htons((uint16_t)port);
      *len = sizeof *in;
      if (strcmp(host, "*") == 0 || inet_pton(AF_INET, host, &in->sin_addr) == 1)
        return 0;
    } else {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons((uint16_t)port);
      *len = sizeof *in6;
      if (strcmp(host, "*") == 0 || inet_pton(AF_INET6, host, &in6->sin6_addr) == 1)
        return 0;
    }
    lua_pushnil(L);
    lua_pushfstring(L, "not a numeric %s address: %s",
                    family == AF_INET6 ? "IPv6" : "IPv4", host);
    return -1;
  }
}

/* Write an IPv4 address in dotted quads at out (16 bytes of room);
 * returns its length.  inet_ntop goes through sprintf, which is most of
 * an accept's user time on a busy server. */
static size_t put_ipv4(char *out, const struct in_addr *a) {
  const unsigned char *b = (const unsigned char *)&a->s_addr;
  size_t n = 0;
  int i;
  for (i = 0; i < 4; i++) {
    if (i > 0) out[n++] = '.';
    n += eh_fmt_uint(out + n, b[i]);
  }
  return n;
}

/* Push host, port of an address (path, nil for Unix).  [-0, +2, m] */
int eh_pushaddr(lua_State *L, const struct sockaddr *sa, unsigned len) {
  char buf[INET6_ADDRSTRLEN];
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    lua_pushlstring(L, buf, put_ipv4(buf, &in->sin_addr));
    lua_pushinteger(L, ntohs(in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    lua_pushstring(L, inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf));
    lua_pushinteger(L, ntohs(in6->sin6_port));
  } else if (sa->sa_family == AF_UNIX &&
             len > offsetof(struct sockaddr_un, sun_path)) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    lua_pushstring(L, un->sun_path);
    lua_pushnil(L);
  } else {
    lua_pushliteral(L, "");
    lua_pushnil(L);
  }
  return 2;
}

/* Push "host:port" ("[v6]:port", "unix:path"), host and port (path,
 * nil for Unix) of an address.  [-0, +3, m] */
static void push_addrstring(lua_State *L, const struct sockaddr *sa, unsigned len) {
  char buf[INET6_ADDRSTRLEN + 10];
  size_t hl, n = 0;
  const char *host;
  eh_pushaddr(L, sa, len);                        /* host port */
  host = lua_tolstring(L, -2, &hl);
  if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
    int v6 = sa->sa_family == AF_INET6;
    if (v6) buf[n++] = '[';
    memcpy(buf + n, host, hl);
    n += hl;
    if (v6) buf[n++] = ']';
    buf[n++] = ':';
    n += eh_fmt_uint(buf + n, (unsigned long long)lua_tointeger(L, -1));
    lua_pushlstring(L, buf, n);
  } else {
    lua_pushfstring(L, "unix:%s", host);
  }
  lua_rotate(L, -3, 1);                           /* addr host port */
}

/* The Lua name of an address family. */
static const char *family_name(int family) {
  return family == AF_INET ? "inet" : family == AF_INET6 ? "inet6"
         : family == AF_UNIX ? "unix" : "unspec";
}

/* socket([family[, type]]) -> a new socket, or nil, err.  family "inet"
 * (default), "inet6", "unix"; type "stream" (default), "dgram".
 * [-0, +(1|2), m] */
static int l_socket(lua_State *L) {
  static const char *const fams[] = {"inet", "inet6", "unix", NULL};
  static const int famv[] = {AF_INET, AF_INET6, AF_UNIX};
  static const char *const types[] = {"stream", "dgram", NULL};
  int family = famv[luaL_checkoption(L, 1, "inet", fams)];
  int type = luaL_checkoption(L, 2, "stream", types);
  int fd = socket(family, (type ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
                  SOCK_CLOEXEC, 0);
  if (fd < 0) {
    lua_pushnil(L);
    lua_pushstring(L, eh_errno_string(errno));
    return 2;
  }
  eh_pushsocket(L, fd, type ? EH_SOCK_DGRAM : EH_SOCK_STREAM, family);
  return 1;
}

/* socketpair() -> two connected Unix stream sockets.  [-0, +2, m] */
static int l_socketpair(lua_State *L) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    lua_pushnil(L);
    lua_pushstring(L, eh_errno_string(errno));
    return 2;
  }
  eh_pushsocket(L, sv[0], EH_SOCK_STREAM, AF_UNIX)->flags |= EH_SOCK_CONNECTED;
  eh_pushsocket(L, sv[1], EH_SOCK_STREAM, AF_UNIX)->flags |= EH_SOCK_CONNECTED;
  return 2;
}

/* Push 1 for success, or nil, err from errno.  */
static int push_result(lua_State *L, int rc) {
  if (rc == 0) { lua_pushinteger(L, 1); return 1; }
  lua_pushnil(L);
  lua_pushstring(L, eh_errno_string(errno));
  return 2;
}

/* An open socket at 1, or raise "closed socket" for bind/listen misuse. */
static eh_sock *check_open(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  if (s->fd < 0) luaL_error(L, "socket: operation on a closed socket");
  return s;
}

/* sock:bind(host, port) or sock:bind(path) -> 1 | nil, err.
 * [-0, +(1|2), e] */
static int l_bind(lua_State *L) {
  eh_sock *s = check_open(L);
  struct sockaddr_storage ss;
  unsigned len;
  if (eh_parseaddr(L, s->family, 2, &ss, &len) != 0) return 2;
  return push_result(L, bind(s->fd, (struct sockaddr *)&ss, len));
}

/* sock:listen([backlog]) -> 1 | nil, err.  [-0, +(1|2), e] */
static int l_listen(lua_State *L) {
  eh_sock *s = check_open(L);
  int backlog = (int)luaL_optinteger(L, 2, 128);
  if (listen(s->fd, backlog) != 0) return push_result(L, -1);
  s->flags |= EH_SOCK_LISTENING;
  return push_result(L, 0);
}

/* After the connect's wait: the outcome is in SO_ERROR. */
static int connect_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = eh_checksocket(L, 1);
  int err = 0;
  socklen_t el = sizeof err;
  (void)status; (void)ctx;
  if (s->wstatus != EH_IO_OK) return eh_sock_pusherror(L, s, s->wstatus);
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
  if (err != 0) return eh_sock_pusherror(L, s, eh_sock_seterr(s, err));
  s->flags |= EH_SOCK_CONNECTED;
  lua_pushinteger(L, 1);
  return 1;
}

/* sock:connect(host, port) or sock:connect(path) -> 1 | nil, err; parks
 * with the socket's timeout while the connection is in progress.
 * [-0, +(1|2), e] */
static int l_connect(lua_State *L) {
  eh_sock *s = check_open(L);
  struct sockaddr_storage ss;
  unsigned len;
  int rc;
  if (eh_parseaddr(L, s->family, 2, &ss, &len) != 0) return 2;
  lua_settop(L, 1);
  do rc = connect(s->fd, (struct sockaddr *)&ss, len);
  while (rc < 0 && errno == EINTR);
  if (rc == 0) { s->flags |= EH_SOCK_CONNECTED; return push_result(L, 0); }
  if (errno != EINPROGRESS && errno != EAGAIN)
    return eh_sock_pusherror(L, s, eh_sock_seterr(s, errno));
  return eh_sock_wait(L, s, EV_WRITE, 0, connect_k);
}

/* Accept one pending connection, or wait for one.  */
static int accept_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = eh_checksocket(L, 1), *c;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int fd;
  (void)status;
  if (s->rstatus != EH_IO_OK) return eh_sock_pusherror(L, s, s->rstatus);
  do fd = accept4(s->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
  if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    if (s->timeout == 0) return eh_sock_pusherror(L, s, EH_IO_TIMEOUT);
    return eh_sock_wait(L, s, EV_READ, ctx, accept_k);
  }
  if (fd < 0) return eh_sock_pusherror(L, s, eh_sock_seterr(s, errno));
  c = eh_pushsocket(L, fd, EH_SOCK_STREAM, s->family);
  c->flags |= EH_SOCK_CONNECTED;
  if (s->flags & EH_SOCK_TLS_LISTENER) eh_tls_accepted(L, 1, lua_gettop(L));
  push_addrstring(L, (struct sockaddr *)&ss, (unsigned)sl);
  return 4;
}

/* sock:accept() -> conn, "host:port", host, port | nil, err; parks with
 * the socket's timeout.  Connections of a TLS listener handshake on first use, in the
 * thread that uses them.  [-0, +(2|4), e] */
static int l_accept(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  lua_settop(L, 1);
  s->rstatus = EH_IO_OK;
  return accept_k(L, LUA_OK, 0);
}

/* sock:getsockname() / getpeername() -> host, port, family | nil, err. */
static int names(lua_State *L, int peer) {
  eh_sock *s = eh_checksocket(L, 1);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int rc = peer ? getpeername(s->fd, (struct sockaddr *)&ss, &sl)
                : getsockname(s->fd, (struct sockaddr *)&ss, &sl);
  if (rc < 0) return push_result(L, rc);
  eh_pushaddr(L, (struct sockaddr *)&ss, (unsigned)sl);
  lua_pushstring(L, family_name(ss.ss_family));
  return 3;
}

/* [-0, +3, -] */
static int l_getsockname(lua_State *L) { return names(L, 0); }
/* [-0, +3, -] */
static int l_getpeername(lua_State *L) { return names(L, 1); }

/* The socket options by name: level, option, and whether it takes and
 * gives a count (bytes, seconds) rather than a flag. */
static const struct { const char *name; int level, opt, counted; } options[] = {
  {"tcp-nodelay", IPPROTO_TCP, TCP_NODELAY, 0},
  {"keepalive", SOL_SOCKET, SO_KEEPALIVE, 0},
  {"reuseaddr", SOL_SOCKET, SO_REUSEADDR, 0},
  {"reuseport", SOL_SOCKET, SO_REUSEPORT, 0},
  {"broadcast", SOL_SOCKET, SO_BROADCAST, 0},
  {"sndbuf", SOL_SOCKET, SO_SNDBUF, 1},
  {"rcvbuf", SOL_SOCKET, SO_RCVBUF, 1},
  {"ipv6-v6only", IPPROTO_IPV6, IPV6_V6ONLY, 0},
  {"linger", SOL_SOCKET, SO_LINGER, 0},
#ifdef TCP_DEFER_ACCEPT
  {"tcp-defer-accept", IPPROTO_TCP, TCP_DEFER_ACCEPT, 1},
#else
  {"tcp-defer-accept", -1, -1, 1},              /* Linux only: ENOPROTOOPT */
#endif
  {NULL, 0, 0, 0}};

/* A name this system does not have: nil, err as a failed call gives. */
static int unsupported(lua_State *L) {
  errno = ENOPROTOOPT;
  return push_result(L, -1);
}

/* Index of the option named at idx (raises on an unknown name). */
static int find_option(lua_State *L, int idx) {
  const char *name = luaL_checkstring(L, idx);
  int i;
  for (i = 0; options[i].name; i++)
    if (strcmp(options[i].name, name) == 0) return i;
  return luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s'", name));
}

/* The number at idx as a count for setsockopt: rounded up, within int. */
static int count_arg(lua_State *L, int idx) {
  double d = ceil(lua_tonumber(L, idx));
  return d >= INT_MAX ? INT_MAX : d <= INT_MIN ? INT_MIN : (int)d;
}

/* sock:setoption(name, value) -> 1 | nil, err.  Booleans for flags,
 * numbers (rounded up) for buffer sizes and tcp-defer-accept's seconds,
 * {on=, timeout=} or seconds (false: off) for linger.  [-0, +(1|2), e] */
static int l_setoption(lua_State *L) {
  eh_sock *s = check_open(L);
  int i = find_option(L, 2);
  if (options[i].level < 0) return unsupported(L);
  if (options[i].opt == SO_LINGER && options[i].level == SOL_SOCKET) {
    struct linger lg = {0, 0};
    if (lua_istable(L, 3)) {
      lua_getfield(L, 3, "on");
      lua_getfield(L, 3, "timeout");
      lg.l_onoff = lua_toboolean(L, -2);
      lg.l_linger = (int)lua_tointeger(L, -1);
    } else if (lua_isnumber(L, 3)) {
      lg.l_onoff = 1;
      lg.l_linger = (int)lua_tointeger(L, 3);
    }
    return push_result(L, setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  } else {
    int v = lua_isnumber(L, 3) ? count_arg(L, 3) : lua_toboolean(L, 3);
    return push_result(L, setsockopt(s->fd, options[i].level, options[i].opt, &v, sizeof v));
  }
}

/* sock:getoption(name) -> value | nil, err.  [-0, +(1|2), e] */
static int l_getoption(lua_State *L) {
  eh_sock *s = check_open(L);
  int i = find_option(L, 2);
  int v = 0;
  socklen_t vl = sizeof v;
  if (options[i].level < 0) return unsupported(L);
  if (options[i].opt == SO_LINGER && options[i].level == SOL_SOCKET) {
    struct linger lg;
    socklen_t ll = sizeof lg;
    if (getsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, &ll) < 0) return push_result(L, -1);
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, lg.l_onoff);
    lua_setfield(L, -2, "on");
    lua_pushinteger(L, lg.l_linger);
    lua_setfield(L, -2, "timeout");
    return 1;
  }
  if (getsockopt(s->fd, options[i].level, options[i].opt, &v, &vl) < 0)
    return push_result(L, -1);
  if (options[i].counted) lua_pushinteger(L, v);
  else lua_pushboolean(L, v != 0);
  return 1;
}

/* sock:shutdown([how]) -> 1 | nil, err; how "both" (default), "send",
 * "receive".  A TLS socket sends close_notify first.  [-0, +(1|2), e] */
static int l_shutdown(lua_State *L) {
  static const char *const hows[] = {"receive", "send", "both", NULL};
  static const int howv[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  eh_sock *s = check_open(L);
  int how = howv[luaL_checkoption(L, 2, "both", hows)];
  if (how != SHUT_RD && s->tls && !(s->flags & EH_SOCK_TLS_LISTENER))
    eh_tls_notify_close(s);
  if (how != SHUT_WR) s->flags |= EH_SOCK_SHUT_RD;
  if (how != SHUT_RD) s->flags |= EH_SOCK_SHUT_WR;
  return push_result(L, shutdown(s->fd, how));
}

/* sock:family() -> "inet" | "inet6" | "unix" | "unspec".  [-0, +1, -] */
static int l_family(lua_State *L) {
  lua_pushstring(L, family_name(eh_checksocket(L, 1)->family));
  return 1;
}

const luaL_Reg eh_sockaddr_methods[] = {
  {"bind", l_bind}, {"listen", l_listen}, {"connect", l_connect},
  {"accept", l_accept}, {"getsockname", l_getsockname},
  {"getpeername", l_getpeername}, {"setoption", l_setoption},
  {"getoption", l_getoption}, {"shutdown", l_shutdown},
  {"family", l_family}, {NULL, NULL}};

const luaL_Reg eh_sockaddr_funcs[] = {
  {"socket", l_socket}, {"socketpair", l_socketpair}, {NULL, NULL}};
