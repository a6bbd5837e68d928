/*
 * tlsctx.c -- TLS contexts: certificates, keys, trust, verification,
 * ALPN, protocol versions and ciphers, built once and shared by many
 * connections (OpenSSL 3).
 *
 * Clients verify by default, against the system store unless a CA file or
 * directory is given; the hostname check itself is set per connection
 * (tls.c).  Errors are returned as nil, "<OpenSSL reason>".
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls.h"

/* The TLS context at idx; raises a type error otherwise. */
eh_tls_ctx *eh_checktlsctx(lua_State *L, int idx) {
  return (eh_tls_ctx *)luaL_checkudata(L, idx, EH_TLS_CONTEXT_MT);
}

/* The reason of the last OpenSSL error (queue cleared), or "unknown". */
const char *eh_tls_reason(char *buf, size_t size) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  snprintf(buf, size, "%s", r ? r : e ? ERR_error_string(e, NULL) : "unknown TLS error");
  ERR_clear_error();
  return buf;
}

/* Push nil, "<what>: <OpenSSL reason>"; returns 2.  */
static int fail(lua_State *L, const char *what) {
  char buf[160];
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, eh_tls_reason(buf, sizeof buf));
  return 2;
}

/* The string field k of the options table at 1, or NULL. */
static const char *optstring(lua_State *L, const char *k) {
  const char *v;
  lua_getfield(L, 1, k);
  v = lua_tostring(L, -1);
  lua_pop(L, 1);  /* the table keeps the string alive */
  return v;
}

/* Load a certificate chain from a PEM string: leaf, then extra certs. */
static int use_cert_pem(SSL_CTX *ctx, const char *pem) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  int ok = x != NULL && SSL_CTX_use_certificate(ctx, x) == 1;
  X509_free(x);
  while (ok && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
    if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1) { X509_free(x); ok = 0; }
  ERR_clear_error();  /* the end of the chain reads as an error */
  BIO_free(bio);
  return ok;
}

/* Load a private key from a PEM string.  */
static int use_key_pem(SSL_CTX *ctx, const char *pem) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  int ok = k != NULL && SSL_CTX_use_PrivateKey(ctx, k) == 1;
  EVP_PKEY_free(k);
  BIO_free(bio);
  return ok;
}

/* Trust PEM certificates given as a string.  */
static int add_ca_pem(SSL_CTX *ctx, const char *pem) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  X509 *x;
  int n = 0;
  while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    n += X509_STORE_add_cert(store, x) == 1;
    X509_free(x);
  }
  ERR_clear_error();
  BIO_free(bio);
  return n > 0;
}

/* Parse "tls1.2"-style names into OpenSSL's version numbers.  */
static int proto_version(const char *v) {
  if (v == NULL) return 0;
  if (strcmp(v, "tls1") == 0 || strcmp(v, "tls1.0") == 0) return TLS1_VERSION;
  if (strcmp(v, "tls1.1") == 0) return TLS1_1_VERSION;
  if (strcmp(v, "tls1.2") == 0) return TLS1_2_VERSION;
  if (strcmp(v, "tls1.3") == 0) return TLS1_3_VERSION;
  return -1;
}

/* Server side ALPN: pick the first of our protocols the client offers. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg) {
  eh_tls_ctx *c = (eh_tls_ctx *)arg;
  unsigned char *sel;
  (void)ssl;
  if (SSL_select_next_proto(&sel, outlen, c->alpn, c->alpn_len, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

/* Read opts.alpn (a list of names) into the context's wire format. */
static int set_alpn(lua_State *L, eh_tls_ctx *c) {
  lua_Integer i, n;
  c->alpn_len = 0;
  if (lua_getfield(L, 1, "alpn") != LUA_TTABLE) { lua_pop(L, 1); return 0; }
  n = luaL_len(L, -1);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *p;
    lua_rawgeti(L, -1, i);
    p = lua_tolstring(L, -1, &len);
    if (p == NULL || len == 0 || len > 255 || c->alpn_len + len + 1 > sizeof c->alpn)
      return luaL_error(L, "tls: bad alpn protocol list");
    c->alpn[c->alpn_len++] = (unsigned char)len;
    memcpy(c->alpn + c->alpn_len, p, len);
    c->alpn_len += (unsigned)len;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (c->server) SSL_CTX_set_alpn_select_cb(c->ctx, alpn_select, c);
  else if (SSL_CTX_set_alpn_protos(c->ctx, c->alpn, c->alpn_len) != 0) return -1;
  return 0;
}

/* Certificates and keys, from files (cert, key) or strings (cert_pem,
 * key_pem).  Returns 0, or pushes nil, err and returns 2. */
