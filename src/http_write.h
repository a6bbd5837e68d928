/*
 * http_write.h -- the response head writer shared by http_write.c (Lua
 * strings) and http_sock.c (writev to a socket).
 */
#ifndef EVENTLET_HTTP_WRITE_H
#define EVENTLET_HTTP_WRITE_H

#include <time.h>

#include "hub.h"

/* Flags the caller passes (mirrored in lua/eventlet/httpd.lua). */
#define EH_HW_CLOSE      0x01  /* add "Connection: close" */
#define EH_HW_KEEPALIVE  0x02  /* add "Connection: keep-alive" (HTTP/1.0) */
#define EH_HW_CHUNKED    0x04  /* add "Transfer-Encoding: chunked" */
#define EH_HW_NOBODY     0x08  /* HEAD: length announced, no body bytes sent */
#define EH_HW_NOLENGTH   0x10  /* 1xx/204/304 or close-delimited: no length */

/* Bits describing the caller's own headers (returned). */
#define EH_HW_HAS_DATE       0x01
#define EH_HW_HAS_SERVER     0x02
#define EH_HW_HAS_CONNECTION 0x04
#define EH_HW_HAS_LENGTH     0x08
#define EH_HW_HAS_TE         0x10
#define EH_HW_USER_CLOSE     0x20  /* their Connection header says close */
#define EH_HW_CLOSES         0x40  /* the connection ends after this response */

/* A byte buffer on the C stack that spills to the heap; never raises. */
typedef struct eh_headbuf {
  char *p;
  size_t len, cap;
  const char *err;      /* first error met (the head is then unusable) */
  char stack[1024];
} eh_headbuf;

void eh_headbuf_init(eh_headbuf *b);
void eh_headbuf_free(eh_headbuf *b);
const char *eh_http_reason(int status);
void eh_http_format_date(time_t t, char out[30]);
int eh_http_status_code(lua_State *L, int idx);
int eh_http_build_head(lua_State *L, eh_headbuf *b, int status_idx, int hidx,
                       long long bodylen, int flags, double now);

#endif
