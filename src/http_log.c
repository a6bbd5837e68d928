/*
 * http_log.c -- core.http_access_line(): an access-log line in the
 * combined format, plus the seconds the request took:
 *
 *   127.0.0.1 - - [22/Nov/2026:03:04:05 +0000] "GET / HTTP/1.1" 200 14 "-" "curl/8.5.0" 0.000113
 *
 * lua/eventlet/httpd/log.lua decides where the line goes; the line is
 * made here because a logging server makes one a request, and made in Lua
 * (string.format, gsub over three quoted fields, a date) it cost about
 * twice the rest of the request.  Bytes a client sent that could break
 * the line -- control bytes, '"' and '\' -- are written as \xNN, in the
 * quoted fields and in the client column (which X-Forwarded-For fills).
 */
#include <string.h>
#include <time.h>

#include "http.h"
#include "http_write.h"
#include "hub.h"

/* The log's time stamp for the second t ("06/Nov/1994:08:49:37 +0000"),
 * cut from the Date header's form and made once a second. */
static const char *stamp_at(time_t t) {
  static char stamp[27];
  static time_t stamp_t = -1;
  char date[30];              /* "Sun, 06 Nov 1994 08:49:37 GMT" */
  if (t != stamp_t) {
    eh_http_format_date(t, date);
    memcpy(stamp, date + 5, 2);
    stamp[2] = '/';
    memcpy(stamp + 3, date + 8, 3);
    stamp[6] = '/';
    memcpy(stamp + 7, date + 12, 4);
    stamp[11] = ':';
    memcpy(stamp + 12, date + 17, 8);
    memcpy(stamp + 20, " +0000", 7);
    stamp_t = t;
  }
  return stamp;
}

/* Whether byte c must be escaped in the log: a control byte, '"', '\'. */
static int needs_escape(unsigned char c) {
  return c < 0x20 || c == 0x7f || c == '"' || c == '\\';
}

/* Add s (n bytes) to b with the bytes needs_escape names as \xNN; with
 * skip_space, whitespace is left out (X-Forwarded-For's list). */
static void add_escaped(luaL_Buffer *b, const char *s, size_t n, int skip_space) {
  static const char hex[] = "0123456789abcdef";
  size_t i, from = 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int space = skip_space && (c == ' ' || (c >= '\t' && c <= '\r'));
    if (!space && !needs_escape(c)) continue;
    luaL_addlstring(b, s + from, i - from);
    from = i + 1;
    if (space) continue;
    luaL_addstring(b, "\\x");
    luaL_addchar(b, hex[c >> 4]);
    luaL_addchar(b, hex[c & 15]);
  }
  luaL_addlstring(b, s + from, n - from);
}

/* Add s (n bytes) to b quoted and escaped; "-" quoted for NULL. */
static void add_quoted(luaL_Buffer *b, const char *s, size_t n) {
  luaL_addchar(b, '"');
  if (s == NULL) luaL_addchar(b, '-');
  else add_escaped(b, s, n, 0);
  luaL_addchar(b, '"');
}

/* The string at idx (a number made one, in place, as "%s" writes it),
 * or NULL (with *n 0) for anything else.  [-0, +0, m] */
static const char *string_at(lua_State *L, int idx, size_t *n) {
  int t = lua_type(L, idx);
  *n = 0;
  return t == LUA_TSTRING || t == LUA_TNUMBER ? lua_tolstring(L, idx, n) : NULL;
}

/* The fields of a request the line shows, as push_fields pushes them:
 * offsets from the first. */
enum { F_ADDR, F_METHOD, F_PATH, F_VERSION, F_REFERER, F_AGENT, F_XFF };

/* Push the fields of req and its headers the line shows, in F_* order --
 * header values read raw by their lowercase names, as the parser stores
 * them (the headers' __index would lowercase each missing name again);
 * x-forwarded-for only with xff.  Returns the first's index.
 * [-0, +7, e] */
