/*
 * tls.h -- TLS streams (OpenSSL 3) under wrapped sockets.
 *
 * tls.c swaps a socket's ops for OpenSSL's, so eh_sock_fill and
 * eh_sock_writev (socket.h) work unchanged on TLS connections: the
 * handshake happens inside the first read or write, in the thread that
 * uses the connection, with the socket's timeout.
 */
#ifndef EVENTLET_TLS_H
#define EVENTLET_TLS_H

#include "socket.h"

#define EH_TLS_CONTEXT_MT "eventlet.tls.context"
#define EH_TLS_SESSION_MT "eventlet.tls.session"

#include <openssl/ssl.h>

/* A TLS context userdata (tlsctx.c). */
typedef struct eh_tls_ctx {
  SSL_CTX *ctx;
  int server;
  int verify;                  /* peer verification on */
  unsigned char alpn[256];     /* server: protocols offered, wire format */
  unsigned alpn_len;
} eh_tls_ctx;

/* The context at idx (raises if it is not one). */
eh_tls_ctx *eh_checktlsctx(lua_State *L, int idx);
/* The OpenSSL reason of the last failure, cleared from the queue. */
const char *eh_tls_reason(char *buf, size_t size);
void eh_open_tlsctx(lua_State *L);
extern const luaL_Reg eh_tlsctx_funcs[];

/* A connection accepted (at cidx) by the TLS listener at lidx: give it a
 * server-side TLS stream from the listener's context. */
void eh_tls_accepted(lua_State *L, int lidx, int cidx);
/* Send close_notify once (best effort, never blocks). */
void eh_tls_notify_close(eh_sock *s);
/* Whether OpenSSL holds decrypted bytes of s not read yet (the fd may
 * then never turn readable for them). */
int eh_tls_pending(eh_sock *s);

void eh_open_tls(lua_State *L);
extern const luaL_Reg eh_tls_funcs[];

#endif
