/*
 * http_sock.c -- HTTP straight off a socket's read buffer and onto its
 * writev: one C call reads and parses a whole request head (parking as
 * often as the client is slow, under an idle timeout and a head
 * deadline), one decodes the next piece of a body, one sends a response
 * (status line, headers and body in a single writev).
 *
 * The head is parsed in place in the socket's buffer (eh_sock_data) and
 * consumed once complete, so pipelined requests simply stay buffered.
 * The readers keep the parser at stack index 1 and the socket at 2; the
 * senders take the socket first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_write.h"
#include "socket.h"

/* The parser at index 1 (checked by metatable address, eh_checkudata). */
static eh_http *check_parser(lua_State *L) {
  return (eh_http *)eh_checkudata(L, 1, eh_gethub(L)->parser_mt, EH_HTTP_MT);
}

/* A head read parked between requests gives the socket's read buffer
 * back after this many seconds (the server's connections wait in its
 * queue instead: serveq.c; bench/httpd/misses.sh builds both with a
 * longer one: under valgrind, busy connections wait longer). */
#ifndef IDLE_TRIM
#define IDLE_TRIM 0.25
#endif

/* Restore the socket's own timeout after a head read. */
static void restore_timeout(eh_http *h, eh_sock *s) {
  s->timeout = h->saved_timeout;
  h->deadline = 0;
  h->idle_deadline = 0;
  h->trimming = 0;
}

/* Seconds left of an idle wait (< 0: no limit). */
static double idle_left(eh_http *h) {
  double left;
  if (h->idle_deadline < 0) return -1;
  left = h->idle_deadline - ev_time();
  return left > 0 ? left : 0;
}

/* Give the message table on top its metatable: the caller's (stack
 * index 5), else the parser's. */
static void set_message_mt(lua_State *L) {
  if (lua_type(L, 5) == LUA_TTABLE) lua_pushvalue(L, 5);
  else lua_getiuservalue(L, 1, 1);
  if (lua_istable(L, -1)) lua_setmetatable(L, -2);
  else lua_pop(L, 1);
}

/* The head read ended without a head: nil, "closed"/"timeout"/error when
 * nothing of a request had arrived, else nil, 400/408, reason. */
static int head_fail(lua_State *L, eh_http *h, eh_sock *s, int st) {
  size_t len;
  restore_timeout(h, s);
  eh_sock_data(s, &len);
  if (len == 0 || st == EH_IO_CLOSED || st == EH_IO_ERROR) return eh_sock_pusherror(L, s, st);
  lua_pushnil(L);
  if (st == EH_IO_TIMEOUT) {
    lua_pushinteger(L, 408);
    lua_pushliteral(L, "request head not received in time");
  } else {
    lua_pushinteger(L, 400);
    lua_pushliteral(L, "connection closed in the middle of the request head");
  }
  return 3;
}

static int head_k(lua_State *L, int status, lua_KContext ctx);

/* Parse what is buffered; read more without parking while bytes come;
 * park (idle timeout before the first byte, then the head's deadline)
 * when the socket is dry. */
static int head_step(lua_State *L, eh_http *h, eh_sock *s) {
  double header_timeout = luaL_optnumber(L, 4, -1);
  for (;;) {
    size_t len, used = 0;
    const char *p = eh_sock_data(s, &len);
    int st, r;
    if (len > 0) {
      r = eh_http_head(L, h, p, len, &used);
      if (r == EH_HTTP_DONE) {
        int expect = h->expect;
        eh_sock_consume(s, used);
        restore_timeout(h, s);
        set_message_mt(L);
        if (expect == 0) return 1;
        lua_pushinteger(L, expect);
        return 2;
      }
      if (r == EH_HTTP_ERROR) {
        restore_timeout(h, s);
        return eh_http_pusherror(L, h);
      }
      if (h->deadline == 0 && header_timeout >= 0) h->deadline = ev_time() + header_timeout;
    }
    st = eh_sock_read_some(s);
    if (st == EH_IO_OK) continue;
    if (st != EH_IO_AGAIN) return head_fail(L, h, s, st);
    /* Dry between requests: the caller waits (a TLS handshake that must
     * write first parks below instead). */
    if (len == 0 && h->may_doze && s->rwait == EV_READ) {
      restore_timeout(h, s);
      lua_pushnil(L);
      lua_pushliteral(L, "idle");
      return 2;
    }
    if (len == 0) {               /* idle: between requests */
      double left;
      if (h->idle_deadline == 0) {
        double idle = luaL_optnumber(L, 3, -1);
        h->idle_deadline = idle < 0 ? -1 : ev_time() + idle;
      }
      left = idle_left(h);
      h->trimming = s->buf != NULL && (left < 0 || left > IDLE_TRIM);
      s->timeout = h->trimming ? IDLE_TRIM : left;
    } else if (h->deadline > 0) {
      double left = h->deadline - ev_time();
      s->timeout = left > 0 ? left : 0;
    } else {
      s->timeout = -1;
    }
    return eh_sock_fill(L, s, 0, head_k);
  }
}

