/*
 * http.c -- the llhttp binding: HTTP/1.x heads into Lua tables, bodies
 * decoded piece by piece, limits enforced before llhttp sees a byte.
 *
 * A head is parsed only once it is complete in the buffer: scan_head()
 * walks it line by line (incrementally, so a slow client costs O(n)),
 * enforcing the line, size and count limits and rejecting what llhttp's
 * lenient build would let through -- bare LF line ends and obs-fold --
 * then llhttp runs over the whole head in one execute, its callbacks
 * filling the message table directly.  llhttp pauses at the end of the
 * head and again at the end of the message, so bytes of a pipelined
 * request never get eaten.
 */
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <strings.h>

#include "http.h"
#include "http_write.h"
#include "socket.h"

#define DEFAULT_LINE 8192
#define DEFAULT_HEADER_SIZE 65536
#define DEFAULT_HEADERS 100

/* Bytes allowed in a header field name (RFC 9110 tchar). */
static const char tchar[256] = {
  ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
  ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
  ['~'] = 1,
  ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
  ['7'] = 1, ['8'] = 1, ['9'] = 1,
  ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
  ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
  ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
  ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
  ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
  ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
  ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
  ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1};

/* ---- interned field names: the hot path never hashes a C string ---- */

static const char *const key_names[EH_HTTP_K_COUNT] = {
  NULL, "raw_path", "absolute_uri", "path", "query", "version", "method", "status",
  "reason", "keep_alive", "content_length", "chunked", "upgrade", "headers_raw",
  "headers", "has_body"};
static const char keys_key = 0;   /* its address keys the registry entry */

/* Header names most requests and responses carry, lowercase and by
 * length, interned in the keys table with the field names: storing one
 * costs a table read instead of lowercasing and hashing the name. */
static const char *const header_names[] = {
  "age", "date", "etag", "host", "vary", "range", "accept", "cookie", "expect",
  "origin", "pragma", "server", "expires", "referer", "upgrade", "location",
  "x-real-ip", "connection", "keep-alive", "set-cookie", "user-agent",
  "content-type", "accept-ranges", "authorization", "cache-control", "if-none-match",
  "last-modified", "content-length", "sec-fetch-dest", "sec-fetch-mode",
  "sec-fetch-site", "sec-fetch-user", "accept-encoding", "accept-language",
  "x-forwarded-for", "content-encoding", "x-forwarded-host", "x-forwarded-proto",
  "if-modified-since", "transfer-encoding", "upgrade-insecure-requests"};
#define HEADER_NAMES ((int)(sizeof header_names / sizeof header_names[0]))
#define LONGEST_NAME 25    /* upgrade-insecure-requests */

/* Where the names of each length start in header_names (one past the
 * last name for lengths with none: an empty run). */
static unsigned char names_from[LONGEST_NAME + 2];

/* header_names' indexes of the fields the parser acts on itself. */
static int name_host, name_cookie, name_expect;

/* header_names' index of name (one of them). */
static int index_of(const char *name) {
  int i;
  for (i = 0; strcmp(header_names[i], name) != 0; i++) {}
  return i;
}

/* Fill names_from and the name_* indexes (the same every time: any state
 * may do it first). */
static void index_header_names(void) {
  int n, i = 0;
  for (n = 0; n <= LONGEST_NAME + 1; n++) {
    while (i < HEADER_NAMES && strlen(header_names[i]) < (size_t)n) i++;
    names_from[n] = (unsigned char)i;
  }
  name_host = index_of("host");
  name_cookie = index_of("cookie");
  name_expect = index_of("expect");
}

/* header_names' index of the header name s[0..n) in any case, or -1. */
static int known_header(const char *s, size_t n) {
  int i, end;
  unsigned char first;
  if (n == 0 || n > LONGEST_NAME) return -1;
  first = (unsigned char)tolower((unsigned char)s[0]);
  for (i = names_from[n], end = names_from[n + 1]; i < end; i++)
    if ((unsigned char)header_names[i][0] == first && strncasecmp(s, header_names[i], n) == 0 &&
        header_names[i][n] == '\0')   /* (a name out of length order misses, never mis-keys) */
      return i;
  return -1;
}

/* Push the table of interned field names (and cached metatables),
 * creating it on first use in this state.  [-0, +1, m] */
