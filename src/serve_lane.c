/*
 * serve_lane.c -- q:serve(): a worker of an HTTP server's queue answers
 * the common request without leaving C.
 *
 * connection.lua serves a request in a dozen steps: take a ready
 * connection, read its head, call the handler, send the string it
 * returned, check for posthooks and an unread body, log it, give the
 * connection back.  q:serve() runs those steps as one C loop: the head
 * is parsed where it lies in the socket's buffer, the handler and the
 * send (core.http_reply) run under lua_pcallk -- either may park, and a
 * Timeout or kill that ends a park is caught as Lua's xpcall and pcall
 * catch it -- and when no connection is ready the worker parks with this
 * frame kept.  The handler is called as connection.lua calls it: with
 * the request alone on a lean server (server.lean: no access log and a
 * handler that takes no res), else with the connection's response
 * object too, reset for the request as Response.reset does; and a
 * logging server's line is written by log.access, called from here.
 * What is not the common case goes back to Lua at the matching step of
 * connection.lua, with what the loop holds so far:
 *
 *   conn                                   serve it from the start
 *   conn, "idle", seconds                  it was quiet: doze or close it
 *   conn, "head", req | nil, ...           what http_read_head returned
 *   conn, "ran", req, [started,] ok, ...   the handler's xpcall results
 *   conn, "replied", req, [started,] status, ok, ...
 *                                          http_reply's pcall results
 *   nothing                                the worker ends
 *
 * (started, the clock when the request began, only when the handler
 * has a response object: connection.lua's res_ran and res_replied
 * take it, lean_ran and lean_replied do not.)
 *
 * A connection goes back from the start when it dozed (no parser) or its
 * head is not whole in one read; "head" for a request that expects
 * 100-continue and for a malformed one; "ran" when the handler failed,
 * wrote through a response object and left it unfinished, or returned
 * anything but nothing or a status and a string with a response object
 * untouched; "ran" or "replied" (after the send) when posthooks wait,
 * or -- on a connection that stays open -- an unread body waits or it
 * was the connection's first request (Lua makes the peer record its
 * later requests share); "replied" when the send failed.  A connection
 * whose answer ends it (Connection: close, HTTP/1.0, a stop, a switch
 * of protocols) is closed here, as connection.lua's finish does.
 */
#include "serveq.h"
#include "http.h"
#include "http_write.h"

/* The frame: q:serve(sock, fresh, msgh, server, slot, log), then
 * the field names the loop reads -- q:serve's upvalues, interned once,
 * copied to the stack on each call: a stack index is the cheaper to read. */
enum { F_Q = 1, F_SOCK, F_FRESH, F_MSGH, F_SERVER, F_SLOT, F_LOG, F_KEYS };
enum {
  K_PARSER, K_PEER, K_SOCK, K_RES, K_CONN, K_CLOSING, K_CONTINUE, K_STOPPING, K_KEEPALIVE,
  K_POSTHOOKS, K_CALL, K_REMOTE_ADDR, K_REMOTE_PORT, K_SCHEME, K_OWN_CONN, K_LEAN, K_LOG,
  K_REQ_OF, K_STATUS, K_BYTES, K_MODE, K_HEADERS_SENT, K_FINISHED, K_HEADERS, K_XFF, K_UNTRACK,
  K_ACCESS, K_COUNT
};
static const char *const key_names[K_COUNT] = {
  "parser", "peer", "sock", "res", "conn", "closing", "continue_pending", "stopping",
  "keepalive", "posthooks", "call", "remote_addr", "remote_port", "scheme", "_conn", "lean",
  "log", "_req", "status", "bytes", "_mode", "headers_sent", "finished", "headers",
  "log_x_forwarded_for", "_untrack", "access"};
#define FRAME (F_KEYS + K_COUNT - 1)
#define KEY(k) (F_KEYS + (k))

/* A request's slots above the frame: its conn record and three of its
 * fields, its response object (nil on a lean server) and start time
 * (false unless logged), the request, and the handler's results. */
enum {
  S_CONN = FRAME + 1, S_PARSER, S_PEER, S_SOCK, S_RES, S_STARTED, S_REQ, S_STATUS, S_HEADERS,
  S_BODY
};

/* What read_head found besides a head (EH_HTTP_DONE, _ERROR, _MORE). */
#define HEAD_DRY 2