static int push_fields(lua_State *L, int req, int xff) {
  static const char *const fields[] = {"remote_addr", "method", "raw_path", "version"};
  static const char *const names[] = {"referer", "user-agent", "x-forwarded-for"};
  int i, headers, first = lua_gettop(L) + 1;
  for (i = 0; i < 4; i++) lua_getfield(L, req, fields[i]);
  lua_getfield(L, req, "headers");
  headers = lua_gettop(L);
  for (i = 0; i < 3; i++) {
    if (lua_type(L, headers) != LUA_TTABLE || (i == 2 && !xff)) {
      lua_pushnil(L);
    } else {
      lua_pushstring(L, names[i]);
      lua_rawget(L, headers);
    }
  }
  lua_remove(L, headers);
  return first;
}

/* Add the status column: an integer as it is, else the leading digits
 * of status as tostring() writes it ("404 Not Found" -> 404), else "-".
 * [-0, +0, e] */
static void add_status(lua_State *L, luaL_Buffer *b, int idx) {
  char digits[24];
  size_t n = 0, len;
  const char *s;
  if (lua_isinteger(L, idx) && lua_tointeger(L, idx) >= 0) {
    luaL_addlstring(b, digits, eh_fmt_uint(digits, (unsigned long long)lua_tointeger(L, idx)));
    return;
  }
  s = luaL_tolstring(L, idx, &len);
  while (n < len && s[n] >= '0' && s[n] <= '9') n++;
  if (n == 0) {
    lua_pop(L, 1);
    luaL_addchar(b, '-');
    return;
  }
  lua_pushlstring(L, s, n);
  lua_remove(L, -2);
  luaL_addvalue(b);   /* (the one buffer call made with a value on top) */
}

/* Add the bytes column and the spaces around it: an integer, 0 for
 * anything else. */
static void add_bytes(lua_State *L, luaL_Buffer *b, int idx) {
  char num[32];
  lua_Integer bytes = lua_tointeger(L, idx);
  size_t n = 1;
  num[0] = ' ';
  if (bytes < 0) num[n++] = '-';
  n += eh_fmt_uint(num + n, bytes < 0 ? 0 - (unsigned long long)bytes : (unsigned long long)bytes);
  num[n++] = ' ';
  luaL_addlstring(b, num, n);
}

/* Add seconds as "%.6f" would, without its cost, for the common
 * figure: a clock difference from 0 to 100 s whose millionths are not a
 * hair from a half (there only the exact binary value decides, as printf
 * rounds it; below 100 s the multiply errs by far less than the hair).
 * Returns 0, adding nothing, for any other figure. */
static int add_common_seconds(luaL_Buffer *b, double seconds) {
  char num[32];
  double us = seconds * 1e6, frac;
  unsigned long long whole;
  size_t n;
  int i;
  if (!(seconds >= 0 && seconds < 100)) return 0;
  whole = (unsigned long long)us;
  frac = us - (double)whole;
  if (frac > 0.499999 && frac < 0.500001) return 0;
  whole += frac > 0.5;
  n = eh_fmt_uint(num, whole / 1000000);
  num[n++] = '.';
  for (i = 5; i >= 0; i--, whole /= 10) num[n + (size_t)i] = (char)('0' + whole % 10);
  luaL_addlstring(b, num, n + 6);
  return 1;
}

/* Add seconds as "%.6f" writes them ("0.000113"). */
static void add_seconds(luaL_Buffer *b, double seconds) {
  char num[400];   /* "%.6f" of the largest double: 309 digits and 7 more */
  int n;
  if (add_common_seconds(b, seconds)) return;
  n = snprintf(num, sizeof num, "%.6f", seconds);
  if (n > 0) luaL_addlstring(b, num, (size_t)n < sizeof num ? (size_t)n : sizeof num - 1);
}

/* Add the client column: the peer, after X-Forwarded-For without its
 * whitespace and a comma when there is one; "-" for no peer. */
static void add_client(lua_State *L, luaL_Buffer *b, int f) {
  size_t n;
  const char *s = string_at(L, f + F_XFF, &n);
  if (s != NULL) {
    add_escaped(b, s, n, 1);
    luaL_addchar(b, ',');
  }
  s = string_at(L, f + F_ADDR, &n);
  if (s == NULL) luaL_addchar(b, '-');
  else add_escaped(b, s, n, 0);
}

/* Add the request line, quoted: "GET /path HTTP/1.1" as received, or
 * "-" for a request with no method (one rejected before its line). */