void eh_http_push_keys(lua_State *L) {
  int i;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &keys_key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, EH_HTTP_K_HEADER_NAMES + HEADER_NAMES, 0);
  for (i = 1; i < EH_HTTP_K_COUNT; i++) {
    lua_pushstring(L, key_names[i]);
    lua_rawseti(L, -2, i);
  }
  index_header_names();
  for (i = 0; i < HEADER_NAMES; i++) {
    lua_pushstring(L, header_names[i]);
    lua_rawseti(L, -2, EH_HTTP_K_HEADER_NAMES + i);
  }
  luaL_getmetatable(L, EH_HTTP_HEADERS_MT);
  lua_rawseti(L, -2, EH_HTTP_K_HEADERS_MT);
  lua_pushliteral(L, "1.0");
  lua_rawseti(L, -2, EH_HTTP_K_V10);
  lua_pushliteral(L, "1.1");
  lua_rawseti(L, -2, EH_HTTP_K_V11);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &keys_key);
}

/* Push the interned name of message field key from the keys table at
 * kidx; its value goes above it, then lua_rawset stores the pair (key
 * before value: no rotation of the stack).  [-0, +1, -] */
static void push_key(lua_State *L, int kidx, int key) {
  lua_rawgeti(L, kidx, key);
}

/* Fill lim with the defaults: 8 KiB lines, 64 KiB heads, 100 headers,
 * unlimited bodies (servers set their own). */
void eh_http_default_limits(eh_http_limits *lim) {
  lim->line = DEFAULT_LINE;
  lim->header_line = DEFAULT_LINE;
  lim->header_size = DEFAULT_HEADER_SIZE;
  lim->headers = DEFAULT_HEADERS;
  lim->body = UINT64_MAX;
}

/* Read one positive limit field of the table at idx into *out. */
static void read_limit(lua_State *L, int idx, const char *name, uint64_t *out) {
  int isnum;
  lua_Integer v;
  if (lua_getfield(L, idx, name) != LUA_TNIL) {
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum || v < 0) luaL_error(L, "limit %s must be a non-negative integer", name);
    *out = (uint64_t)v;
  }
  lua_pop(L, 1);
}

/* Read limits from the table at idx (missing fields keep their value):
 * max_request_line, max_header_line, max_header_size, max_headers,
 * max_body. */
void eh_http_read_limits(lua_State *L, int idx, eh_http_limits *lim) {
  uint64_t v[5] = {lim->line, lim->header_line, lim->header_size, lim->headers, lim->body};
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  read_limit(L, idx, "max_request_line", &v[0]);
  read_limit(L, idx, "max_header_line", &v[1]);
  read_limit(L, idx, "max_header_size", &v[2]);
  read_limit(L, idx, "max_headers", &v[3]);
  read_limit(L, idx, "max_body", &v[4]);
  lim->line = (size_t)v[0];
  lim->header_line = (size_t)v[1];
  lim->header_size = (size_t)v[2];
  lim->headers = (size_t)v[3];
  lim->body = v[4];
}

/* Record an error to answer with `status` and stop the parse. */
static int fail(eh_http *h, int status, const char *reason) {
  h->status = status;
  h->reason = reason;
  return EH_HTTP_ERROR;
}

/* Reset the per-message state (between messages on one connection). */
static void reset_message(eh_http *h) {
  h->scanned = h->line_start = h->nlines = 0;
  h->hosts = 0;
  h->body_seen = 0;
  h->phase = EH_HTTP_PHASE_HEAD;
}

/* ---- the head scan: limits, bare LF, obs-fold ---- */

/* Check the length of the line being scanned (len bytes so far). */
static int check_line(eh_http *h, size_t len) {
  if (h->nlines == 0) {
    if (len > h->lim.line)
      return fail(h, h->p.type == HTTP_REQUEST ? 414 : 400,
                  h->p.type == HTTP_REQUEST ? "request line too long" : "status line too long");
  } else if (len > h->lim.header_line) {
    return fail(h, 431, "header line too long");
  }
  return EH_HTTP_MORE;
}

/* Walk the head in buf[0..len) from where the last call stopped; DONE
 * with *headlen set once the empty line ending it is found. */