/* How the request's answer went out, for next_step. */
enum { SENT_BY_C, SENT_PARKED, SENT_BY_LUA };

/* What follows an answer (next_step): nothing but giving the connection
 * back, closing it, or Lua's part. */
enum { STEP_KEEP, STEP_END, STEP_LUA };

/* What the steps of a request return besides a count of values for Lua:
 * the request is done and its connection goes back to the queue, or is
 * closed. */
#define DONE (-1)
#define DONE_CLOSED (-2)

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

/* t[key] = b, a boolean.  [-0, +0, m] */
static void set_bool(lua_State *L, int t, int key, int b) {
  lua_pushvalue(L, KEY(key));
  lua_pushboolean(L, b);
  lua_rawset(L, t);
}

/* t[key] = false.  [-0, +0, m] */
static void set_false(lua_State *L, int t, int key) {
  set_bool(L, t, key, 0);
}

/* t[key] = i, an integer.  [-0, +0, m] */
static void set_int(lua_State *L, int t, int key, lua_Integer i) {
  lua_pushvalue(L, KEY(key));
  lua_pushinteger(L, i);
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

/* Whether the request in hand has a response object (the server is not
 * lean).  [-0, +0, -] */
static int has_res(lua_State *L) {
  return lua_type(L, S_RES) == LUA_TTABLE;
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

/* Hand the request's results -- the n values on top -- over to Lua as
 * why's values: req, [started,] [status,] ok, results; started with a
 * response object, status when with_status.  [-n, +?, m] */
static int hand_results(lua_State *L, eh_serveq *q, const char *why, int n, int with_status,
                        int ok) {
  int lead = lua_gettop(L);
  lua_pushvalue(L, S_REQ);
  if (has_res(L)) lua_pushvalue(L, S_STARTED);
  if (with_status) lua_pushvalue(L, S_STATUS);
  lua_pushboolean(L, ok);
  lead = lua_gettop(L) - lead;
  lua_rotate(L, -(n + lead), lead);
  return hand_over(L, q, why, n + lead);
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

/* Whether the response object's headers field is a table with nothing
 * in it.  [-0, +0, -] */
static int headers_empty(lua_State *L) {
  int empty = get(L, S_RES, K_HEADERS) == LUA_TTABLE;
  if (empty) {
    lua_pushnil(L);
    empty = !lua_next(L, -2);
    if (!empty) lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return empty;
}

/* Ready the response object for the request, as Response.reset does:
 * its request, status 200, nothing sent, no headers.  [-0, +0, m] */
static void reset_res(lua_State *L) {
  set(L, S_RES, K_REQ_OF, S_REQ);
  set_int(L, S_RES, K_STATUS, 200);
  set_int(L, S_RES, K_BYTES, 0);
  set_false(L, S_RES, K_MODE);
  set_false(L, S_RES, K_HEADERS_SENT);
  set_false(L, S_RES, K_FINISHED);
  if (!headers_empty(L)) {
    lua_pushvalue(L, KEY(K_HEADERS));
    lua_newtable(L);
    lua_rawset(L, S_RES);
  }
}

/* Whether the response object is as reset_res left it: nothing sent,
 * finished or set by res:header().  [-0, +0, -] */
static int res_untouched(lua_State *L) {
  return !truthy(L, S_RES, K_FINISHED) && !truthy(L, S_RES, K_HEADERS_SENT) &&
         headers_empty(L);
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

/* Whether the handler's answer (its results above S_REQ) is one C sends:
 * a status and a string body, and on a lean server no response object
 * asked for, else the response object untouched.  [-0, +0, -] */
static int plain_answer(lua_State *L) {
  int own;
  if (lua_isnil(L, S_STATUS) || lua_type(L, S_BODY) != LUA_TSTRING) return 0;
  if (has_res(L)) return res_untouched(L);
  get(L, S_CONN, K_RES);
  own = lua_rawequal(L, -1, S_REQ);
  lua_pop(L, 1);
  return own;
}

/* Whether the handler answered through its response object and returned
 * nothing: res:finish() went out from Lua.  [-0, +0, -] */
static int finished_in_lua(lua_State *L) {
  return has_res(L) && lua_isnil(L, S_STATUS) && truthy(L, S_RES, K_FINISHED);
}

/* What follows an answer that went out (how: one of SENT_*; closes: the
 * send said the connection ends, or it is closing): Lua's part when
 * posthooks wait; else the connection's end when it ends; else Lua's part
 * for an unread body (read before closing too: a close with bytes unread
 * resets the connection, and the answer's tail with it); else the
 * connection's end when the server began to stop while Lua ran or the
 * send was parked (before it, must_close saw that and the answer
 * closes), as connection.lua's serve_tail ends it; else Lua's part for a
 * connection's first request (Lua makes its peer record); else nothing.
 * [-0, +0, -] */
static int next_step(lua_State *L, eh_http *h, int closes, int how) {
  int hooks = get(L, S_REQ, K_POSTHOOKS) != LUA_TNIL;
  lua_pop(L, 1);
  if (hooks) return STEP_LUA;
  if (closes) return STEP_END;
  if (h->phase != EH_HTTP_PHASE_HEAD) return STEP_LUA;   /* Lua reads the rest of the body */
  if (how != SENT_BY_C && truthy(L, F_SERVER, K_STOPPING)) return STEP_END;
  if (lua_type(L, S_PEER) != LUA_TTABLE) return STEP_LUA;
  return STEP_KEEP;
}

/* End the connection in hand as connection.lua's finish does: close its
 * socket, then server:_untrack(conn) (which frees its slot and wakes a
 * stop waiting for it).  [-0, +0, e] */
static void end_connection(lua_State *L) {
  eh_sock_close((eh_sock *)lua_touserdata(L, S_SOCK));
  lua_pushvalue(L, KEY(K_UNTRACK));
  lua_gettable(L, F_SERVER);
  lua_pushvalue(L, F_SERVER);
  lua_pushvalue(L, S_CONN);
  lua_call(L, 2, 0);
}

/* The request is answered and nothing is left for Lua: the response
 * object lets go of it, the connection ends if step says so, and the
 * slot lets go of the connection.  DONE or DONE_CLOSED.  [-0, +0, e] */
static int request_done(lua_State *L, eh_serveq *q, int step) {
  if (has_res(L)) set_false(L, S_RES, K_REQ_OF);
  if (step == STEP_END) end_connection(L);
  set_false(L, F_SLOT, K_CONN);
  q->in_c++;
  return step == STEP_END ? DONE_CLOSED : DONE;
}

/* Go on serving after a continuation's step returned n: its count of
 * values for Lua, or the loop again -- giving the connection back unless
 * it was closed.  [-?, +?, e] */
static int go_on(lua_State *L, eh_serveq *q, int n) {
  if (n >= 0) return n;
  return lane_loop(L, q, n == DONE ? (eh_sock *)lua_touserdata(L, S_SOCK) : NULL, 0);
}

/* After the access log's Lua call (step: what next_step said before
 * it): the log may have stopped the server, or let it begin to stop
 * while it parked -- the connection then ends, as connection.lua's
 * serve_tail ends it (the queue, closed, would no longer watch it).
 * [-0, +0, e] */
static int logged(lua_State *L, eh_serveq *q, int step) {
  if (step == STEP_KEEP && truthy(L, F_SERVER, K_STOPPING)) step = STEP_END;
  return request_done(L, q, step);
}

/* Resume after the access log's call: the step is on top, pushed before
 * the call.  [-?, +?, e] */
static int logged_k(lua_State *L, int status, lua_KContext ctx) {
  eh_serveq *q = (eh_serveq *)ctx;
  int step = (int)lua_tointeger(L, -1);
  (void)status;
  lua_pop(L, 1);
  return go_on(L, q, logged(L, q, step));
}

/* Write the request's access-log line if its server logs -- in C to a
 * Lua file (stderr by default), else through the log module's
 * access(server, req, res, started), unprotected as in Lua's after(),
 * which may park -- then let the request go (request_done: step,
 * STEP_KEEP or STEP_END).  [-0, +0, e] */
static int finish_request(lua_State *L, eh_serveq *q, int step) {
  if (has_res(L) && truthy(L, F_SERVER, K_LOG)) {
    int in_c;
    get(L, F_SERVER, K_LOG);
    in_c = eh_http_log_to_file(L, lua_gettop(L), S_REQ, S_RES, S_STARTED,
                               truthy(L, F_SERVER, K_XFF));
    lua_pop(L, 1);
    if (!in_c) {
      lua_pushinteger(L, step);   /* for logged_k */
      lua_pushvalue(L, KEY(K_ACCESS));
      lua_gettable(L, F_LOG);     /* read for each line, as Lua's after() does */
      lua_pushvalue(L, F_SERVER);
      lua_pushvalue(L, S_REQ);
      lua_pushvalue(L, S_RES);
      lua_pushvalue(L, S_STARTED);
      lua_callk(L, 4, 0, (lua_KContext)q, logged_k);
      lua_pop(L, 1);
      return logged(L, q, step);
    }
  }
  return request_done(L, q, step);
}

/* After http_reply's protected call (st; parked: it yielded): DONE or
 * DONE_CLOSED when the request is done, else its results handed to Lua:
 * conn, "replied", req, [started,] status, ok, results.  [-(1|2), +?, e] */
static int after_reply(lua_State *L, eh_serveq *q, int st, int parked) {
  int n = lua_gettop(L) - S_BODY;
  eh_http *h = (eh_http *)lua_touserdata(L, S_PARSER);
  if (st == LUA_OK && lua_isinteger(L, -2)) {
    int closes = (lua_tointeger(L, -1) & EH_HW_CLOSES) != 0, step;
    if (has_res(L)) set(L, S_RES, K_BYTES, lua_absindex(L, -2));
    if (closes) set_bool(L, S_CONN, K_CLOSING, 1);   /* as Lua's reply_outcome, for the log */
    step = next_step(L, h, closes, parked ? SENT_PARKED : SENT_BY_C);
    if (step != STEP_LUA) return finish_request(L, q, step);
  }
  return hand_results(L, q, "replied", n, 1, st == LUA_OK);
}

/* Resume after a park inside http_reply.  [-?, +?, e] */
static int replied_k(lua_State *L, int status, lua_KContext ctx) {
  eh_serveq *q = (eh_serveq *)ctx;
  return go_on(L, q, after_reply(L, q, status == LUA_YIELD ? LUA_OK : status, 1));
}

/* Send the handler's plain answer in one C call, under lua_pcallk: DONE
 * or DONE_CLOSED once done, else what goes back to Lua.  A response
 * object is marked finished first, as connection.lua's answer() does (a
 * send that raises may have sent a part: no 500 may follow); a lean
 * request's conn.res lets go of it (req:write() from elsewhere is
 * refused).  [-0, +?, e] */
static int send_plain(lua_State *L, eh_serveq *q) {
  int close = must_close(L);
  if (has_res(L)) {
    set_bool(L, S_RES, K_FINISHED, 1);
    set_bool(L, S_RES, K_HEADERS_SENT, 1);
    set(L, S_RES, K_STATUS, S_STATUS);
  } else {
    set_false(L, S_CONN, K_RES);
  }
  lua_pushcfunction(L, eh_http_reply_checked);   /* (serve_taken checked both) */
  lua_pushvalue(L, S_SOCK);
  lua_pushvalue(L, S_PARSER);
  lua_pushvalue(L, S_STATUS);
  lua_pushvalue(L, S_HEADERS);
  lua_pushvalue(L, S_BODY);
  lua_pushboolean(L, close);
  return after_reply(L, q, lua_pcallk(L, 6, 2, 0, (lua_KContext)q, replied_k), 0);
}

/* After the handler's protected call (st): send a plain answer, finish a
 * request the handler answered itself, else hand its results to Lua:
 * conn, "ran", req, [started,] ok, results.  [-(1|3), +?, e] */
static int after_handler(lua_State *L, eh_serveq *q, int st) {
  int n = lua_gettop(L) - S_REQ;
  if (st == LUA_OK) {
    if (plain_answer(L)) return send_plain(L, q);
    if (finished_in_lua(L)) {
      eh_http *h = (eh_http *)lua_touserdata(L, S_PARSER);
      int step = next_step(L, h, truthy(L, S_CONN, K_CLOSING), SENT_BY_LUA);
      if (step != STEP_LUA) return finish_request(L, q, step);
    }
  }
  return hand_results(L, q, "ran", n, 0, st == LUA_OK);
}

/* Resume after a park inside the handler.  [-?, +?, e] */
static int handled_k(lua_State *L, int status, lua_KContext ctx) {
  eh_serveq *q = (eh_serveq *)ctx;
  return go_on(L, q, after_handler(L, q, status == LUA_YIELD ? LUA_OK : status));
}

/* Push the request's response object and start time (S_RES, S_STARTED):
 * nil, false on a lean server; the connection's object and, if the
 * server logs, the loop's clock.  Returns 0 if a server that is not lean
 * has a connection without one (Lua's path makes it).  [-0, +2, -] */
static int push_res(lua_State *L, eh_serveq *q) {
  if (truthy(L, F_SERVER, K_LEAN)) {
    lua_pushnil(L);
    lua_pushboolean(L, 0);
    return 1;
  }
  get(L, S_CONN, K_RES);
  if (truthy(L, F_SERVER, K_LOG)) lua_pushnumber(L, ev_now(q->hub->loop));
  else lua_pushboolean(L, 0);
  return lua_type(L, S_RES) == LUA_TTABLE;
}

/* Call the handler on the request just read: server.call (read for
 * each request, as Lua does) under msgh, with the request's response
 * object when it has one.  [-0, +?, e] */
static int call_handler(lua_State *L, eh_serveq *q) {
  int nargs = 1;
  if (has_res(L)) reset_res(L);
  else set(L, S_CONN, K_RES, S_REQ);   /* a lean request: conn.res holds it (request.lua) */
  get(L, F_SERVER, K_CALL);
  lua_pushvalue(L, S_REQ);
  if (has_res(L)) {
    lua_pushvalue(L, S_RES);
    nargs = 2;
  }
  return after_handler(L, q, lua_pcallk(L, nargs, 3, F_MSGH, (lua_KContext)q, handled_k));
}

/* Whether the connection's parser and socket, just read from its record
 * (S_PARSER, S_SOCK), are a parser and s itself -- what the loop then
 * uses them as, unchecked; anything else (a dozing connection has no
 * parser) goes to Lua's path, which checks.  [-0, +0, -] */
static int own_parts(lua_State *L, eh_serveq *q, eh_sock *s) {
  int parser;
  if (lua_touserdata(L, S_SOCK) != s || lua_type(L, S_PARSER) != LUA_TUSERDATA ||
      !lua_getmetatable(L, S_PARSER))
    return 0;
  parser = lua_topointer(L, -1) == q->hub->parser_mt;
  lua_pop(L, 1);
  return parser;
}

/* Serve the connection just taken (conn at S_CONN, its socket s): DONE
 * once its request is answered or it had none after all, DONE_CLOSED
 * once answered and closed, else what goes back to Lua (the count
 * pushed).  [-0, +?, e] */
static int serve_taken(lua_State *L, eh_serveq *q, eh_sock *s) {
  eh_http *h;
  int r, first;
  get(L, S_CONN, K_PARSER);
  first = get(L, S_CONN, K_PEER) != LUA_TTABLE;
  get(L, S_CONN, K_SOCK);
  if (!own_parts(L, q, s) || !push_res(L, q)) return hand_over(L, q, NULL, 0);
  h = (eh_http *)lua_touserdata(L, S_PARSER);
  r = read_head(L, h, s, first);
  if (r == HEAD_DRY) {
    set_false(L, F_SLOT, K_CONN);
    return DONE;
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
  return call_handler(L, q);
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
    done = n == DONE ? s : NULL;
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

/* q:serve(sock, fresh, msgh, server, slot, log) -> see the top of this
 * file: give back sock (as q:next does) and answer ready connections'
 * requests in C -- server.call(req[, res]) under msgh, the access log
 * through the module log (eventlet.httpd.log) -- while they are the
 * common case; slot.conn names the connection in hand meanwhile.
 * [-6, +(0..9), e] */
static int l_serve(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, F_Q);
  eh_sock *s = lua_isnoneornil(L, F_SOCK) ? NULL : eh_checksocket(L, F_SOCK);
  int fresh = lua_toboolean(L, F_FRESH), i;
  luaL_checktype(L, F_MSGH, LUA_TFUNCTION);
  luaL_checktype(L, F_SERVER, LUA_TTABLE);
  luaL_checktype(L, F_SLOT, LUA_TTABLE);
  luaL_checktype(L, F_LOG, LUA_TTABLE);
  lua_settop(L, F_LOG);
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
