/*
 * http_write.c -- the response head writer: status line, the caller's
 * headers, and the ones the server owes (Date, Server, Content-Length,
 * Connection, Transfer-Encoding), formatted in one pass into one buffer
 * so a response goes out in a single writev (http_sock.c) or string.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "http_write.h"

static char server_name[128] = "eventlet-lua";

/* The reason phrase of a status code ("Unknown" when we have none). */
const char *eh_http_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

/* The range of HTTP dates: four-digit years, 0001-01-01 to 9999-12-31. */
#define DATE_MIN (-62135596800.0)
#define DATE_MAX 253402300799.0

/* Format t as an RFC 1123 date into out (30 bytes incl. NUL), English
 * names whatever the locale; t is clamped to the four-digit years. */
void eh_http_format_date(time_t t, char out[30]) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  char tmp[96];
  if (t < (time_t)DATE_MIN) t = (time_t)DATE_MIN;   /* gmtime_r fails far out */
  if (t > (time_t)DATE_MAX) t = (time_t)DATE_MAX;
  gmtime_r(&t, &tm);
  snprintf(tmp, sizeof tmp, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  memcpy(out, tmp, 29);
  out[29] = '\0';
}

/* The Date header value for now, formatted once per second. */
static const char *date_at(double when) {
  static char cached[30];
  static time_t cached_at = -1;
  time_t now = (time_t)when;
  if (now != cached_at) {
    eh_http_format_date(now, cached);
    cached_at = now;
  }
  return cached;
}

/* ---- a growable byte buffer that never raises mid-table-walk ---- */

/* Grow b to hold n more bytes; 0 (and b->err set) when out of memory. */
static int hb_grow(eh_headbuf *b, size_t n) {
  char *p;
  size_t cap = b->cap * 2 > b->len + n ? b->cap * 2 : b->len + n + 256;
  p = b->p == b->stack ? malloc(cap) : realloc(b->p, cap);
  if (p == NULL) {
    if (!b->err) b->err = "out of memory";
    return 0;
  }
  if (b->p == b->stack) memcpy(p, b->stack, b->len);
  b->p = p;
  b->cap = cap;
  return 1;
}

/* Append n bytes (inline: a head is a dozen short appends, most of
 * them constants the compiler copies in place).  After an error the
 * buffer is only discarded, so appending on is harmless. */