static int scan_head(eh_http *h, const char *buf, size_t len, size_t *headlen) {
  size_t i = h->scanned;
  while (i < len) {
    const char *nl = (const char *)memchr(buf + i, '\n', len - i);
    size_t end, linelen;
    if (nl == NULL) break;
    end = (size_t)(nl - buf);
    if (end == h->line_start || buf[end - 1] != '\r')
      return fail(h, 400, "bare LF in head");
    linelen = end - 1 - h->line_start;
    if (check_line(h, linelen) == EH_HTTP_ERROR) return EH_HTTP_ERROR;
    if (end + 1 > h->lim.header_size) return fail(h, 431, "request header fields too large");
    if (linelen == 0) {
      *headlen = end + 1;
      return EH_HTTP_DONE;
    }
    if (h->nlines > 0 && (buf[h->line_start] == ' ' || buf[h->line_start] == '\t'))
      return fail(h, 400, "obsolete line folding in header");
    if (h->nlines++ > h->lim.headers) return fail(h, 431, "too many header fields");
    h->line_start = i = end + 1;
  }
  h->scanned = len;
  if (check_line(h, len - h->line_start) == EH_HTTP_ERROR) return EH_HTTP_ERROR;
  if (len > h->lim.header_size) return fail(h, 431, "request header fields too large");
  return EH_HTTP_MORE;
}

/* ---- llhttp callbacks ---- */

/* Remember the request target (one span: the head is whole). */
static int on_url(llhttp_t *p, const char *at, size_t n) {
  eh_http *h = (eh_http *)p->data;
  if (h->url == NULL) h->url = at;
  h->url_len = (size_t)(at + n - h->url);
  return 0;
}

/* Remember a header field name; only tokens are accepted. */
static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  eh_http *h = (eh_http *)p->data;
  size_t i;
  for (i = 0; i < n; i++)
    if (!tchar[(unsigned char)at[i]]) {
      fail(h, 400, "invalid header field name");
      return -1;
    }
  if (h->phase != EH_HTTP_PHASE_HEAD) {  /* a trailer: counted, dropped */
    h->body_seen += n;
    return h->body_seen > h->lim.body ? -1 : 0;
  }
  if (h->field == NULL) h->field = at;
  h->field_len = (size_t)(at + n - h->field);
  return 0;
}

/* Remember a header value span. */
static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  eh_http *h = (eh_http *)p->data;
  if (h->phase != EH_HTTP_PHASE_HEAD) {
    h->body_seen += n;
    return h->body_seen > h->lim.body ? -1 : 0;
  }
  if (h->value == NULL) h->value = at;
  h->value_len = (size_t)(at + n - h->value);
  return 0;
}

/* Push the lowercase form of a header name.  [-0, +1, m] */
static void push_lower(lua_State *L, const char *s, size_t n) {
  char small[64];
  luaL_Buffer b;
  char *d = n <= sizeof small ? small : luaL_buffinitsize(L, &b, n);
  size_t i;
  for (i = 0; i < n; i++) d[i] = (char)tolower((unsigned char)s[i]);
  if (d == small) lua_pushlstring(L, small, n);
  else luaL_pushresultsize(&b, n);
}

/* Push the lowercase name of the header field just read: interned
 * already when it is a common one (name: its known_header index). */
static void push_name(lua_State *L, eh_http *h, int name) {
  if (name >= 0) lua_rawgeti(L, h->keys_idx, EH_HTTP_K_HEADER_NAMES + name);
  else push_lower(L, h->field, h->field_len);
}

/* Note an Expect field of vlen bytes: "100-continue" (any case) alone is
 * the one expectation a server can meet (RFC 9110 10.1.1). */
static void note_expect(eh_http *h, size_t vlen) {
  int only_continue = h->expect_seen == 0 && vlen == 12 &&
                      strncasecmp(h->value, "100-continue", 12) == 0;
  h->expect_seen = only_continue ? 1 : 2;
}

/* Store a complete field: raw pair appended, value set or joined
 * (", " per RFC 9110; "; " for Cookie) under the lowercase name. */
