/*
 * http.h -- HTTP/1.x framing on llhttp: head parsing into a Lua table,
 * body decoding (Content-Length and chunked), and the response writer.
 *
 * An eh_http is the record inside an "eventlet.HttpParser" userdata: one
 * llhttp parser (request or response mode) plus the limits it enforces
 * and the state of an incremental head scan.  A message goes through two
 * phases: the head, parsed in one call once it is complete in a buffer,
 * and the body, fed through llhttp piece by piece (which decodes chunked
 * framing and stops exactly at the end of the message, so pipelined
 * bytes after it stay in the buffer).
 *
 *   eh_http_head(L, h, buf, len, &used)  -> EH_HTTP_DONE: message table pushed
 *   eh_http_body(L, h, buf, len, &used)  -> body bytes pushed; DONE at the end
 *
 * Both return EH_HTTP_MORE when they need more bytes and EH_HTTP_ERROR
 * with h->status (the HTTP status to answer: 400, 413, 414, 431, 505)
 * and h->reason set when the input is malformed or over a limit.
 */
#ifndef EVENTLET_HTTP_H
#define EVENTLET_HTTP_H

#include <stdint.h>
#include <llhttp.h>

#include "hub.h"

#define EH_HTTP_MT "eventlet.HttpParser"
#define EH_HTTP_HEADERS_MT "eventlet.HttpHeaders"

/* Outcome of a parse step. */
enum eh_http_result { EH_HTTP_ERROR = -1, EH_HTTP_MORE = 0, EH_HTTP_DONE = 1 };

/* Where a parser is within the current message. */
enum eh_http_phase { EH_HTTP_PHASE_HEAD, EH_HTTP_PHASE_BODY, EH_HTTP_PHASE_UPGRADED };

/* Slots of the keys table (http.c): interned field names, then cached
 * metatables. */
enum {
  EH_HTTP_K_RAW_PATH = 1, EH_HTTP_K_ABSOLUTE_URI, EH_HTTP_K_PATH, EH_HTTP_K_QUERY,
  EH_HTTP_K_VERSION, EH_HTTP_K_METHOD, EH_HTTP_K_STATUS, EH_HTTP_K_REASON,
  EH_HTTP_K_KEEP_ALIVE, EH_HTTP_K_CONTENT_LENGTH, EH_HTTP_K_CHUNKED, EH_HTTP_K_UPGRADE,
  EH_HTTP_K_HEADERS_RAW, EH_HTTP_K_HEADERS, EH_HTTP_K_HAS_BODY,
  EH_HTTP_K_COUNT,
  EH_HTTP_K_HEADERS_MT = EH_HTTP_K_COUNT,
  EH_HTTP_K_V10, EH_HTTP_K_V11,       /* "1.0", "1.1" */
  EH_HTTP_K_METHODS,                  /* + llhttp method number: its name */
  EH_HTTP_K_HEADER_NAMES = EH_HTTP_K_METHODS + 64   /* + i: header_names[i] (http.c) */
};

/* What a parser accepts; defaults are in http.c (eh_http_default_limits). */
typedef struct eh_http_limits {
  size_t line;         /* request or status line, without CRLF (414) */
  size_t header_line;  /* one header line (431) */
  size_t header_size;  /* the whole head (431) */
  size_t headers;      /* number of header lines (431) */
  uint64_t body;       /* decoded body bytes (413) */
} eh_http_limits;

typedef struct eh_http {
  llhttp_t p;
  lua_State *L;            /* the stack callbacks push onto, during execute */
  eh_http_limits lim;
  int phase;               /* enum eh_http_phase */
  int status;              /* error: the HTTP status to answer */
  const char *reason;      /* error: why (static string) */
  int skip_body;           /* response to HEAD: no body whatever it says */
  int keep_raw;            /* build msg.headers_raw (the pairs as sent) */
  /* incremental scan of the head (offsets from the head's start) */
  size_t scanned, line_start;
  size_t nlines;
  int hosts;               /* Host fields in a request head */
  int expect_seen;         /* its Expect: 0 none, 1 "100-continue" alone, 2 other */
  int expect;              /* what the request headed asks: 0, 100 or 417;
                              kept until the next head (a bodiless request
                              ends inside eh_http_head) */
  /* spans of the head being parsed (all inside one buffer) */
  const char *url, *field, *value;
  size_t url_len, field_len, value_len;
  int keys_idx;            /* stack index of the keys table */
  int headers_idx;         /* stack index of the headers table */
  int raw_idx;             /* stack index of the raw pairs list */
  int nraw;
  /* body decoding */
  uint64_t body_seen;      /* body (and trailer) bytes of this message */
  const char *span;        /* the first body span of this step */
  size_t span_len;
  luaL_Buffer *bb;         /* more spans than one: collected here */
  int complete;            /* on_message_complete fired in this step */
  /* reading from a socket (http_sock.c) */
  double deadline;         /* when the head must be complete (0: none yet) */
  double saved_timeout;    /* the socket's own timeout, restored after */
  double idle_deadline;    /* when an idle wait ends (0: not idle yet, < 0: never) */
  int trimming;            /* parked for IDLE_TRIM before giving the buffer back */
  int may_doze;            /* dry between requests: return "idle", do not wait */
  int room;                /* hash slots of the next message table (0: 16, room
                              for what a caller adds; 8 fit a GET's own fields) */
  /* answering the last request head (kept through its body) */
  int reply_base;          /* EH_HW_CLOSE, EH_HW_KEEPALIVE, EH_HW_NOBODY as it asks */
} eh_http;

/* http.c */
void eh_http_default_limits(eh_http_limits *lim);
void eh_http_read_limits(lua_State *L, int idx, eh_http_limits *lim);
void eh_http_init(eh_http *h, llhttp_type_t type, const eh_http_limits *lim);
void eh_http_restart(eh_http *h);
void eh_http_push_keys(lua_State *L);
int eh_http_head(lua_State *L, eh_http *h, const char *buf, size_t len, size_t *used);
int eh_http_reply_flags(const eh_http *h, int code, int close);
int eh_http_body(lua_State *L, eh_http *h, const char *buf, size_t len, size_t *used);
int eh_http_pusherror(lua_State *L, eh_http *h);
void eh_open_http(lua_State *L);
extern const luaL_Reg eh_http_funcs[];

/* http_write.c: the response writer */
extern const luaL_Reg eh_http_write_funcs[];

/* http_log.c: the access log's line */
extern const luaL_Reg eh_http_log_funcs[];
int eh_http_log_to_file(lua_State *L, int log, int req, int res, int started, int xff);

/* http_sock.c: parsing straight from a socket's read buffer */
extern const luaL_Reg eh_http_sock_funcs[];
int eh_http_reply(lua_State *L);   /* core.http_reply (http_sock.c) */
int eh_http_reply_checked(lua_State *L);

#endif
