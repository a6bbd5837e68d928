/*
 * http_lua.c -- the Lua face of http.c: HttpParser objects over byte
 * strings, the case-insensitive headers table, and the one-shot
 * core.http_parse_request / core.http_parse_response used by specs,
 * fuzzers and anything holding a whole message in a string.
 */
#include <string.h>
#include <ctype.h>

#include "http.h"

/* The parser at idx, or a type error. */
static eh_http *check_parser(lua_State *L, int idx) {
  return (eh_http *)luaL_checkudata(L, idx, EH_HTTP_MT);
}

/* Convert a 1-based Lua position into an offset within a string of len. */
static size_t check_init(lua_State *L, int idx, size_t len) {
  lua_Integer init = luaL_optinteger(L, idx, 1);
  luaL_argcheck(L, init >= 1 && (size_t)init <= len + 1, idx, "position out of range");
  return (size_t)init - 1;
}

/* Whether msg.headers_raw is wanted: yes unless the options table at idx
 * says raw_headers = false (the server does, to save a table a request). */
static int raw_wanted(lua_State *L, int idx) {
  int want;
  if (lua_type(L, idx) != LUA_TTABLE) return 1;
  lua_getfield(L, idx, "raw_headers");
  want = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_pop(L, 1);
  return want;
}

/* Limits parsed once (core.http_limits), for parsers made by the
 * thousand: a server makes one per connection. */
typedef struct parsed_limits {
  eh_http_limits lim;
  int keep_raw;
} parsed_limits;

#define EH_HTTP_LIMITS_MT "eventlet.HttpLimits"

/* Read the limits at idx -- a table, core.http_limits' object, or none --
 * into lim (over the defaults), and whether headers_raw is wanted. */
static int read_limits(lua_State *L, int idx, eh_http_limits *lim) {
  if (lua_type(L, idx) == LUA_TUSERDATA) {
    const parsed_limits *pl = (const parsed_limits *)luaL_checkudata(L, idx, EH_HTTP_LIMITS_MT);
    *lim = pl->lim;
    return pl->keep_raw;
  }
  eh_http_default_limits(lim);
  eh_http_read_limits(L, idx, lim);
  return raw_wanted(L, idx);
}

/* http_limits(t) -> limits: the limits table t parsed once, for
 * http_parser to take instead of the table (reading a table's five
 * fields costs a parser more than the rest of its making).
 * [-0, +1, e] */
static int l_http_limits(lua_State *L) {
  parsed_limits *pl;
  eh_http_limits lim;
  int keep_raw = read_limits(L, 1, &lim);
  pl = (parsed_limits *)lua_newuserdatauv(L, sizeof *pl, 0);
  pl->lim = lim;
  pl->keep_raw = keep_raw;
  luaL_setmetatable(L, EH_HTTP_LIMITS_MT);
  return 1;
}

/* __tostring of a limits object.  [-0, +1, m] */
static int l_limits_tostring(lua_State *L) {
  const parsed_limits *pl = (const parsed_limits *)luaL_checkudata(L, 1, EH_HTTP_LIMITS_MT);
  lua_pushfstring(L, "HttpLimits (line %I, header line %I, head %I, headers %I, body %I)",
                  (lua_Integer)pl->lim.line, (lua_Integer)pl->lim.header_line,
                  (lua_Integer)pl->lim.header_size, (lua_Integer)pl->lim.headers,
                  (lua_Integer)(pl->lim.body > (uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER
                                                                         : (lua_Integer)pl->lim.body));
  return 1;
}

/* http_parser("request"|"response"[, limits[, mt]]) -> parser; limits is
 * a table or an http_limits object; mt, when given, becomes the metatable
 * of every message table; limits.raw_headers = false drops
 * msg.headers_raw.  [-0, +1, e] */
static int l_http_parser(lua_State *L) {
  static const char *const kinds[] = {"request", "response", NULL};
  int kind = luaL_checkoption(L, 1, NULL, kinds);
  eh_http_limits lim;
  eh_http *h;
  int keep_raw = read_limits(L, 2, &lim);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  h = (eh_http *)lua_newuserdatauv(L, sizeof *h, 1);
  eh_http_init(h, kind == 0 ? HTTP_REQUEST : HTTP_RESPONSE, &lim);
  h->keep_raw = keep_raw;
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, EH_HTTP_MT);
  return 1;
}