static inline void hb_add(eh_headbuf *b, const char *s, size_t n) {
  if (b->len + n > b->cap && !hb_grow(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* Append a C string. */
static void hb_puts(eh_headbuf *b, const char *s) {
  hb_add(b, s, strlen(s));
}

/* Start an empty buffer on its built-in storage. */
void eh_headbuf_init(eh_headbuf *b) {
  b->p = b->stack;
  b->len = 0;
  b->cap = sizeof b->stack;
  b->err = NULL;
}

/* Release heap storage, if any. */
void eh_headbuf_free(eh_headbuf *b) {
  if (b->p != b->stack) free(b->p);
  b->p = b->stack;
}

/* ---- headers ---- */

/* Which header (by lowercase name) the server would otherwise add. */
static int header_bit(const char *name, size_t n) {
  if (n == 4 && strncasecmp(name, "date", 4) == 0) return EH_HW_HAS_DATE;
  if (n == 6 && strncasecmp(name, "server", 6) == 0) return EH_HW_HAS_SERVER;
  if (n == 10 && strncasecmp(name, "connection", 10) == 0) return EH_HW_HAS_CONNECTION;
  if (n == 14 && strncasecmp(name, "content-length", 14) == 0) return EH_HW_HAS_LENGTH;
  if (n == 17 && strncasecmp(name, "transfer-encoding", 17) == 0) return EH_HW_HAS_TE;
  return 0;
}

/* Append "name: value\r\n", refusing CR/LF (response splitting). */
static void add_header(eh_headbuf *b, const char *name, size_t nn, const char *value, size_t vn) {
  if (nn == 0 || memchr(name, '\r', nn) || memchr(name, '\n', nn) || memchr(name, ':', nn) ||
      memchr(value, '\r', vn) || memchr(value, '\n', vn)) {
    if (!b->err) b->err = "invalid header name or value (CR, LF or ':' in it)";
    return;
  }
  hb_add(b, name, nn);
  hb_add(b, ": ", 2);
  hb_add(b, value, vn);
  hb_add(b, "\r\n", 2);
}

/* Append one header whose value is at the top: a string, a number or a
 * list of them (one line each).  Returns the header's bit. */
static int add_value(lua_State *L, eh_headbuf *b, const char *name, size_t nn) {
  size_t vn;
  const char *v;
  lua_Integer i, n;
  if (lua_type(L, -1) == LUA_TTABLE) {
    n = (lua_Integer)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      v = lua_tolstring(L, -1, &vn);
      if (v) add_header(b, name, nn, v, vn);
      else if (!b->err) b->err = "header value must be a string or number";
      lua_pop(L, 1);
    }
  } else if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
    lua_pushvalue(L, -1);   /* tolstring on a copy: lua_next needs the original */
    v = lua_tolstring(L, -1, &vn);
    int close = header_bit(name, nn) == EH_HW_HAS_CONNECTION && strcasestr(v, "close");
    add_header(b, name, nn, v, vn);
    lua_pop(L, 1);
    if (close) return EH_HW_HAS_CONNECTION | EH_HW_USER_CLOSE;
  } else if (lua_type(L, -1) != LUA_TBOOLEAN || lua_toboolean(L, -1)) {
    if (!b->err) b->err = "header value must be a string or number";
  }
  return header_bit(name, nn);
}

/* Append the caller's headers (table at idx: name = value, or list
 * entries {name, value}); returns the EH_HW_HAS_* bits seen. */
static int add_headers(lua_State *L, eh_headbuf *b, int idx) {
  int seen = 0, bit;
  size_t nn;
  const char *name;
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      name = lua_tolstring(L, -2, &nn);
      bit = add_value(L, b, name, nn);
    } else if (lua_type(L, -1) == LUA_TTABLE) {   /* {name, value} */
      lua_rawgeti(L, -1, 1);
      name = lua_tolstring(L, -1, &nn);
      lua_rawgeti(L, -2, 2);
      bit = name ? add_value(L, b, name, nn) : 0;
      if (!name && !b->err) b->err = "header pair must be {name, value}";
      lua_pop(L, 2);
    } else {
      bit = 0;
    }
    seen |= bit;
    lua_pop(L, 1);
  }
  return seen;
}

/* The status code of the status at idx -- an integer from 100 to 999, or
 * a status line's tail ("404 Not Found": three digits, then a reason of
 * tabs and visible bytes) -- or 0 when it cannot go out. */
int eh_http_status_code(lua_State *L, int idx) {
  size_t n, i;
  const char *s;
  if (lua_type(L, idx) == LUA_TSTRING) {
    s = lua_tolstring(L, idx, &n);
    for (i = 0; i < 3; i++)
      if (i >= n || !isdigit((unsigned char)s[i])) goto bad;
    if (n > 3 && s[3] != ' ') goto bad;
    for (i = 3; i < n; i++)   /* CR or LF here would split the response */
      if ((unsigned char)s[i] < ' ' ? s[i] != '\t' : s[i] == 0x7f) goto bad;
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
  }
  if (lua_type(L, idx) == LUA_TNUMBER) {
    int exact;
    lua_Integer code = lua_tointegerx(L, idx, &exact);
    if (exact && code >= 100 && code <= 999) return (int)code;
  }
bad:
  return 0;
}

/* Format the head of a response into b: status line (a bare "404" gets
 * its standard reason, as 404 does), the headers at hidx, then what the
 * server owes.  bodylen < 0: no length known.
 * Returns the EH_HW_HAS_* / EH_HW_USER_CLOSE bits of the caller's headers
 * (and EH_HW_CLOSES when the connection is to end after it);
 * b->err is set when the status or the headers were invalid. */