static int on_header_value_complete(llhttp_t *p) {
  eh_http *h = (eh_http *)p->data;
  lua_State *L = h->L;
  size_t vlen = h->value_len;
  int name;
  if (h->phase != EH_HTTP_PHASE_HEAD) return 0;
  if (h->field_len == 0) {   /* ": value" (lenient llhttp lets it through) */
    fail(h, 400, "invalid header field name");
    return -1;
  }
  name = known_header(h->field, h->field_len);
  if (p->type == HTTP_REQUEST && name == name_host && h->hosts++ > 0) {
    fail(h, 400, "more than one Host header");  /* RFC 9112 3.2 */
    return -1;
  }
  while (vlen > 0 && (h->value[vlen - 1] == ' ' || h->value[vlen - 1] == '\t')) vlen--;
  if (p->type == HTTP_REQUEST && name == name_expect) note_expect(h, vlen);
  lua_pushlstring(L, h->value ? h->value : "", vlen);
  if (h->raw_idx) {
    lua_pushlstring(L, h->field, h->field_len);
    lua_rawseti(L, h->raw_idx, ++h->nraw);
    lua_pushvalue(L, -1);
    lua_rawseti(L, h->raw_idx, ++h->nraw);
  }
  push_name(L, h, name);                                  /* value key */
  lua_pushvalue(L, -1);
  if (lua_rawget(L, h->headers_idx) == LUA_TSTRING) {     /* value key old */
    lua_pushstring(L, name == name_cookie ? "; " : ", ");
    lua_pushvalue(L, -4);
    lua_concat(L, 3);                                     /* value key joined */
  } else {
    lua_pop(L, 1);                                        /* value key */
    lua_pushvalue(L, -2);                                 /* value key value */
  }
  lua_rawset(L, h->headers_idx);                          /* value */
  lua_pop(L, 1);
  h->field = h->value = NULL;
  h->field_len = h->value_len = 0;
  return 0;
}

/* End of the head: refuse an HTTP/1.1 request without Host (RFC 9112
 * 3.2), else pause so the caller gets control with the parser standing
 * at the first body byte. */
static int on_headers_complete(llhttp_t *p) {
  eh_http *h = (eh_http *)p->data;
  if (h->phase != EH_HTTP_PHASE_HEAD) return 0;
  if (p->type == HTTP_REQUEST && p->http_major == 1 && p->http_minor == 1 &&
      h->hosts == 0) {
    fail(h, 400, "missing Host header");
    return -1;
  }
  return h->skip_body ? 1 : HPE_PAUSED;
}

/* Collect a body span: the first one as a pointer, more in a buffer. */
static int on_body(llhttp_t *p, const char *at, size_t n) {
  eh_http *h = (eh_http *)p->data;
  h->body_seen += n;
  if (h->body_seen > h->lim.body) {
    fail(h, 413, "request body too large");
    return -1;
  }
  if (h->span == NULL && h->bb == NULL) {
    h->span = at;
    h->span_len = n;
  } else {
    if (h->bb == NULL) return -1;  /* no buffer: cannot happen in body() */
    if (h->span) {
      luaL_addlstring(h->bb, h->span, h->span_len);
      h->span = NULL;
    }
    luaL_addlstring(h->bb, at, n);
  }
  return 0;
}

/* A chunk announcing more than max_body allows is refused at its size
 * line, before its bytes arrive. */
static int on_chunk_header(llhttp_t *p) {
  eh_http *h = (eh_http *)p->data;
  if (h->body_seen > h->lim.body || p->content_length > h->lim.body - h->body_seen) {
    fail(h, 413, "request body too large");
    return -1;
  }
  return 0;
}

/* End of the message: pause so what follows stays unread. */
static int on_message_complete(llhttp_t *p) {
  eh_http *h = (eh_http *)p->data;
  h->complete = 1;
  return HPE_PAUSED;
}

static llhttp_settings_t settings = {
  .on_url = on_url,
  .on_status = on_url,           /* the reason phrase, for responses */
  .on_header_field = on_header_field,
  .on_header_value = on_header_value,
  .on_header_value_complete = on_header_value_complete,
  .on_headers_complete = on_headers_complete,
  .on_body = on_body,
  .on_chunk_header = on_chunk_header,
  .on_message_complete = on_message_complete,
};

/* Initialise a parser record of the given llhttp type. */
void eh_http_init(eh_http *h, llhttp_type_t type, const eh_http_limits *lim) {
  memset(h, 0, sizeof *h);
  llhttp_init(&h->p, type, &settings);
  h->p.data = h;
  h->lim = *lim;
  reset_message(h);
}

/* Start over (a new connection, or after a close-delimited body), keeping
 * the type, limits and options. */
void eh_http_restart(eh_http *h) {
  eh_http_limits lim = h->lim;
  int keep_raw = h->keep_raw;
  eh_http_init(h, (llhttp_type_t)h->p.type, &lim);
  h->keep_raw = keep_raw;
}

