/*
 * tls.c -- TLS streams: OpenSSL under a wrapped socket.
 *
 * tls_wrap(sock, ctx, opts) gives a socket an SSL object and swaps its
 * ops (socket.h) for SSL_read/SSL_write, so receive/send and the C
 * primitives work unchanged; the handshake runs inside the first read or
 * write (or dohandshake()), in the thread using the connection, parked
 * with the socket's timeout.  A listener wrapped this way hands every
 * accepted connection a server-side stream (eh_tls_accepted), so a client
 * that never handshakes blocks only its own handler, never accept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define TLS_COALESCE 16384  /* small iovecs are joined into one record */

/* Describe why an SSL call failed as the socket's error reason.  */
static void set_error(eh_sock *s, SSL *ssl, int code) {
  long vr = SSL_get_verify_result(ssl);
  unsigned long e = ERR_peek_last_error();
  char why[160];
  if (e && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK) {
    snprintf(why, sizeof why, "certificate verify failed: %s",
             X509_verify_cert_error_string(vr));
    ERR_clear_error();
  } else if (e) {
    eh_tls_reason(why, sizeof why);
  } else if (code == SSL_ERROR_SYSCALL && errno != 0) {
    snprintf(why, sizeof why, "%s", eh_errno_string(errno));
  } else {
    snprintf(why, sizeof why, "closed");
  }
  eh_sock_setreason(s, why);
  /* After a fatal error, SSL_shutdown must not send anything. */
  SSL_set_quiet_shutdown(ssl, 1);
}

/* Map an SSL failure to the ops contract: -1 with *wait, or EOF (0). */
static ssize_t failed(eh_sock *s, SSL *ssl, int ret, int *wait) {
  int code = SSL_get_error(ssl, ret);
  switch (code) {
    case SSL_ERROR_WANT_READ: *wait = EV_READ; return -1;
    case SSL_ERROR_WANT_WRITE: *wait = EV_WRITE; return -1;
    case SSL_ERROR_ZERO_RETURN: return 0;
    default:
      *wait = 0;
      set_error(s, ssl, code);
      return -1;
  }
}

/* ops.read: SSL_read (the handshake happens inside when due).  */
static ssize_t tls_read(eh_sock *s, char *buf, size_t n, int *wait) {
  SSL *ssl = (SSL *)s->tls;
  size_t got = 0;
  int ret;
  ERR_clear_error();
  errno = 0;
  ret = SSL_read_ex(ssl, buf, n, &got);
  if (ret == 1) return (ssize_t)got;
  return failed(s, ssl, ret, wait);
}

/* ops.writev: one SSL_write, of the first large iovec or of the small
 * ones joined (the same bytes again on a retry, as OpenSSL requires). */
static ssize_t tls_writev(eh_sock *s, const struct iovec *iov, int n, int *wait) {
  SSL *ssl = (SSL *)s->tls;
  char join[TLS_COALESCE];
  const void *p = iov[0].iov_base;
  size_t len = iov[0].iov_len, done = 0;
  int ret;
  if (len < TLS_COALESCE && n > 1) {
    int i;
    len = 0;
    for (i = 0; i < n && len < TLS_COALESCE; i++) {
      size_t take = iov[i].iov_len;
      if (take > TLS_COALESCE - len) take = TLS_COALESCE - len;
      memcpy(join + len, iov[i].iov_base, take);
      len += take;
    }
    p = join;
  }
  ERR_clear_error();
  errno = 0;
  ret = SSL_write_ex(ssl, p, len, &done);
  if (ret == 1) return (ssize_t)done;
  return failed(s, ssl, ret, wait);
}

/* ops.close: close_notify (best effort), then free the stream.  */
static void tls_close(eh_sock *s) {
  eh_tls_notify_close(s);
  SSL_free((SSL *)s->tls);
  s->tls = NULL;
}

static const eh_sock_ops tls_ops = {tls_read, tls_writev, tls_close};

