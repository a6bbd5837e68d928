/*
 * resolve.c -- name resolution off the loop: getaddrinfo runs on the
 * worker pool (workers.c), so /etc/hosts, nsswitch and search domains
 * behave exactly as in libc while the hub keeps running other threads.
 * Numeric addresses answer at once, without a thread.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "socket.h"
#include "workers.h"

/* One lookup, owned by the waiter or, once abandoned, by the pool. */
typedef struct lookup {
  int family;
  int rc;                 /* getaddrinfo's result */
  struct addrinfo *res;
  char host[1];           /* allocated to fit */
} lookup;

/* On a pool thread: the blocking call.  */
static void lookup_work(void *data) {
  lookup *lk = (lookup *)data;
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = lk->family;
  hints.ai_socktype = SOCK_STREAM;
  lk->rc = getaddrinfo(lk->host, NULL, &hints, &lk->res);
}

/* Free a lookup (abandoned, or read).  */
static void lookup_free(void *data) {
  lookup *lk = (lookup *)data;
  if (lk->res) freeaddrinfo(lk->res);
  free(lk);
}

/* A stable message for a getaddrinfo failure.  */
static const char *gai_message(int rc) {
  switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
      return "host not found";
    case EAI_AGAIN: return "temporary failure in name resolution";
    case EAI_FAIL: return "name resolution failed";
    default: return gai_strerror(rc);
  }
}

/* Push the addresses of a finished lookup as a list of unique strings. */
static int push_addresses(lua_State *L, lookup *lk) {
  struct addrinfo *ai;
  int n = 0;
  if (lk->rc != 0) {
    lua_pushnil(L);
    lua_pushstring(L, gai_message(lk->rc));
    return 2;
  }
  lua_newtable(L);      /* list */
  lua_newtable(L);      /* seen */
  for (ai = lk->res; ai; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN];
    const void *addr = ai->ai_family == AF_INET
      ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
      : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    if (inet_ntop(ai->ai_family, addr, buf, sizeof buf) == NULL) continue;
    if (lua_getfield(L, -1, buf) != LUA_TNIL) { lua_pop(L, 1); continue; }
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, buf);
    lua_pushstring(L, buf);
    lua_rawseti(L, -3, ++n);
  }
  lua_pop(L, 1);
  return 1;
}

/* After the wait: the addresses, nil, "timeout", or a raised cancel. */
static int resolve_k(lua_State *L, int status, lua_KContext ctx) {
  eh_job *job = (eh_job *)ctx;
  lookup *lk = (lookup *)lua_touserdata(L, 4);
  int nres;
  (void)status;
  if (!eh_work_finish(L, job)) {
    eh_park_check(L);
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  nres = push_addresses(L, lk);
  lookup_free(lk);
  eh_park_check(L);
  return nres;
}

/* resolve(host[, family[, timeout]]) -> {address, ...} | nil, err.
 * family "inet", "inet6" or nil (both); timeout in seconds (nil: none).
 * [-0, +(1|2), e] */
static int l_resolve(lua_State *L) {
  static const char *const fams[] = {"any", "inet", "inet6", NULL};
  static const int famv[] = {AF_UNSPEC, AF_INET, AF_INET6};
  size_t len;
  const char *host = luaL_checklstring(L, 1, &len);
  int family = famv[luaL_checkoption(L, 2, "any", fams)];
  double timeout = luaL_optnumber(L, 3, -1.);
  unsigned char bin[16];
  lookup *lk;
  eh_job *job;
  if ((family != AF_INET6 && inet_pton(AF_INET, host, bin) == 1) ||
      (family != AF_INET && inet_pton(AF_INET6, host, bin) == 1)) {
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    return 1;
  }
  lk = (lookup *)calloc(1, sizeof *lk + len);
  if (lk == NULL) return luaL_error(L, "resolve: out of memory");
  memcpy(lk->host, host, len + 1);
  lk->family = family;
  lua_settop(L, 3);
  lua_pushlightuserdata(L, lk);  /* 4: the lookup, for the continuation */
  job = eh_work_submit(L, lookup_work, lookup_free, lk);
  return eh_work_park(L, job, timeout < 0 ? -1. : timeout, "resolve", (lua_KContext)job,
                      resolve_k);
}

const luaL_Reg eh_resolve_funcs[] = {{"resolve", l_resolve}, {NULL, NULL}};
