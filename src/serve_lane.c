/*
 * serve_lane.c -- q:serve(): a worker of an HTTP server's queue answers
 * the common request without leaving C.
 *
 * connection.lua serves a request in a dozen steps: take a ready
 * connection, read its head, call the handler, send the string it
 * returned, check for posthooks and an unread body, give the connection
 * back.  For a server whose handler takes no res, q:serve() runs those
 * steps as one C loop: the head is parsed where it lies in the socket's
 * buffer, the handler and the send (core.http_reply) run under
 * lua_pcallk -- either may park, and a Timeout or kill that ends a park
 * is caught as Lua's xpcall and pcall catch it -- and when no connection
 * is ready the worker parks with this frame kept.  What is not the
 * common case goes back to Lua at the matching step of connection.lua,
 * with what the loop holds so far:
 *
 *   conn                                   serve it from the start
 *   conn, "idle", seconds                  it was quiet: doze or close it
 *   conn, "head", req | nil, ...           what http_read_head returned
 *   conn, "ran", req, ok, ...              the handler's xpcall results
 *   conn, "replied", req, status, ok, ...  http_reply's pcall results
 *   nothing                                the worker ends
 *
 * A connection goes back from the start when it dozed (no parser) or its
 * head is not whole in one read; "head" for a request that expects
 * 100-continue and for a malformed one; "ran" when the handler failed,
 * asked for a response object or returned anything but a status and a
 * string; "replied" when the send failed, the connection ends or the
 * server stops, it was the connection's first request (Lua makes the
 * peer record its later requests share), posthooks or an unread body
 * wait, or the connection switched protocols.
 */
#include "serveq.h"
#include "http.h"
#include "http_write.h"

/* The frame: q:serve(sock, fresh, msgh, server, slot), then the field
 * names the loop reads -- q:serve's upvalues, interned once, copied to
 * the stack on each call: a stack index is the cheaper to read. */
enum { F_Q = 1, F_SOCK, F_FRESH, F_MSGH, F_SERVER, F_SLOT, F_KEYS };
enum {
  K_PARSER, K_PEER, K_SOCK, K_RES, K_CONN, K_CLOSING, K_CONTINUE, K_STOPPING, K_KEEPALIVE,
  K_POSTHOOKS, K_CALL, K_REMOTE_ADDR, K_REMOTE_PORT, K_SCHEME, K_OWN_CONN, K_COUNT
};
static const char *const key_names[K_COUNT] = {
  "parser", "peer", "sock", "res", "conn", "closing", "continue_pending", "stopping",
  "keepalive", "posthooks", "call", "remote_addr", "remote_port", "scheme", "_conn"};
#define FRAME (F_KEYS + K_COUNT - 1)
#define KEY(k) (F_KEYS + (k))

/* A request's slots above the frame: its conn record and three of its
 * fields, the request, and the handler's results. */
enum { S_CONN = FRAME + 1, S_PARSER, S_PEER, S_SOCK, S_REQ, S_STATUS, S_HEADERS, S_BODY };

/* What read_head found besides a head (EH_HTTP_DONE, _ERROR, _MORE). */
#define HEAD_DRY 2

static int lane_loop(lua_State *L, eh_serveq *q, eh_sock *done, int fresh);
static int take_k(lua_State *L, int status, lua_KContext ctx);

/* Push t[key] (a raw get, key one of K_*); returns its type.  [-0, +1, -] */
static int get(lua_State *L, int t, int key) {
  lua_pushvalue(L, KEY(key));
  return lua_rawget(L, t);
}

/* t[key] = the value at idx (a raw set).  [-0, +0, m] */
static void set(lua_State *L, int t, int key, int idx) {
  lua_pushvalue(L, KEY(key));
  lua_pushvalue(L, idx);
  lua_rawset(L, t);
}

/* t[key] = false.  [-0, +0, m] */
static void set_false(lua_State *L, int t, int key) {
  lua_pushvalue(L, KEY(key));
  lua_pushboolean(L, 0);
  lua_rawset(L, t);
}