/* Send close_notify once, without waiting for the peer's.  */
void eh_tls_notify_close(eh_sock *s) {
  SSL *ssl = (SSL *)s->tls;
  if (ssl == NULL || s->ops != &tls_ops) return;
  if (!SSL_is_init_finished(ssl) || (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
    return;
  ERR_clear_error();
  (void)SSL_shutdown(ssl);
  ERR_clear_error();
}

/* Whether s's SSL object holds decrypted bytes nobody read: a record
 * larger than the room of the last read leaves its rest there.  */
int eh_tls_pending(eh_sock *s) {
  return s->tls != NULL && s->ops == &tls_ops && SSL_pending((SSL *)s->tls) > 0;
}

/* Put an SSL stream from ctx on the socket s (context at ctxidx is kept
 * as the socket's user value).  Returns the SSL or NULL. */
static SSL *attach(lua_State *L, eh_sock *s, int sidx, eh_tls_ctx *c, int ctxidx) {
  SSL *ssl = SSL_new(c->ctx);
  if (ssl == NULL || SSL_set_fd(ssl, s->fd) != 1) { SSL_free(ssl); return NULL; }
  if (c->server) SSL_set_accept_state(ssl); else SSL_set_connect_state(ssl);
  s->tls = ssl;
  s->ops = &tls_ops;
  lua_pushvalue(L, ctxidx);
  lua_setiuservalue(L, sidx, 1);
  return ssl;
}

/* A connection accepted by a TLS listener gets the listener's context. */
void eh_tls_accepted(lua_State *L, int lidx, int cidx) {
  eh_sock *c = eh_checksocket(L, cidx);
  lua_getiuservalue(L, lidx, 1);
  if (attach(L, c, cidx, eh_checktlsctx(L, -1), lua_gettop(L)) == NULL) {
    ERR_clear_error();
    eh_sock_close(c);  /* never fall back to plaintext: reads see "closed" */
  }
  lua_pop(L, 1);
}

/* Client settings of opts at 3: SNI and hostname check, a session. */
static int client_setup(lua_State *L, SSL *ssl, eh_tls_ctx *c) {
  const char *host;
  lua_getfield(L, 3, "hostname");
  host = lua_tostring(L, -1);
  if (host && *host) {
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl, host);
    if (c->verify) {
      if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
      else SSL_set1_host(ssl, host);
    }
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 3, "session") != LUA_TNIL) {
    SSL_SESSION **p = (SSL_SESSION **)luaL_checkudata(L, -1, EH_TLS_SESSION_MT);
    if (*p) SSL_set_session(ssl, *p);
  }
  lua_pop(L, 1);
  return 0;
}

/* tls_wrap(sock, ctx[, opts]) -> sock[, true for a listener] | nil, err:
 * put TLS on a socket.  A listener hands every accepted connection a
 * server stream.
 * opts (clients): hostname (SNI and verification), session.  No I/O
 * happens here; see dohandshake.  [-0, +(1|2), e] */
static int l_wrap(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  eh_tls_ctx *c = eh_checktlsctx(L, 2);
  SSL *ssl;
  lua_settop(L, 3);
  if (lua_isnil(L, 3)) { lua_newtable(L); lua_replace(L, 3); }
  if (s->fd < 0) return eh_sock_pusherror(L, s, EH_IO_CLOSED);
  if (s->tls) return luaL_error(L, "tls: socket is already wrapped");
  if (s->flags & EH_SOCK_LISTENING) {
    if (!c->server) return luaL_error(L, "tls: a listener needs a server context");
    s->flags |= EH_SOCK_TLS_LISTENER;
    s->tls = c;
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, 1, 1);
    lua_settop(L, 1);
    lua_pushboolean(L, 1);
    return 2;
  }
  ssl = attach(L, s, 1, c, 2);
  if (ssl == NULL) {
    char buf[160];
    lua_pushnil(L);
    lua_pushstring(L, eh_tls_reason(buf, sizeof buf));
    return 2;
  }
  if (!c->server) client_setup(L, ssl, c);
  lua_settop(L, 1);
  return 1;
}