/* After an idle wait without a buffer: read and parse, or give up. */
static int idle_k(lua_State *L, int status, lua_KContext ctx) {
  eh_http *h = lua_touserdata(L, 1);   /* checked on entry; our frame */
  eh_sock *s = lua_touserdata(L, 2);
  (void)status; (void)ctx;
  if (s->rstatus != EH_IO_OK) return head_fail(L, h, s, s->rstatus);
  return head_step(L, h, s);
}

/* After a fill: parse again, or report why no more bytes came.  An idle
 * connection that waited IDLE_TRIM gives its read buffer back and
 * waits on for readability alone -- or, when the caller allowed it,
 * returns nil, "idle", seconds left, so it can wait with no thread
 * (sock:dormant). */
static int head_k(lua_State *L, int status, lua_KContext ctx) {
  eh_http *h = lua_touserdata(L, 1);   /* checked on entry; our frame */
  eh_sock *s = lua_touserdata(L, 2);
  (void)status; (void)ctx;
  if (s->rstatus == EH_IO_TIMEOUT && h->trimming && s->len == 0) {
    double left = idle_left(h);
    h->trimming = 0;
    eh_sock_idle(s);
    s->timeout = left;
    if (s->timeout != 0) return eh_sock_wait(L, s, EV_READ, 0, idle_k);
  }
  if (s->rstatus != EH_IO_OK) return head_fail(L, h, s, s->rstatus);
  return head_step(L, h, s);
}

/* http_read_head(parser, sock[, idle[, header_timeout[, skip_body[, doze[, mt]]]]])
 * -> msg[, expect] | nil, status, reason (malformed, over a limit: answer it) | nil,
 * err ("closed", "timeout", ...: nothing of a request arrived) | nil,
 * "idle" (doze: nothing of a head is buffered and the socket is dry; the
 * caller waits for it without a thread, serveq.c).  idle bounds the wait
 * for the first byte, header_timeout the whole head once it has begun
 * (slowloris); both in seconds, nil for none.  expect, for a request with
 * an Expect field: 100 (send "100 Continue" before reading the body) or
 * 417 (one it cannot meet: answer that; decide_expect in http.c).
 * skip_body: a response parser reads the answer to a HEAD.  mt: the
 * message's metatable, in place of the parser's.  [-0, +(1|2|3), e] */
static int l_http_read_head(lua_State *L) {
  eh_http *h = check_parser(L);
  eh_sock *s = eh_checksocket(L, 2);
  h->skip_body = lua_toboolean(L, 5);
  h->may_doze = lua_toboolean(L, 6);
  lua_settop(L, 7);
  lua_copy(L, 7, 5);                   /* the frame: parser sock idle timeout mt */
  lua_settop(L, 5);
  h->room = lua_istable(L, 5) ? 8 : 0; /* a caller's mt holds what it would add */
  h->saved_timeout = s->timeout;
  h->deadline = 0;
  h->idle_deadline = 0;
  h->trimming = 0;
  return head_step(L, h, s);
}

static int body_k(lua_State *L, int status, lua_KContext ctx);