/* ---- the message table ---- */

/* Push a percent-decoded copy of s[0..n); NULL-free (a %00 fails). */
static int push_decoded(lua_State *L, const char *s, size_t n) {
  luaL_Buffer b;
  size_t i;
  if (memchr(s, '%', n) == NULL) {
    lua_pushlstring(L, s, n);
    return 1;
  }
  luaL_buffinitsize(L, &b, n);
  for (i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
        isxdigit((unsigned char)s[i + 2])) {
      char hex[3] = {s[i + 1], s[i + 2], 0};
      char c = (char)strtol(hex, NULL, 16);
      if (c == '\0') { luaL_pushresult(&b); lua_pop(L, 1); return 0; }
      luaL_addchar(&b, c);
      i += 2;
    } else {
      luaL_addchar(&b, s[i]);
    }
  }
  luaL_pushresult(&b);
  return 1;
}

/* Set path (decoded), raw_path and query from the request target.  A
 * target that is a plain path (no query, no escapes: most are) gives path
 * and raw_path one string. */
static int set_target(lua_State *L, eh_http *h, int msg) {
  const char *u = h->url, *q, *hash, *path = u;
  size_t n = h->url_len, plen;
  int k = h->keys_idx, raw;
  if (u == NULL) return fail(h, 400, "missing request target");
  for (plen = 0; plen < n; plen++)   /* lenient llhttp takes TAB and FF */
    if ((unsigned char)u[plen] <= ' ' || u[plen] == 0x7f)
      return fail(h, 400, "invalid byte in request target");
  lua_pushlstring(L, u, n);
  raw = lua_gettop(L);
  push_key(L, k, EH_HTTP_K_RAW_PATH);
  lua_pushvalue(L, raw);
  lua_rawset(L, msg);
  if (n > 7 && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0)) {
    const char *slash = (const char *)memchr(u + 8, '/', n - 8);
    push_key(L, k, EH_HTTP_K_ABSOLUTE_URI);
    lua_pushvalue(L, raw);
    lua_rawset(L, msg);
    path = slash ? slash : "/";
    n = slash ? n - (size_t)(slash - u) : 1;
  }
  hash = (const char *)memchr(path, '#', n);
  if (hash) n = (size_t)(hash - path);
  q = (const char *)memchr(path, '?', n);
  plen = q ? (size_t)(q - path) : n;
  push_key(L, k, EH_HTTP_K_PATH);
  if (path == u && plen == h->url_len && memchr(path, '%', plen) == NULL)
    lua_pushvalue(L, raw);
  else if (!push_decoded(L, path, plen))
    return fail(h, 400, "NUL byte in request path");
  lua_rawset(L, msg);
  if (q) {
    push_key(L, k, EH_HTTP_K_QUERY);
    lua_pushlstring(L, q + 1, n - plen - 1);
    lua_rawset(L, msg);
  }
  lua_pop(L, 1);   /* the target */
  return EH_HTTP_DONE;
}

/* Push the name of llhttp method m, interned once in the keys table. */
static void push_method(lua_State *L, int kidx, int m) {
  if (lua_rawgeti(L, kidx, EH_HTTP_K_METHODS + m) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushstring(L, llhttp_method_name((llhttp_method_t)m));
    lua_pushvalue(L, -1);
    lua_rawseti(L, kidx, EH_HTTP_K_METHODS + m);
  }
}

/* Note how the request just headed wants its response framed: closed
 * or kept alive (HTTP/1.0 says so out loud), and without body bytes for
 * HEAD.  eh_http_reply_flags reads it back. */
static void remember_reply(eh_http *h, int keep_alive) {
  llhttp_t *p = &h->p;
  h->reply_base = !keep_alive ? EH_HW_CLOSE : p->http_minor == 0 ? EH_HW_KEEPALIVE : 0;
  if (p->method == HTTP_HEAD) h->reply_base |= EH_HW_NOBODY;
}

/* The framing flags (http_write.h) of a response with status code to the
 * last request headed, closing the connection when close is set or the
 * request asked for it: the one place that decides them. */
int eh_http_reply_flags(const eh_http *h, int code, int close) {
  int base = h->reply_base;
  int f = close || (base & EH_HW_CLOSE) ? EH_HW_CLOSE : base & EH_HW_KEEPALIVE;
  if (code < 200 || code == 204 || code == 304) return f | EH_HW_NOBODY | EH_HW_NOLENGTH;
  return f | (base & EH_HW_NOBODY);
}