/* Whether t[key] is neither nil nor false.  [-0, +0, -] */
static int truthy(lua_State *L, int t, int key) {
  int yes;
  get(L, t, key);
  yes = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return yes;
}

/* Hand conn back to Lua: the n values on top follow conn and why (NULL:
 * the connection alone, serve it from the start).  [-n, +(n+2), m] */
static int hand_over(lua_State *L, eh_serveq *q, const char *why, int n) {
  q->to_lua++;
  if (why == NULL) {
    lua_settop(L, S_CONN);
    return 1;
  }
  lua_pushvalue(L, S_CONN);
  lua_pushstring(L, why);
  lua_rotate(L, -(n + 2), 2);
  return n + 2;
}

/* Parse the head buffered on s -- reading once first if none is -- as
 * http_read_head does, the request pushed on EH_HTTP_DONE; HEAD_DRY when
 * the socket had nothing after all; EH_HTTP_MORE for anything Lua's
 * head read must see (part of a head, a closed or failed socket, a TLS
 * read that must write).  [-0, +(0|1|3), m] */
static int read_head(lua_State *L, eh_http *h, eh_sock *s, int first) {
  size_t len, used = 0;
  const char *p = eh_sock_data(s, &len);
  int r;
  if (len == 0) {
    int st = eh_sock_read_some(s);
    if (st == EH_IO_AGAIN && s->rwait == EV_READ) return HEAD_DRY;
    if (st != EH_IO_OK) return EH_HTTP_MORE;
    p = eh_sock_data(s, &len);
  }
  h->skip_body = 0;
  h->room = first ? 0 : 8;     /* else the peer metatable holds the rest */
  r = eh_http_head(L, h, p, len, &used);
  if (r == EH_HTTP_DONE) eh_sock_consume(s, used);
  return r;
}

/* dst[key] = src[key] (raw).  [-0, +0, m] */
static void copy_field(lua_State *L, int dst, int src, int key) {
  lua_pushvalue(L, KEY(key));
  lua_pushvalue(L, -1);
  lua_rawget(L, src);
  lua_rawset(L, dst);
}

/* Give the request just read what a connection's first request holds
 * itself (connection.lua's serve_head): the parser's metatable, the
 * peer's address and port, the scheme and the connection record.  Later
 * requests find them in the peer metatable Lua makes after this one.
 * [-0, +0, m] */
static void own_fields(lua_State *L) {
  if (lua_getiuservalue(L, S_PARSER, 1) == LUA_TTABLE) lua_setmetatable(L, S_REQ);
  else lua_pop(L, 1);
  copy_field(L, S_REQ, S_CONN, K_REMOTE_ADDR);
  copy_field(L, S_REQ, S_CONN, K_REMOTE_PORT);
  copy_field(L, S_REQ, F_SERVER, K_SCHEME);
  set(L, S_REQ, K_OWN_CONN, S_CONN);
}

/* Whether the response now going out must close conn: as connection.lua's
 * must_close -- it is closing, a client waiting for 100 Continue got an
 * answer instead, the server stops or keeps nothing alive.  [-0, +0, -] */
static int must_close(lua_State *L) {
  int keepalive_off;
  if (truthy(L, S_CONN, K_CLOSING) || truthy(L, S_CONN, K_CONTINUE) ||
      truthy(L, F_SERVER, K_STOPPING))
    return 1;
  get(L, F_SERVER, K_KEEPALIVE);
  keepalive_off = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  return keepalive_off;
}

/* Whether the handler's answer (its results above S_REQ) is the common
 * one: a status and a string body, no response object asked for. */
static int plain_answer(lua_State *L) {
  int own;
  get(L, S_CONN, K_RES);
  own = lua_rawequal(L, -1, S_REQ);
  lua_pop(L, 1);
  return own && !lua_isnil(L, S_STATUS) && lua_type(L, S_BODY) == LUA_TSTRING;
}