/* Decode what is buffered; read more when it held no body bytes. */
static int body_step(lua_State *L, eh_http *h, eh_sock *s) {
  for (;;) {
    size_t len, used = 0;
    const char *p = eh_sock_data(s, &len);
    int st, r;
    if (len > 0 || h->phase != EH_HTTP_PHASE_BODY) {
      r = eh_http_body(L, h, p, len, &used);
      if (r == EH_HTTP_ERROR) return eh_http_pusherror(L, h);
      eh_sock_consume(s, used);
      if (r == EH_HTTP_DONE || lua_rawlen(L, -1) > 0) {
        lua_pushboolean(L, r == EH_HTTP_DONE);
        return 2;
      }
      lua_pop(L, 1);
    }
    st = eh_sock_read_some(s);
    if (st == EH_IO_OK) continue;
    if (st == EH_IO_AGAIN) return eh_sock_fill(L, s, 0, body_k);
    if (st == EH_IO_EOF && h->p.type == HTTP_RESPONSE && llhttp_message_needs_eof(&h->p)) {
      eh_http_restart(h);
      lua_pushliteral(L, "");
      lua_pushboolean(L, 1);
      return 2;
    }
    return eh_sock_pusherror(L, s, st);
  }
}

/* After a fill: decode again, or report the read's failure. */
static int body_k(lua_State *L, int status, lua_KContext ctx) {
  eh_http *h = lua_touserdata(L, 1);   /* checked on entry; our frame */
  eh_sock *s = lua_touserdata(L, 2);
  (void)status; (void)ctx;
  if (s->rstatus != EH_IO_OK && s->rstatus != EH_IO_EOF)
    return eh_sock_pusherror(L, s, s->rstatus);
  if (s->rstatus == EH_IO_EOF) {
    size_t len;
    eh_sock_data(s, &len);
    if (len == 0 && !(h->p.type == HTTP_RESPONSE && llhttp_message_needs_eof(&h->p)))
      return eh_sock_pusherror(L, s, EH_IO_EOF);
  }
  return body_step(L, h, s);
}

/* http_read_body(parser, sock) -> data, done | nil, status, reason (bad
 * framing, too large) | nil, err (read failed; "closed" when the peer
 * went away mid-body).  data is the next decoded piece (maybe "" with
 * done); waits with the socket's timeout.  [-0, +(2|3), e] */
static int l_http_read_body(lua_State *L) {
  eh_http *h = check_parser(L);
  eh_sock *s = eh_checksocket(L, 2);
  lua_settop(L, 2);
  return body_step(L, h, s);
}

/* After a response's writev: bytes sent (ctx >> 8 went out before the
 * park) and the header bits (ctx & 0xff), or the failure. */
static int send_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = lua_touserdata(L, 1);   /* checked on entry; our frame */
  (void)status;
  if (s->wstatus != EH_IO_OK) return eh_sock_pusherror(L, s, s->wstatus);
  lua_pushinteger(L, (lua_Integer)(s->wsent + (size_t)(ctx >> 8)));
  lua_pushinteger(L, (lua_Integer)(ctx & 0xff));
  return 2;
}

/* Write iov at once straight from C memory when the socket is plain and
 * no writer is parked: the bytes written (0 when it would block or
 * failed -- the parking primitive then takes over and reports). */
static size_t write_now(eh_sock *s, const struct iovec *iov, int n) {
  int wait = 0;
  ssize_t w;
  if (s->tls != NULL || s->writer != NULL || s->fd < 0) return 0;
  w = s->ops->writev(s, iov, n, &wait);
  return w > 0 ? (size_t)w : 0;
}

/* Drop the first `sent` bytes of iov[0..n); bytes still owned by the C
 * stack (the parts flagged in on_stack) are copied into Lua strings so
 * they survive a park.  Returns the new count.  [-0, +(0..2), m] */