/* Whether the message just headed carries a body to read. */
static int has_body(const eh_http *h) {
  const llhttp_t *p = &h->p;
  if (h->skip_body) return 0;
  if (p->flags & F_CHUNKED) return 1;
  if (p->flags & F_CONTENT_LENGTH) return p->content_length > 0;
  if (p->type == HTTP_RESPONSE) return llhttp_message_needs_eof(p);
  return 0;
}

/* What a request's Expect field asks of the server, decided with the
 * head complete: 100 (send "100 Continue" before reading its body), 417
 * (an expectation it cannot meet) or 0 -- also for HTTP/1.0, whose
 * expectations are ignored, and for 100-continue without a body. */
static int decide_expect(const eh_http *h) {
  if (h->expect_seen == 0 || h->p.http_major != 1 || h->p.http_minor != 1) return 0;
  if (h->expect_seen == 2) return 417;
  return has_body(h) ? 100 : 0;
}

/* Fill the message fields llhttp learnt from the head. */
static int set_fields(lua_State *L, eh_http *h, int msg) {
  llhttp_t *p = &h->p;
  int chunked = (p->flags & F_CHUNKED) != 0;
  int has_length = (p->flags & F_CONTENT_LENGTH) != 0;
  int k = h->keys_idx, keep_alive;
  push_key(L, k, EH_HTTP_K_VERSION);
  if (p->http_major == 1 && p->http_minor == 1) lua_rawgeti(L, k, EH_HTTP_K_V11);
  else if (p->http_major == 1 && p->http_minor == 0) lua_rawgeti(L, k, EH_HTTP_K_V10);
  else lua_pushfstring(L, "%d.%d", (int)p->http_major, (int)p->http_minor);
  lua_rawset(L, msg);
  if (p->type == HTTP_REQUEST) {
    if (p->http_major != 1) return fail(h, 505, "HTTP version not supported");
    push_key(L, k, EH_HTTP_K_METHOD);
    push_method(L, k, p->method);
    lua_rawset(L, msg);
    if (set_target(L, h, msg) == EH_HTTP_ERROR) return EH_HTTP_ERROR;
    if ((p->flags & F_TRANSFER_ENCODING) && !chunked)
      return fail(h, 400, "request Transfer-Encoding must end in chunked");
    if (has_length && p->content_length > h->lim.body)
      return fail(h, 413, "request body too large");
    h->expect = decide_expect(h);
  } else {
    push_key(L, k, EH_HTTP_K_STATUS);
    lua_pushinteger(L, p->status_code);
    lua_rawset(L, msg);
    push_key(L, k, EH_HTTP_K_REASON);
    lua_pushlstring(L, h->url ? h->url : "", h->url ? h->url_len : 0);
    lua_rawset(L, msg);
  }
  keep_alive = llhttp_should_keep_alive(p);
  if (p->type == HTTP_REQUEST) remember_reply(h, keep_alive);
  push_key(L, k, EH_HTTP_K_KEEP_ALIVE);
  lua_pushboolean(L, keep_alive);
  lua_rawset(L, msg);
  if (has_length) {
    push_key(L, k, EH_HTTP_K_CONTENT_LENGTH);
    lua_pushinteger(L, (lua_Integer)p->content_length);
    lua_rawset(L, msg);
  }
  if (chunked) {
    push_key(L, k, EH_HTTP_K_CHUNKED);
    lua_pushboolean(L, 1);
    lua_rawset(L, msg);
  }
  if (p->upgrade) {
    push_key(L, k, EH_HTTP_K_UPGRADE);
    lua_pushboolean(L, 1);
    lua_rawset(L, msg);
  }
  push_key(L, k, EH_HTTP_K_HAS_BODY);   /* false said too: a server's check stays in the table */
  lua_pushboolean(L, has_body(h));
  lua_rawset(L, msg);
  return EH_HTTP_DONE;
}

/* Translate an llhttp error into status 400 with its reason. */
static int llhttp_failure(eh_http *h, llhttp_errno_t err) {
  if (h->status) return EH_HTTP_ERROR;
  if (err == HPE_USER && h->body_seen > h->lim.body) return fail(h, 413, "body too large");
  return fail(h, 400, llhttp_get_error_reason(&h->p) ? llhttp_get_error_reason(&h->p)
                                                    : llhttp_errno_name(err));
}

