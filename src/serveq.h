/*
 * serveq.h -- the HTTP server's queue of ready connections (serveq.c)
 * and the two ways its workers take them: q:next() hands a connection to
 * Lua, q:serve() answers the common request in C (serve_lane.c).
 */
#ifndef EH_SERVEQ_H
#define EH_SERVEQ_H

#include "socket.h"

#define SERVEQ_MT "eventlet.http_queue"

/* Where a member connection is. */
enum { Q_BUSY, Q_WATCHED, Q_READY, Q_DOZING };

typedef struct eh_serveq {
  eh_hub *hub;
  eh_sock *head, *tail;     /* ready, first served first (s->qnext) */
  eh_sock *polled, *polled_tail;  /* readied by the poll under way, newest
                                     first: libev reports in reverse */
  eh_waitq idle;            /* workers parked in next() or serve() */
  int kicked;               /* workers woken or spawned, not yet taking */
  int spawn_ref;            /* registry: {fn, args...} a new worker runs */
  int closed;
  double trim;              /* seconds quiet before a connection is idle */
  lua_Integer in_c;         /* requests the lane answered in C alone */
  lua_Integer to_lua;       /* connections the lane handed to Lua */
} eh_serveq;

/* serveq.c */
eh_serveq *eh_serveq_check(lua_State *L, int idx);
int eh_serveq_give_back(lua_State *L, eh_serveq *q, eh_sock *s, int fresh);
int eh_serveq_take(lua_State *L, eh_serveq *q, eh_sock **out, lua_KFunction k, int keep);
void eh_serveq_woke(lua_State *L, eh_serveq *q);

/* serve_lane.c: pushes q:serve(...) */
void eh_serveq_push_lane(lua_State *L);

#endif