static int keep_rest(lua_State *L, struct iovec *iov, int n, const int *on_stack, size_t sent) {
  int i, j = 0;
  for (i = 0; i < n; i++) {
    size_t skip = sent < iov[i].iov_len ? sent : iov[i].iov_len;
    sent -= skip;
    if (skip == iov[i].iov_len) continue;
    iov[j].iov_base = (char *)iov[i].iov_base + skip;
    iov[j].iov_len = iov[i].iov_len - skip;
    if (on_stack[i]) {
      lua_pushlstring(L, (const char *)iov[j].iov_base, iov[j].iov_len);
      iov[j].iov_base = (void *)lua_tostring(L, -1);
    }
    j++;
  }
  return j;
}

/* Send a response: the head from the status at idx and the headers at
 * idx + 1, then body (NULL: none) framed by flags, in one writev tried at
 * once from C memory; only what the kernel would not take is copied for
 * a park.  Pushes bytes, seen or nil, err.  A status or headers that
 * cannot go out raise, or push false, reason when soft is set (nothing
 * is sent then).  [-0, +2, e] */
static int send_response(lua_State *L, eh_sock *s, int idx, const char *body, size_t blen,
                         int flags, int soft) {
  size_t total = 0, sent;
  int seen, n = 0, i;
  struct iovec iov[4];
  int on_stack[4] = {1, 0, 0, 0};
  eh_headbuf b;
  char size[24];
  eh_headbuf_init(&b);
  seen = eh_http_build_head(L, &b, idx, idx + 1, body ? (long long)blen : -1, flags,
                            ev_now(s->hub->loop));
  if (b.err) {
    const char *err = b.err;
    eh_headbuf_free(&b);
    if (!soft) return luaL_error(L, "http_send: %s", err);
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "http_reply: %s", err);
    return 2;
  }
  iov[n].iov_base = b.p;
  iov[n++].iov_len = b.len;
  if (body && blen > 0 && !(flags & EH_HW_NOBODY)) {
    if (flags & EH_HW_CHUNKED) {
      on_stack[n] = 1;
      iov[n].iov_base = size;
      iov[n++].iov_len = (size_t)snprintf(size, sizeof size, "%zx\r\n", blen);
    }
    iov[n].iov_base = (void *)body;
    iov[n++].iov_len = blen;
    if (flags & EH_HW_CHUNKED) {
      iov[n].iov_base = (void *)"\r\n";
      iov[n++].iov_len = 2;
    }
  }
  for (i = 0; i < n; i++) total += iov[i].iov_len;
  sent = write_now(s, iov, n);
  if (sent == total) {
    eh_headbuf_free(&b);
    lua_pushinteger(L, (lua_Integer)total);
    lua_pushinteger(L, seen);
    return 2;
  }
  n = keep_rest(L, iov, n, on_stack, sent);
  eh_headbuf_free(&b);
  return eh_sock_writev(L, s, iov, n, (lua_KContext)(((lua_KContext)sent << 8) | seen), send_k);
}

/* http_send(sock, status, headers, body|nil[, flags]) -> bytes, seen |
 * nil, err: the whole response in one writev.  With the CHUNKED flag a
 * non-empty body goes out as the first chunk.  seen: bits of the caller's
 * headers, and EH_HW_CLOSES (see http_write.h).  [-0, +2, e] */
static int l_http_send(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 4, NULL, &blen);
  int flags = (int)luaL_optinteger(L, 5, 0);
  lua_settop(L, 5);
  return send_response(L, s, 2, body, blen, flags, 0);
}

/* Push "who: invalid status <the value>" for the status at idx. */
static const char *push_status_error(lua_State *L, const char *who, int idx) {
  const char *shown = luaL_tolstring(L, idx, NULL);
  lua_pushfstring(L, "%s: invalid status %s", who, shown);
  lua_remove(L, -2);
  return lua_tostring(L, -1);
}

/* The status code of the status at idx (eh_http_status_code), raising
 * when it is not one. */
static int check_status_code(lua_State *L, int idx) {
  int code = eh_http_status_code(L, idx);
  if (code == 0) return luaL_error(L, "%s", push_status_error(L, "httpd", idx));
  return code;
}

/* http_reply_flags(parser, status, close) -> flags: how a response with
 * status (a number or "404 Not Found") to the request the parser last
 * headed is framed (the EH_HW_* bits of http_write.h; close forces
 * "Connection: close"), for a response sent in pieces.  [-0, +1, e] */