/* The answer went out: the request is done unless the connection ends,
 * the server began to stop while the send was parked (before it,
 * must_close saw that and the answer closes), it was the connection's
 * first (Lua makes its peer record), or posthooks or an unread body wait
 * (Lua's part). */
static int all_done(lua_State *L, eh_http *h, lua_Integer seen, int parked) {
  int hooks;
  if ((seen & EH_HW_CLOSES) || h->phase != EH_HTTP_PHASE_HEAD) return 0;
  if (lua_type(L, S_PEER) != LUA_TTABLE) return 0;
  if (parked && truthy(L, F_SERVER, K_STOPPING)) return 0;
  hooks = get(L, S_REQ, K_POSTHOOKS) != LUA_TNIL;
  lua_pop(L, 1);
  return !hooks;
}

/* After http_reply's protected call (st; parked: it yielded): -1 when
 * the request is done, else its results handed to Lua: conn, "replied",
 * req, status, ok, results.  [-(1|2), +?, m] */
static int after_reply(lua_State *L, eh_serveq *q, int st, int parked) {
  int n = lua_gettop(L) - S_BODY;
  eh_http *h = (eh_http *)lua_touserdata(L, S_PARSER);
  if (st == LUA_OK && lua_isinteger(L, -2) && all_done(L, h, lua_tointeger(L, -1), parked)) {
    set_false(L, F_SLOT, K_CONN);
    q->in_c++;
    return -1;
  }
  lua_pushvalue(L, S_REQ);
  lua_pushvalue(L, S_STATUS);
  lua_pushboolean(L, st == LUA_OK);
  lua_rotate(L, -(n + 3), 3);
  return hand_over(L, q, "replied", n + 3);
}

/* Resume after a park inside http_reply.  [-?, +?, e] */
static int replied_k(lua_State *L, int status, lua_KContext ctx) {
  eh_serveq *q = (eh_serveq *)ctx;
  int n = after_reply(L, q, status == LUA_YIELD ? LUA_OK : status, 1);
  if (n >= 0) return n;
  return lane_loop(L, q, (eh_sock *)lua_touserdata(L, S_SOCK), 0);
}

/* After the handler's protected call (st): send a plain answer (under
 * lua_pcallk: -1 once done), else hand its results to Lua: conn, "ran",
 * req, ok, results.  [-(1|3), +?, e] */
static int after_handler(lua_State *L, eh_serveq *q, int st) {
  int n = lua_gettop(L) - S_REQ;
  int close;
  if (st != LUA_OK || !plain_answer(L)) {
    lua_pushvalue(L, S_REQ);
    lua_pushboolean(L, st == LUA_OK);
    lua_rotate(L, -(n + 2), 2);
    return hand_over(L, q, "ran", n + 2);
  }
  close = must_close(L);
  set_false(L, S_CONN, K_RES);   /* answered: req:write() from elsewhere is refused */
  lua_pushcfunction(L, eh_http_reply);
  lua_pushvalue(L, S_SOCK);
  lua_pushvalue(L, S_PARSER);
  lua_pushvalue(L, S_STATUS);
  lua_pushvalue(L, S_HEADERS);
  lua_pushvalue(L, S_BODY);
  lua_pushboolean(L, close);
  return after_reply(L, q, lua_pcallk(L, 6, 2, 0, (lua_KContext)q, replied_k), 0);
}

/* Resume after a park inside the handler.  [-?, +?, e] */
static int handled_k(lua_State *L, int status, lua_KContext ctx) {
  eh_serveq *q = (eh_serveq *)ctx;
  int n = after_handler(L, q, status == LUA_YIELD ? LUA_OK : status);
  if (n >= 0) return n;
  return lane_loop(L, q, (eh_sock *)lua_touserdata(L, S_SOCK), 0);
}

/* Serve the connection just taken (conn at S_CONN, its socket s): -1
 * once its request is answered or it had none after all, else what goes
 * back to Lua (the count pushed).  [-0, +?, e] */