static int set_identity(lua_State *L, SSL_CTX *ctx) {
  const char *cert = optstring(L, "cert"), *key = optstring(L, "key");
  const char *cert_pem = optstring(L, "cert_pem"), *key_pem = optstring(L, "key_pem");
  if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
    return fail(L, "certificate");
  if (cert_pem && !use_cert_pem(ctx, cert_pem)) return fail(L, "certificate");
  if (key == NULL && key_pem == NULL && cert != NULL) key = cert;
  if (key && SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
    return fail(L, "private key");
  if (key_pem && !use_key_pem(ctx, key_pem)) return fail(L, "private key");
  if ((cert || cert_pem) && SSL_CTX_check_private_key(ctx) != 1)
    return fail(L, "private key");
  return 0;
}

/* Trust and verification.  Returns 0, or pushes nil, err and returns 2. */
static int set_trust(lua_State *L, eh_tls_ctx *c) {
  const char *cafile = optstring(L, "cafile"), *capath = optstring(L, "capath");
  const char *ca_pem = optstring(L, "ca_pem");
  int verify;
  lua_getfield(L, 1, "verify");
  verify = lua_isnil(L, -1) ? !c->server : lua_toboolean(L, -1);
  lua_pop(L, 1);
  c->verify = verify;
  if (cafile || capath) {
    if (SSL_CTX_load_verify_locations(c->ctx, cafile, capath) != 1)
      return fail(L, "CA certificates");
  } else if (ca_pem) {
    if (!add_ca_pem(c->ctx, ca_pem)) return fail(L, "CA certificates");
  } else if (verify && !c->server) {
    SSL_CTX_set_default_verify_paths(c->ctx);
  }
  SSL_CTX_set_verify(c->ctx, verify ? SSL_VERIFY_PEER |
                     (c->server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0)
                     : SSL_VERIFY_NONE, NULL);
  return 0;
}

/* Versions and ciphers.  Returns 0, or pushes nil, err and returns 2. */
static int set_protocols(lua_State *L, SSL_CTX *ctx) {
  int minv = proto_version(optstring(L, "min_version"));
  int maxv = proto_version(optstring(L, "max_version"));
  const char *ciphers = optstring(L, "ciphers"), *suites = optstring(L, "ciphersuites");
  if (minv < 0 || maxv < 0)
    return luaL_error(L, "tls: versions are \"tls1.2\", \"tls1.3\", ...");
  SSL_CTX_set_min_proto_version(ctx, minv ? minv : TLS1_2_VERSION);
  if (maxv) SSL_CTX_set_max_proto_version(ctx, maxv);
  if (ciphers && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) return fail(L, "ciphers");
  if (suites && SSL_CTX_set_ciphersuites(ctx, suites) != 1) return fail(L, "ciphersuites");
  return 0;
}

/* tls_context(opts) -> context | nil, err.  opts: server, cert, key,
 * cert_pem, key_pem, cafile, capath, ca_pem, verify, alpn, min_version,
 * max_version, ciphers, ciphersuites.  [-0, +(1|2), e] */
static int l_context(lua_State *L) {
  eh_tls_ctx *c;
  int server;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "server");
  server = lua_toboolean(L, -1);
  lua_pop(L, 1);
  c = (eh_tls_ctx *)lua_newuserdatauv(L, sizeof *c, 0);  /* 2 */
  memset(c, 0, sizeof *c);
  c->server = server;
  c->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (c->ctx == NULL) return fail(L, "context");
  luaL_setmetatable(L, EH_TLS_CONTEXT_MT);
  SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                   SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_session_cache_mode(c->ctx, server ? SSL_SESS_CACHE_SERVER
                                                : SSL_SESS_CACHE_CLIENT);
  if (server) SSL_CTX_set_session_id_context(c->ctx, (const unsigned char *)"eventlet", 8);
  if (set_identity(L, c->ctx) || set_trust(L, c) || set_protocols(L, c->ctx))
    return 2;
  if (set_alpn(L, c) != 0) return fail(L, "alpn");
  lua_settop(L, 2);
  return 1;
}

/* __gc/__close: free the context (connections hold their own reference). */
static int ctx_gc(lua_State *L) {
  eh_tls_ctx *c = eh_checktlsctx(L, 1);
  SSL_CTX_free(c->ctx);
  c->ctx = NULL;
  return 0;
}

/* __tostring: "tls.context{server}: 0x...".  */
static int ctx_tostring(lua_State *L) {
  eh_tls_ctx *c = eh_checktlsctx(L, 1);
  lua_pushfstring(L, "tls.context{%s%s}: %p", c->server ? "server" : "client",
                  c->verify ? " verify" : "", (void *)c);
  return 1;
}

/* __gc/__close of a session: free it once.  */
static int session_gc(lua_State *L) {
  SSL_SESSION **p = (SSL_SESSION **)luaL_checkudata(L, 1, EH_TLS_SESSION_MT);
  SSL_SESSION_free(*p);
  *p = NULL;
  return 0;
}

/* __tostring of a session: "tls.session: 0x...". */
static int session_tostring(lua_State *L) {
  SSL_SESSION **p = (SSL_SESSION **)luaL_checkudata(L, 1, EH_TLS_SESSION_MT);
  lua_pushfstring(L, "tls.session: %p", (void *)*p);
  return 1;
}

static const luaL_Reg ctx_meta[] = {
  {"__gc", ctx_gc}, {"__close", ctx_gc}, {"__tostring", ctx_tostring},
  {NULL, NULL}};

static const luaL_Reg session_meta[] = {
  {"__gc", session_gc}, {"__close", session_gc},
  {"__tostring", session_tostring}, {NULL, NULL}};

/* Register the context and session metatables. */
void eh_open_tlsctx(lua_State *L) {
  if (luaL_newmetatable(L, EH_TLS_CONTEXT_MT)) luaL_setfuncs(L, ctx_meta, 0);
  if (luaL_newmetatable(L, EH_TLS_SESSION_MT)) luaL_setfuncs(L, session_meta, 0);
  lua_pop(L, 2);
}

const luaL_Reg eh_tlsctx_funcs[] = {{"tls_context", l_context}, {NULL, NULL}};