static int l_http_reply_flags(lua_State *L) {
  eh_http *h = check_parser(L);
  lua_pushinteger(L, eh_http_reply_flags(h, check_status_code(L, 2), lua_toboolean(L, 3)));
  return 1;
}

/* http_reply(sock, parser, status, headers, body, close) -> bytes, seen |
 * nil, err | false, reason: the whole answer to the request the parser
 * last headed, framed as that request and status want
 * (eh_http_reply_flags; close forces "Connection: close"): a handler's
 * `return status, headers, body` in one call.  false, reason: the status
 * or a header cannot be sent (nothing went out) -- returned, not raised,
 * so a server can call this outside the handler's protected call.  The
 * socket comes first, as in http_send (send_k finds it there); seen &
 * EH_HW_CLOSES tells whether the connection ends.  [-0, +2, e] */
int eh_http_reply(lua_State *L) {
  eh_checksocket(L, 1);
  eh_checkudata(L, 2, eh_gethub(L)->parser_mt, EH_HTTP_MT);
  return eh_http_reply_checked(L);
}

/* eh_http_reply for a caller that knows its first two arguments are a
 * socket and a parser (the C lane checked them once per request).
 * [-0, +2, e] */
int eh_http_reply_checked(lua_State *L) {
  eh_sock *s = (eh_sock *)lua_touserdata(L, 1);
  eh_http *h = (eh_http *)lua_touserdata(L, 2);
  size_t blen;
  const char *body = luaL_checklstring(L, 5, &blen);
  int code = eh_http_status_code(L, 3);
  lua_settop(L, 6);
  if (code == 0) {
    lua_pushboolean(L, 0);
    push_status_error(L, "http_reply", 3);
    return 2;
  }
  return send_response(L, s, 3, body, blen, eh_http_reply_flags(h, code, lua_toboolean(L, 6)), 1);
}

/* After a chunk's writev: true, or the failure. */
static int chunk_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = lua_touserdata(L, 1);   /* checked on entry; our frame */
  (void)status; (void)ctx;
  if (s->wstatus != EH_IO_OK) return eh_sock_pusherror(L, s, s->wstatus);
  lua_pushboolean(L, 1);
  return 1;
}

/* http_send_chunk(sock, data[, last]) -> true | nil, err: one chunk of a
 * chunked body ("" sends nothing), plus the terminating zero chunk when
 * last.  [-0, +(1|2), e] */
static int l_http_send_chunk(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int last = lua_toboolean(L, 3), n = 0;
  struct iovec iov[4];
  char size[24];
  lua_settop(L, 3);
  if (len > 0) {
    snprintf(size, sizeof size, "%zx\r\n", len);
    lua_pushstring(L, size);              /* index 4: survives a park */
    iov[n].iov_base = (void *)lua_tostring(L, 4);
    iov[n++].iov_len = strlen(size);
    iov[n].iov_base = (void *)data;
    iov[n++].iov_len = len;
    iov[n].iov_base = (void *)"\r\n";
    iov[n++].iov_len = 2;
  }
  if (last) {
    iov[n].iov_base = (void *)"0\r\n\r\n";
    iov[n++].iov_len = 5;
  }
  if (n == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  return eh_sock_writev(L, s, iov, n, 0, chunk_k);
}

/* http_is_tls(sock) -> whether the socket (or listener) speaks TLS, so
 * a server can tell its scheme.  [-0, +1, -] */
static int l_http_is_tls(lua_State *L) {
  lua_pushboolean(L, eh_checksocket(L, 1)->tls != NULL);
  return 1;
}

const luaL_Reg eh_http_sock_funcs[] = {
  {"http_is_tls", l_http_is_tls},
  {"http_read_head", l_http_read_head}, {"http_read_body", l_http_read_body},
  {"http_send", l_http_send}, {"http_send_chunk", l_http_send_chunk},
  {"http_reply", eh_http_reply}, {"http_reply_flags", l_http_reply_flags},
  {NULL, NULL}};