/* The TLS stream of the socket at 1, or raise.  */
static SSL *check_tls(lua_State *L, eh_sock **sp) {
  eh_sock *s = eh_checksocket(L, 1);
  *sp = s;
  if (s->tls == NULL || s->ops != &tls_ops)
    luaL_error(L, "tls: not a TLS connection");
  return (SSL *)s->tls;
}

/* Drive the handshake; park for the direction OpenSSL wants.  ctx is
 * the slot of the wait just finished (0 at first). */
static int handshake_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = eh_checksocket(L, 1);
  SSL *ssl;
  int ret, wait = 0;
  (void)status;
  if (ctx != 0) {
    int st = ctx == EV_READ ? s->rstatus : s->wstatus;
    if (st != EH_IO_OK) return eh_sock_pusherror(L, s, st);
  }
  if (s->fd < 0 || s->tls == NULL) return eh_sock_pusherror(L, s, EH_IO_CLOSED);
  ssl = (SSL *)s->tls;
  ERR_clear_error();
  errno = 0;
  ret = SSL_do_handshake(ssl);
  if (ret == 1) { lua_pushboolean(L, 1); return 1; }
  if (failed(s, ssl, ret, &wait) == 0) return eh_sock_pusherror(L, s, EH_IO_CLOSED);
  if (wait == 0) return eh_sock_pusherror(L, s, EH_IO_ERROR);
  return eh_sock_wait(L, s, wait, wait, handshake_k);
}

/* sock:dohandshake() -> true | nil, err: complete the handshake now,
 * parking with the socket's timeout.  [-0, +(1|2), e] */
static int l_dohandshake(lua_State *L) {
  eh_sock *s;
  check_tls(L, &s);
  lua_settop(L, 1);
  return handshake_k(L, LUA_OK, 0);
}

/* sock:getsession() -> session | nil: for resumption by a later
 * connection (wrap option session).  [-0, +1, m] */
static int l_getsession(lua_State *L) {
  eh_sock *s;
  SSL *ssl = check_tls(L, &s);
  SSL_SESSION *sess = SSL_get1_session(ssl), **p;
  if (sess == NULL) { lua_pushnil(L); return 1; }
  p = (SSL_SESSION **)lua_newuserdatauv(L, sizeof *p, 0);
  *p = sess;
  luaL_setmetatable(L, EH_TLS_SESSION_MT);
  return 1;
}

/* sock:tlsinfo() -> {version, cipher, alpn, reused, verified, peer}.
 * [-0, +1, m] */
static int l_tlsinfo(lua_State *L) {
  eh_sock *s;
  SSL *ssl = check_tls(L, &s);
  const unsigned char *alpn = NULL;
  unsigned alpn_len = 0;
  X509 *peer = SSL_get1_peer_certificate(ssl);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, SSL_get_version(ssl));
  lua_setfield(L, -2, "version");
  lua_pushstring(L, SSL_get_cipher_name(ssl));
  lua_setfield(L, -2, "cipher");
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len) {
    lua_pushlstring(L, (const char *)alpn, alpn_len);
    lua_setfield(L, -2, "alpn");
  }
  lua_pushboolean(L, SSL_session_reused(ssl));
  lua_setfield(L, -2, "reused");
  lua_pushboolean(L, peer != NULL && SSL_get_verify_result(ssl) == X509_V_OK);
  lua_setfield(L, -2, "verified");
  if (peer) {
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(peer), name, sizeof name);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "peer");
    X509_free(peer);
  }
  return 1;
}

static const luaL_Reg tls_methods[] = {
  {"dohandshake", l_dohandshake}, {"getsession", l_getsession},
  {"tlsinfo", l_tlsinfo}, {NULL, NULL}};

/* Add the TLS methods to the socket metatable (opened before us). */
void eh_open_tls(lua_State *L) {
  eh_open_tlsctx(L);
  luaL_getmetatable(L, EH_SOCKET_MT);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, tls_methods, 0);
  lua_pop(L, 2);
}

const luaL_Reg eh_tls_funcs[] = {{"tls_wrap", l_wrap}, {NULL, NULL}};