static void add_request_line(lua_State *L, luaL_Buffer *b, int f) {
  size_t n;
  const char *s = string_at(L, f + F_METHOD, &n);
  luaL_addchar(b, '"');
  if (s == NULL) {
    luaL_addchar(b, '-');
  } else {
    add_escaped(b, s, n, 0);
    luaL_addchar(b, ' ');
    s = string_at(L, f + F_PATH, &n);
    add_escaped(b, s ? s : "", n, 0);
    luaL_addlstring(b, " HTTP/", 6);
    s = string_at(L, f + F_VERSION, &n);
    add_escaped(b, s ? s : "", n, 0);
  }
  luaL_addchar(b, '"');
}

/* Add a header's value, quoted: "-" for none. */
static void add_header(lua_State *L, luaL_Buffer *b, int idx) {
  size_t n;
  const char *s = string_at(L, idx, &n);
  add_quoted(b, s, n);
}

/* Push the access-log line for the request at req answered with the
 * status and bytes at those indices, begun at the clock at started (see
 * core.http_access_line), ending in a newline with nl.  [-0, +1, e] */
static void push_access_line(lua_State *L, int req, int status, int bytes, int started, int xff,
                             int nl) {
  luaL_Buffer b;
  double now = ev_time();
  int f;
  luaL_checkstack(L, 16, "http_access_line");
  f = push_fields(L, req, xff);
  luaL_buffinit(L, &b);
  add_client(L, &b, f);
  luaL_addlstring(&b, " - - [", 6);
  luaL_addlstring(&b, stamp_at((time_t)now), 26);
  luaL_addlstring(&b, "] ", 2);
  add_request_line(L, &b, f);
  luaL_addchar(&b, ' ');
  add_status(L, &b, status);
  add_bytes(L, &b, bytes);
  add_header(L, &b, f + F_REFERER);
  luaL_addchar(&b, ' ');
  add_header(L, &b, f + F_AGENT);
  luaL_addchar(&b, ' ');
  add_seconds(&b, lua_type(L, started) == LUA_TNUMBER ? now - lua_tonumber(L, started) : 0.0);
  if (nl) luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  lua_replace(L, f);
  lua_settop(L, f);
}

/* core.http_access_line(req, status, bytes, started[, xff]) -> the
 * access-log line (no newline) for req answered with status and bytes
 * (anything but an integer: 0), begun at started (core.now() then; the
 * line ends with the seconds since, by core.time(); 0 without it).  With
 * xff, the client column is the request's X-Forwarded-For without
 * whitespace, a comma, then the peer.  req may lack any field ("-"
 * stands in).  [-5, +1, e] */
static int l_http_access_line(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 5);
  push_access_line(L, 1, 2, 3, 4, lua_toboolean(L, 5), 0);
  return 1;
}

/* Write the access-log line of the request at req (res: its response
 * object; started: the clock when it began) to the Lua file at log, in
 * one write as the line's last byte is its newline; 0 if log is not an
 * open Lua file (the caller writes through Lua).  Errors writing are
 * ignored, as log.write ignores file:write's.  [-0, +0, e] */
int eh_http_log_to_file(lua_State *L, int log, int req, int res, int started, int xff) {
  luaL_Stream *file = (luaL_Stream *)luaL_testudata(L, log, LUA_FILEHANDLE);
  size_t n;
  const char *line;
  if (file == NULL || file->closef == NULL) return 0;
  lua_getfield(L, res, "status");
  lua_getfield(L, res, "bytes");
  push_access_line(L, req, lua_gettop(L) - 1, lua_gettop(L), started, xff, 1);
  line = lua_tolstring(L, -1, &n);
  (void)fwrite(line, 1, n, file->f);
  lua_pop(L, 3);
  return 1;
}

/* core.http_log_to_file(log, req, res, started[, xff]) -> whether log
 * is an open Lua file, to which the request's access-log line then went
 * with its newline in one write (eh_http_log_to_file).  [-5, +1, e] */
static int l_http_log_to_file(lua_State *L) {
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 5);
  lua_pushboolean(L, eh_http_log_to_file(L, 1, 2, 3, 4, lua_toboolean(L, 5)));
  return 1;
}

const luaL_Reg eh_http_log_funcs[] = {
  {"http_access_line", l_http_access_line},
  {"http_log_to_file", l_http_log_to_file},
  {NULL, NULL}};
