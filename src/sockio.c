/*
 * sockio.c -- the luasocket-shaped I/O methods: receive, recv, send and
 * the datagram calls sendto/receivefrom.
 *
 * Stream reads are served from the socket's C buffer (socket.c): a method
 * loops on eh_sock_read_some while bytes keep coming and parks through
 * eh_sock_fill only when the fd is dry, so a fast peer costs no yields.
 * Every method keeps the socket at stack index 1.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "socket.h"

#define PAT_LINE ((lua_KContext)-1)
#define PAT_ALL ((lua_KContext)-2)
#define DGRAM_MAX 65536

static int receive_k(lua_State *L, int status, lua_KContext pat);

/* Push buf[0..n) with the prefix at index 3 in front, if any. */
static void push_with_prefix(lua_State *L, const char *buf, size_t n) {
  if (lua_type(L, 3) == LUA_TSTRING) {
    lua_pushvalue(L, 3);
    lua_pushlstring(L, buf, n);
    lua_concat(L, 2);
  } else {
    lua_pushlstring(L, buf, n);
  }
}

/* A receive ended early: nil, err, partial (what was buffered, consumed),
 * as luasocket does.  "*a" at end of stream is a success. */
static int receive_fail(lua_State *L, eh_sock *s, lua_KContext pat, int st) {
  size_t n;
  const char *p = eh_sock_data(s, &n);
  if (pat == PAT_ALL && st == EH_IO_EOF) {
    push_with_prefix(L, p, n);
    eh_sock_consume(s, n);
    return 1;
  }
  eh_sock_pusherror(L, s, st);
  push_with_prefix(L, p, n);
  eh_sock_consume(s, n);
  return 3;
}

/* Return the pattern's result if the buffer holds it (1), else 0. */
static int receive_ready(lua_State *L, eh_sock *s, lua_KContext pat) {
  size_t n;
  const char *p = eh_sock_data(s, &n);
  if (pat == PAT_LINE) {
    const char *nl = (const char *)memchr(p, '\n', n);
    size_t len;
    if (nl == NULL) return 0;
    len = (size_t)(nl - p);
    push_with_prefix(L, p, len > 0 && p[len - 1] == '\r' ? len - 1 : len);
    eh_sock_consume(s, len + 1);
    return 1;
  }
  if (pat >= 0 && n >= (size_t)pat) {
    push_with_prefix(L, p, (size_t)pat);
    eh_sock_consume(s, (size_t)pat);
    return 1;
  }
  return 0;
}

/* Read until the pattern is satisfied, parking when the fd is dry. */
static int receive_step(lua_State *L, eh_sock *s, lua_KContext pat) {
  for (;;) {
    int st;
    if (receive_ready(L, s, pat)) return 1;
    st = eh_sock_read_some(s);
    if (st == EH_IO_OK) continue;
    if (st == EH_IO_AGAIN) return eh_sock_fill(L, s, pat, receive_k);
    return receive_fail(L, s, pat, st);
  }
}

/* Continuation of receive after a fill.  */
static int receive_k(lua_State *L, int status, lua_KContext pat) {
  eh_sock *s = eh_checksocket(L, 1);
  (void)status;
  if (s->rstatus != EH_IO_OK) return receive_fail(L, s, pat, s->rstatus);
  return receive_step(L, s, pat);
}

/* One datagram into a Lua string; `from` adds host, port.  */
static int dgram_k(lua_State *L, int status, lua_KContext from) {
  eh_sock *s = eh_checksocket(L, 1);
  size_t size = (size_t)luaL_optinteger(L, 2, DGRAM_MAX);
  char buf[DGRAM_MAX];
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  ssize_t n;
  (void)status;
  if (s->rstatus != EH_IO_OK) return eh_sock_pusherror(L, s, s->rstatus);
  if (size > DGRAM_MAX) size = DGRAM_MAX;
  do n = recvfrom(s->fd, buf, size, 0, (struct sockaddr *)&ss, &sl);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return eh_sock_wait(L, s, EV_READ, from, dgram_k);
  if (n < 0) return eh_sock_pusherror(L, s, eh_sock_seterr(s, errno));
  lua_pushlstring(L, buf, (size_t)n);
  if (!from) return 1;
  return 1 + eh_pushaddr(L, (struct sockaddr *)&ss, sl);
}

/* sock:receive([pattern[, prefix]]) -> data | nil, err, partial.
 * pattern: "*l" (default; a line without its end), "*a" (to end of
 * stream), or a byte count.  Datagram sockets: one datagram.
 * [-0, +(1|3), e] */