/* Whether the first line of buf ends in a well-formed "HTTP/d.d" (an
 * unsupported version gets 505, a garbled one 400). */
static int well_formed_version(const char *buf, size_t len) {
  const char *cr = (const char *)memchr(buf, '\r', len);
  const char *v;
  if (cr == NULL || cr - buf < 8 || (size_t)(cr - buf) + 1 >= len || cr[1] != '\n') return 0;
  v = cr - 8;
  return memcmp(v, "HTTP/", 5) == 0 && isdigit((unsigned char)v[5]) && v[6] == '.' &&
         isdigit((unsigned char)v[7]);
}

/* msg.upgrade = true, msg the table on top: the message turned out to
 * switch protocols only when llhttp finished it (CONNECT, 101).  Through
 * the interned key: lua_setfield's C string costs a strcmp.  [-0, +0, m] */
static void set_upgraded(lua_State *L) {
  eh_http_push_keys(L);                  /* msg keys */
  lua_rawgeti(L, -1, EH_HTTP_K_UPGRADE); /* msg keys key */
  lua_pushboolean(L, 1);
  lua_rawset(L, -4);                     /* msg keys */
  lua_pop(L, 1);
}

/* Hash slots for the headers of the head just scanned: one a header line
 * (the start line is not one), at most 64 -- repeats of a name join into
 * one key, so a flood of them must not size the table. */
static int header_slots(const eh_http *h) {
  if (h->nlines <= 1) return 0;
  return h->nlines - 1 > 64 ? 64 : (int)h->nlines - 1;
}

/* Run llhttp over the head just scanned, building the message table on
 * the stack; leaves the parser at the body (or past a bodiless message).
 * [-0, +1, m] on DONE, [-0, +0, m] otherwise. */
static int parse_head(lua_State *L, eh_http *h, const char *buf, size_t headlen) {
  llhttp_errno_t err;
  int msg;
  lua_createtable(L, 0, h->room ? h->room : 16);
  msg = lua_gettop(L);
  eh_http_push_keys(L);
  h->keys_idx = msg + 1;
  lua_createtable(L, 0, header_slots(h));
  lua_rawgeti(L, h->keys_idx, EH_HTTP_K_HEADERS_MT);
  lua_setmetatable(L, -2);
  h->headers_idx = lua_gettop(L);
  if (h->keep_raw) {
    lua_createtable(L, 8, 0);
    h->raw_idx = lua_gettop(L);
  } else {
    lua_pushnil(L);
    h->raw_idx = 0;
  }
  h->nraw = 0;
  h->url = h->field = h->value = NULL;
  h->url_len = h->field_len = h->value_len = 0;
  h->expect_seen = h->expect = 0;   /* per head: a bodiless one ends inside eh_http_head */
  h->L = L;
  h->complete = 0;
  err = llhttp_execute(&h->p, buf, headlen);
  if (err != HPE_PAUSED || llhttp_get_error_pos(&h->p) != buf + headlen) {
    lua_settop(L, msg - 1);
    if (err == HPE_INVALID_VERSION && well_formed_version(buf, headlen))
      return fail(h, 505, "HTTP version not supported");
    if (err == HPE_OK) return fail(h, 400, "malformed head");   /* llhttp wants more */
    return llhttp_failure(h, err == HPE_PAUSED ? HPE_INTERNAL : err);
  }
  llhttp_resume(&h->p);
  if (h->raw_idx) {
    push_key(L, h->keys_idx, EH_HTTP_K_HEADERS_RAW);
    lua_pushvalue(L, h->raw_idx);
    lua_rawset(L, msg);
  }
  push_key(L, h->keys_idx, EH_HTTP_K_HEADERS);
  lua_pushvalue(L, h->headers_idx);
  lua_rawset(L, msg);
  lua_settop(L, h->keys_idx);  /* the headers tables stay in msg alone */
  if (set_fields(L, h, msg) == EH_HTTP_ERROR) {
    lua_settop(L, msg - 1);
    return EH_HTTP_ERROR;
  }
  lua_pop(L, 1);               /* the keys */
  return EH_HTTP_DONE;
}