/* Give the message table on top the parser's message metatable. */
static void set_message_mt(lua_State *L, int parser) {
  if (lua_getiuservalue(L, parser, 1) == LUA_TTABLE) lua_setmetatable(L, -2);
  else lua_pop(L, 1);
}

/* parser:head(buf[, init[, skip_body]]) -> msg, nextpos | false (more
 * bytes needed; call again with the same head start) | nil, status,
 * reason.  skip_body: the response answers a HEAD.  [-0, +(1|2|3), e] */
static int l_parser_head(lua_State *L) {
  eh_http *h = check_parser(L, 1);
  size_t len, used = 0, init;
  const char *buf = luaL_checklstring(L, 2, &len);
  int r;
  init = check_init(L, 3, len);
  h->skip_body = lua_toboolean(L, 4);
  r = eh_http_head(L, h, buf + init, len - init, &used);
  if (r == EH_HTTP_ERROR) return eh_http_pusherror(L, h);
  if (r == EH_HTTP_MORE) {
    lua_pushboolean(L, 0);
    return 1;
  }
  set_message_mt(L, 1);
  lua_pushinteger(L, (lua_Integer)(init + used + 1));
  return 2;
}

/* parser:body(buf[, init]) -> data, nextpos, done | nil, status, reason:
 * decodes what buf holds of the body (chunked framing removed).
 * [-0, +3, e] */
static int l_parser_body(lua_State *L) {
  eh_http *h = check_parser(L, 1);
  size_t len, used = 0, init;
  const char *buf = luaL_checklstring(L, 2, &len);
  int r;
  init = check_init(L, 3, len);
  r = eh_http_body(L, h, buf + init, len - init, &used);
  if (r == EH_HTTP_ERROR) return eh_http_pusherror(L, h);
  lua_pushinteger(L, (lua_Integer)(init + used + 1));
  lua_pushboolean(L, r == EH_HTTP_DONE);
  return 3;
}

/* parser:finish() -> true | nil, status, reason: the peer closed; ends a
 * close-delimited body or reports a truncated message.  [-0, +(1|3), -] */
static int l_parser_finish(lua_State *L) {
  eh_http *h = check_parser(L, 1);
  if (h->phase != EH_HTTP_PHASE_BODY) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (llhttp_message_needs_eof(&h->p) && llhttp_finish(&h->p) == HPE_OK) {
    eh_http_restart(h);
    lua_pushboolean(L, 1);
    return 1;
  }
  h->status = 400;
  h->reason = "truncated body";
  return eh_http_pusherror(L, h);
}

/* parser:reset(): forget any message in progress (a new connection).
 * [-0, +0, -] */
static int l_parser_reset(lua_State *L) {
  eh_http *h = check_parser(L, 1);
  eh_http_restart(h);
  return 0;
}

/* parser:state() -> "head"|"body"|"upgraded".  [-0, +1, -] */
static int l_parser_state(lua_State *L) {
  static const char *const names[] = {"head", "body", "upgraded"};
  lua_pushstring(L, names[check_parser(L, 1)->phase]);
  return 1;
}

/* __tostring: "HttpParser (request, head): 0x...".  [-0, +1, m] */
static int l_parser_tostring(lua_State *L) {
  eh_http *h = check_parser(L, 1);
  static const char *const names[] = {"head", "body", "upgraded"};
  lua_pushfstring(L, "HttpParser (%s, %s): %p",
                  h->p.type == HTTP_REQUEST ? "request" : "response",
                  names[h->phase], (void *)h);
  return 1;
}

/* __close: nothing to free (llhttp keeps no heap state).  There is
 * deliberately no __gc: a finalizer would cost every connection a call
 * when its parser is collected (about 1,000 instructions: separating,
 * marking and calling it) to do nothing.  [-0, +0, v] */
static int l_parser_close(lua_State *L) {
  (void)check_parser(L, 1);
  return 0;
}

/* Parse a whole message in a string with a throwaway parser: head, then
 * as much body as the string holds.  [-0, +(2|3), e] */