int eh_http_build_head(lua_State *L, eh_headbuf *b, int status_idx, int hidx,
                       long long bodylen, int flags, double now) {
  char line[64];
  int seen, code = eh_http_status_code(L, status_idx);
  size_t n;
  if (code == 0) {
    b->err = "invalid status (not 100 to 999, nor \"NNN Reason\")";
    return 0;
  }
  if (lua_type(L, status_idx) == LUA_TSTRING && lua_rawlen(L, status_idx) > 3) {
    hb_puts(b, "HTTP/1.1 ");
    hb_puts(b, lua_tostring(L, status_idx));
    hb_add(b, "\r\n", 2);
  } else {
    memcpy(line, "HTTP/1.1 ", 9);
    n = 9 + eh_fmt_uint(line + 9, (unsigned long long)code);
    line[n++] = ' ';
    hb_add(b, line, n);
    hb_puts(b, eh_http_reason(code));
    hb_add(b, "\r\n", 2);
  }
  seen = add_headers(L, b, hidx);
  if (!(seen & EH_HW_HAS_SERVER) && server_name[0]) {
    hb_add(b, "Server: ", 8);
    hb_puts(b, server_name);
    hb_add(b, "\r\n", 2);
  }
  if (!(seen & EH_HW_HAS_DATE)) {
    hb_add(b, "Date: ", 6);
    hb_add(b, date_at(now), 29);
    hb_add(b, "\r\n", 2);
  }
  if (!(flags & EH_HW_NOLENGTH) && !(seen & (EH_HW_HAS_LENGTH | EH_HW_HAS_TE))) {
    if (flags & EH_HW_CHUNKED) {
      hb_puts(b, "Transfer-Encoding: chunked\r\n");
    } else if (bodylen >= 0) {
      memcpy(line, "Content-Length: ", 16);
      n = 16 + eh_fmt_uint(line + 16, (unsigned long long)bodylen);
      line[n++] = '\r';
      line[n++] = '\n';
      hb_add(b, line, n);
    }
  }
  if (!(seen & EH_HW_HAS_CONNECTION)) {
    if (flags & EH_HW_CLOSE) hb_puts(b, "Connection: close\r\n");
    else if (flags & EH_HW_KEEPALIVE) hb_puts(b, "Connection: keep-alive\r\n");
  }
  hb_add(b, "\r\n", 2);
  if ((flags & EH_HW_CLOSE) || (seen & EH_HW_USER_CLOSE)) seen |= EH_HW_CLOSES;
  return seen;
}

/* http_format(status, headers, body|nil[, flags]) -> bytes, seen: the
 * whole response as a string (no body bytes with the NOBODY flag), and
 * the bits of the caller's headers the server honoured.  [-0, +2, e] */
static int l_http_format(lua_State *L) {
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 3, NULL, &blen);
  int flags = (int)luaL_optinteger(L, 4, 0);
  eh_headbuf b;
  int seen;
  eh_headbuf_init(&b);
  seen = eh_http_build_head(L, &b, 1, 2, body ? (long long)blen : -1, flags,
                            ev_now(eh_gethub(L)->loop));
  if (body && !(flags & EH_HW_NOBODY)) hb_add(&b, body, blen);
  if (b.err) {
    const char *err = b.err;
    eh_headbuf_free(&b);
    return luaL_error(L, "http_format: %s", err);
  }
  lua_pushlstring(L, b.p, b.len);
  eh_headbuf_free(&b);
  lua_pushinteger(L, seen);
  return 2;
}

/* http_date([t]) -> RFC 1123 date of t (default: now).  [-0, +1, m] */
static int l_http_date(lua_State *L) {
  char out[30];
  double t;
  if (lua_isnoneornil(L, 1)) {
    lua_pushstring(L, date_at(ev_now(eh_gethub(L)->loop)));
    return 1;
  }
  t = luaL_checknumber(L, 1);
  if (!(t >= DATE_MIN)) t = DATE_MIN;   /* NaN too: no undefined cast */
  if (t > DATE_MAX) t = DATE_MAX;
  eh_http_format_date((time_t)t, out);
  lua_pushstring(L, out);
  return 1;
}

/* http_reason(status) -> the reason phrase.  [-0, +1, -] */
static int l_http_reason(lua_State *L) {
  lua_pushstring(L, eh_http_reason((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* http_server_name([name]) -> name: the Server header ("" for none).
 * [-0, +1, -] */
static int l_http_server_name(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_argcheck(L, n < sizeof server_name && !strpbrk(s, "\r\n"), 1, "invalid server name");
    memcpy(server_name, s, n + 1);
  }
  lua_pushstring(L, server_name);
  return 1;
}

const luaL_Reg eh_http_write_funcs[] = {
  {"http_format", l_http_format}, {"http_date", l_http_date},
  {"http_reason", l_http_reason}, {"http_server_name", l_http_server_name},
  {NULL, NULL}};