/* Finish a bodiless message inside llhttp so the next one can start. */
static int skip_to_next(eh_http *h, const char *at) {
  llhttp_errno_t err;
  h->complete = 0;
  err = llhttp_execute(&h->p, at, 0);
  if (err == HPE_PAUSED_UPGRADE || (h->complete && h->p.upgrade)) {
    h->phase = EH_HTTP_PHASE_UPGRADED;
    return EH_HTTP_DONE;
  }
  if (err == HPE_PAUSED && h->complete) {
    llhttp_resume(&h->p);
    reset_message(h);
    return EH_HTTP_DONE;
  }
  return llhttp_failure(h, err);
}

/* Parse a head from buf[0..len): DONE with the message table pushed and
 * *used set to the bytes of the head, MORE, or ERROR. */
int eh_http_head(lua_State *L, eh_http *h, const char *buf, size_t len, size_t *used) {
  size_t headlen = 0, skip = 0;
  int r;
  if (h->phase == EH_HTTP_PHASE_UPGRADED) return fail(h, 400, "connection was upgraded");
  if (h->phase != EH_HTTP_PHASE_HEAD) luaL_error(L, "http: the body was not read to its end");
  /* Empty lines before a start line are ignored (RFC 9112); they are
   * skipped again on every call (the caller passes the same head start),
   * so scan offsets stay relative to the same byte, and they count
   * against the head size, so a stream of CRLFs cannot grow the buffer. */
  while (len - skip >= 2 && buf[skip] == '\r' && buf[skip + 1] == '\n') skip += 2;
  h->status = 0;
  if (skip > h->lim.header_size) return fail(h, 431, "request header fields too large");
  if (len - skip == 1 && buf[skip] == '\r') return EH_HTTP_MORE;   /* CR of one more? */
  r = scan_head(h, buf + skip, len - skip, &headlen);
  if (r != EH_HTTP_DONE) return r;
  if (skip) {
    h->complete = 0;
    llhttp_execute(&h->p, buf, skip);
  }
  if (parse_head(L, h, buf + skip, headlen) == EH_HTTP_ERROR) return EH_HTTP_ERROR;
  *used = skip + headlen;
  if (h->complete) {          /* a response to HEAD: complete with its head */
    reset_message(h);
    return EH_HTTP_DONE;
  }
  if (has_body(h)) {
    h->phase = EH_HTTP_PHASE_BODY;
    h->body_seen = 0;
    return EH_HTTP_DONE;
  }
  if (skip_to_next(h, buf + skip + headlen) == EH_HTTP_ERROR) {
    lua_pop(L, 1);
    return EH_HTTP_ERROR;
  }
  if (h->phase == EH_HTTP_PHASE_UPGRADED) set_upgraded(L);
  return EH_HTTP_DONE;
}

/* Decode body bytes from buf[0..len): pushes the decoded bytes (maybe
 * ""), sets *used; DONE at the end of the message, MORE before it, or
 * ERROR (nothing pushed).  [-0, +(0|1), m] */
int eh_http_body(lua_State *L, eh_http *h, const char *buf, size_t len, size_t *used) {
  luaL_Buffer b;
  llhttp_errno_t err;
  if (h->phase != EH_HTTP_PHASE_BODY) {
    lua_pushliteral(L, "");
    *used = 0;
    return EH_HTTP_DONE;
  }
  h->status = 0;
  h->span = NULL;
  h->span_len = 0;
  h->complete = 0;
  luaL_buffinit(L, &b);
  h->bb = &b;
  h->L = L;
  err = llhttp_execute(&h->p, buf, len);
  h->bb = NULL;
  if (err != HPE_OK && !(err == HPE_PAUSED && h->complete)) {
    luaL_pushresult(&b);
    lua_pop(L, 1);
    return llhttp_failure(h, err);
  }
  luaL_pushresult(&b);
  if (h->span) {
    lua_pop(L, 1);
    lua_pushlstring(L, h->span, h->span_len);
  }
  if (!h->complete) {
    *used = len;
    return EH_HTTP_MORE;
  }
  *used = (size_t)(llhttp_get_error_pos(&h->p) - buf);
  llhttp_resume(&h->p);
  reset_message(h);
  return EH_HTTP_DONE;
}

/* Push nil, status, reason for the parser's error.  [-0, +3, m] */
int eh_http_pusherror(lua_State *L, eh_http *h) {
  lua_pushnil(L);
  lua_pushinteger(L, h->status ? h->status : 400);
  lua_pushstring(L, h->reason ? h->reason : "bad request");
  return 3;
}