static int serve_taken(lua_State *L, eh_serveq *q, eh_sock *s) {
  eh_http *h;
  int r, first;
  if (get(L, S_CONN, K_PARSER) != LUA_TUSERDATA) return hand_over(L, q, NULL, 0);
  first = get(L, S_CONN, K_PEER) != LUA_TTABLE;
  get(L, S_CONN, K_SOCK);
  h = (eh_http *)lua_touserdata(L, S_PARSER);
  r = read_head(L, h, s, first);
  if (r == HEAD_DRY) {
    set_false(L, F_SLOT, K_CONN);
    return -1;
  }
  if (r == EH_HTTP_MORE) return hand_over(L, q, NULL, 0);
  if (r == EH_HTTP_ERROR) return hand_over(L, q, "head", eh_http_pusherror(L, h));
  if (first) {
    own_fields(L);
  } else {
    lua_pushvalue(L, S_PEER);
    lua_setmetatable(L, S_REQ);
  }
  if (h->expect != 0) {          /* req, expect: 100-continue or 417 */
    lua_pushinteger(L, h->expect);
    return hand_over(L, q, "head", 2);
  }
  set(L, S_CONN, K_RES, S_REQ);    /* a lean request: conn.res holds it (request.lua) */
  get(L, F_SERVER, K_CALL);        /* the handler, read for each request as Lua does */
  lua_pushvalue(L, S_REQ);
  return after_handler(L, q, lua_pcallk(L, 1, 3, F_MSGH, (lua_KContext)q, handled_k));
}

/* Give back done (the socket just served, or NULL), then serve ready
 * connections until one needs Lua or the worker has no more to do.
 * [-?, +?, e] */
static int lane_loop(lua_State *L, eh_serveq *q, eh_sock *done, int fresh) {
  for (;;) {
    eh_sock *s = NULL;
    int n;
    if (!eh_serveq_give_back(L, q, done, fresh)) return 0;
    fresh = 0;
    lua_settop(L, FRAME);
    n = eh_serveq_take(L, q, &s, take_k, 1);
    if (n != 1 || s == NULL) return n;   /* (s stays NULL after a park that ran nested) */
    set(L, F_SLOT, K_CONN, S_CONN);      /* named at once: a raise ends the worker, not it */
    n = serve_taken(L, q, s);
    if (n >= 0) return n;
    done = s;
  }
}

/* Resume after a park for a ready connection (the frame kept).
 * [-0, +?, e] */
static int take_k(lua_State *L, int status, lua_KContext ctx) {
  eh_serveq *q = (eh_serveq *)ctx;
  (void)status;
  eh_serveq_woke(L, q);
  return lane_loop(L, q, NULL, 0);
}

/* q:serve(sock, fresh, msgh, server, slot) -> see the top of this file:
 * give back sock (as q:next does) and answer ready connections' requests
 * in C -- server.call(req) under msgh, a handler that takes no res --
 * while they are the common case; slot.conn names the connection in hand
 * meanwhile.  [-5, +(0..8), e] */
static int l_serve(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, F_Q);
  eh_sock *s = lua_isnoneornil(L, F_SOCK) ? NULL : eh_checksocket(L, F_SOCK);
  int fresh = lua_toboolean(L, F_FRESH), i;
  luaL_checktype(L, F_MSGH, LUA_TFUNCTION);
  luaL_checktype(L, F_SERVER, LUA_TTABLE);
  luaL_checktype(L, F_SLOT, LUA_TTABLE);
  lua_settop(L, F_SLOT);
  luaL_checkstack(L, K_COUNT + 24, "http_queue");
  for (i = 1; i <= K_COUNT; i++) lua_pushvalue(L, lua_upvalueindex(i));
  return lane_loop(L, q, s, fresh);
}

/* Push q:serve, a closure over the field names it reads.  [-0, +1, m] */
void eh_serveq_push_lane(lua_State *L) {
  int i;
  for (i = 0; i < K_COUNT; i++) lua_pushstring(L, key_names[i]);
  lua_pushcclosure(L, l_serve, K_COUNT);
}