static int l_receive(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  lua_KContext pat = PAT_LINE;
  if (s->kind == EH_SOCK_DGRAM) {
    lua_settop(L, 2);
    s->rstatus = EH_IO_OK;
    return dgram_k(L, LUA_OK, 0);
  }
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0, 2, "negative byte count");
    pat = (lua_KContext)n;
  } else if (!lua_isnoneornil(L, 2)) {
    const char *p = luaL_checkstring(L, 2);
    if (*p == '*') p++;
    if (*p == 'a') pat = PAT_ALL;
    else if (*p != 'l') return luaL_argerror(L, 2, "invalid receive pattern");
  }
  if (!lua_isnoneornil(L, 3)) luaL_checkstring(L, 3);
  lua_settop(L, 3);
  return receive_step(L, s, pat);
}

/* sock:receivefrom([size]) -> data, host, port (datagram sockets).
 * [-0, +(3|2), e] */
static int l_receivefrom(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  lua_settop(L, 2);
  s->rstatus = EH_IO_OK;
  return dgram_k(L, LUA_OK, 1);
}

/* Return up to n buffered bytes (index 2), or the read's failure. */
static int recv_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = eh_checksocket(L, 1);
  size_t want = (size_t)ctx, n;
  const char *p;
  (void)status;
  if (s->len == 0) {
    int st = s->rstatus == EH_IO_OK ? EH_IO_EOF : s->rstatus;
    return eh_sock_pusherror(L, s, st);
  }
  p = eh_sock_data(s, &n);
  if (n > want) n = want;
  lua_pushlstring(L, p, n);
  eh_sock_consume(s, n);
  return 1;
}

/* sock:recv([n]) -> up to n bytes (default 65536), whatever is there
 * first; nil, "closed" at end of stream.  [-0, +(1|2), e] */
static int l_recv(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  lua_Integer n = luaL_optinteger(L, 2, 65536);
  luaL_argcheck(L, n > 0, 2, "byte count must be positive");
  if (s->kind == EH_SOCK_DGRAM) return l_receive(L);
  lua_settop(L, 1);
  if (s->len == 0) {
    if ((size_t)n > EH_SOCK_BUFSIZE && (size_t)n > s->cap)   /* bulk: fewer, bigger reads */
      eh_sock_reserve(s, (size_t)n < EH_SOCK_BIGREAD ? (size_t)n : EH_SOCK_BIGREAD);
    int st = eh_sock_read_some(s);
    if (st == EH_IO_AGAIN) return eh_sock_fill(L, s, (lua_KContext)n, recv_k);
    s->rstatus = st;
  }
  return recv_k(L, LUA_OK, (lua_KContext)n);
}

/* Result of send: the index of the last byte sent, or nil, err, last. */
static int send_k(lua_State *L, int status, lua_KContext first) {
  eh_sock *s = eh_checksocket(L, 1);
  lua_Integer last = (lua_Integer)first - 1 + (lua_Integer)s->wsent;
  (void)status;
  if (s->wstatus == EH_IO_OK) {
    lua_pushinteger(L, last);
    return 1;
  }
  eh_sock_pusherror(L, s, s->wstatus);
  lua_pushinteger(L, last);
  return 3;
}

/* sock:send(data[, i[, j]]) -> index of the last byte sent (all of
 * them), or nil, err, last byte sent.  [-0, +(1|3), e] */
static int l_send(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  lua_Integer i = luaL_optinteger(L, 3, 1), j = luaL_optinteger(L, 4, -1);
  struct iovec iov;
  if (i < 0) i = (lua_Integer)len + i + 1;
  if (i < 1) i = 1;
  if (j < 0) j = (lua_Integer)len + j + 1;
  if (j > (lua_Integer)len) j = (lua_Integer)len;
  lua_settop(L, 2);
  iov.iov_base = (void *)(data + i - 1);
  iov.iov_len = j >= i ? (size_t)(j - i + 1) : 0;
  return eh_sock_writev(L, s, &iov, 1, (lua_KContext)i, send_k);
}

/* Send one datagram to the address at 3, 4; retried when writable. */
static int sendto_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = eh_checksocket(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  struct sockaddr_storage ss;
  unsigned sl;
  ssize_t n;
  (void)status;
  if (s->wstatus != EH_IO_OK) return eh_sock_pusherror(L, s, s->wstatus);
  if (eh_parseaddr(L, s->family, 3, &ss, &sl) != 0) return 2;
  do n = sendto(s->fd, data, len, 0, (struct sockaddr *)&ss, sl);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return eh_sock_wait(L, s, EV_WRITE, ctx, sendto_k);
  if (n < 0) return eh_sock_pusherror(L, s, eh_sock_seterr(s, errno));
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* sock:sendto(data, host, port) -> bytes sent, or nil, err.
 * [-0, +(1|2), e] */
static int l_sendto(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 4);
  s->wstatus = EH_IO_OK;
  return sendto_k(L, LUA_OK, 0);
}

const luaL_Reg eh_sockio_methods[] = {
  {"receive", l_receive}, {"recv", l_recv}, {"send", l_send},
  {"receivefrom", l_receivefrom}, {"sendto", l_sendto}, {NULL, NULL}};