static int parse_once(lua_State *L, llhttp_type_t type) {
  size_t len, used = 0, pos;
  const char *buf = luaL_checklstring(L, 1, &len);
  eh_http_limits lim;
  eh_http *h;
  int r;
  (void)read_limits(L, 2, &lim);
  h = (eh_http *)lua_newuserdatauv(L, sizeof *h, 0);   /* anchored scratch */
  eh_http_init(h, type, &lim);
  h->keep_raw = 1;
  h->skip_body = type == HTTP_RESPONSE && lua_toboolean(L, 3);
  r = eh_http_head(L, h, buf, len, &used);
  if (r == EH_HTTP_ERROR) return eh_http_pusherror(L, h);
  if (r == EH_HTTP_MORE) {
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushliteral(L, "incomplete");
    return 3;
  }
  pos = used;
  r = eh_http_body(L, h, buf + pos, len - pos, &used);
  if (r == EH_HTTP_ERROR) return eh_http_pusherror(L, h);
  if (r == EH_HTTP_MORE && !(type == HTTP_RESPONSE && llhttp_message_needs_eof(&h->p))) {
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushliteral(L, "incomplete");
    return 3;
  }
  lua_setfield(L, -2, "body");
  lua_pushinteger(L, (lua_Integer)(pos + used));
  return 2;
}

/* http_parse_request(bytes[, limits]) -> req, consumed | nil, status,
 * reason | nil, nil, "incomplete".  req.body holds the decoded body.
 * [-0, +(2|3), e] */
static int l_http_parse_request(lua_State *L) {
  return parse_once(L, HTTP_REQUEST);
}

/* http_parse_response(bytes[, limits[, head_request]]) -> res, consumed
 * | nil, status, reason | nil, nil, "incomplete"; a body without length
 * runs to the end of bytes.  [-0, +(2|3), e] */
static int l_http_parse_response(lua_State *L) {
  return parse_once(L, HTTP_RESPONSE);
}

/* Push the lowercase copy of the string key at idx (or the key as is). */
static void push_key(lua_State *L, int idx) {
  size_t n, i;
  const char *s;
  luaL_Buffer b;
  char *d;
  if (lua_type(L, idx) != LUA_TSTRING) {
    lua_pushvalue(L, idx);
    return;
  }
  s = lua_tolstring(L, idx, &n);
  d = luaL_buffinitsize(L, &b, n);
  for (i = 0; i < n; i++) d[i] = (char)tolower((unsigned char)s[i]);
  luaL_pushresultsize(&b, n);
}

/* headers[name]: lookup by lowercase name.  [-0, +1, m] */
static int l_headers_index(lua_State *L) {
  push_key(L, 2);
  lua_rawget(L, 1);
  return 1;
}

/* headers[name] = value: stored under the lowercase name.  [-0, +0, m] */
static int l_headers_newindex(lua_State *L) {
  push_key(L, 2);
  lua_pushvalue(L, 3);
  lua_rawset(L, 1);
  return 0;
}

static const luaL_Reg parser_methods[] = {
  {"head", l_parser_head}, {"body", l_parser_body}, {"finish", l_parser_finish},
  {"reset", l_parser_reset}, {"state", l_parser_state}, {NULL, NULL}};

/* Create the HttpParser and headers metatables.  [-0, +0, m] */
void eh_open_http(lua_State *L) {
  if (luaL_newmetatable(L, EH_HTTP_MT)) {
    luaL_newlib(L, parser_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_parser_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, l_parser_close);
    lua_setfield(L, -2, "__close");
  }
  eh_gethub(L)->parser_mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  if (luaL_newmetatable(L, EH_HTTP_LIMITS_MT)) {  /* no resources: no __gc */
    lua_pushcfunction(L, l_limits_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, EH_HTTP_HEADERS_MT)) {
    lua_pushcfunction(L, l_headers_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_headers_newindex);
    lua_setfield(L, -2, "__newindex");
  }
  lua_pop(L, 1);
}

const luaL_Reg eh_http_funcs[] = {
  {"http_parser", l_http_parser},
  {"http_parse_request", l_http_parse_request},
  {"http_parse_response", l_http_parse_response},
  {"http_limits", l_http_limits},
  {NULL, NULL}};
