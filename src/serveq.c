/*
 * serveq.c -- core.http_queue(): an HTTP server's queue of connections
 * with bytes to read, and the few warm green threads that serve them.
 *
 * A keep-alive connection that waits for its next request holds no green
 * thread: its socket is watched here.  When it turns readable the watcher
 * appends it to the queue's ready list, and a worker -- one of a few green
 * threads the queue keeps -- takes it with q:next(), serves the request
 * and gives the socket back in its next q:next() call (or does all of it
 * in q:serve(), which answers the common request in C: serve_lane.c).
 * So a busy server
 * runs its requests on two or three threads whose stacks stay in cache,
 * where one thread per connection meant a resume of a cold coroutine for
 * every request (docs/httpd.md has the counts): nginx's shape, with
 * green threads for handlers that block.
 *
 * Workers are kicked, never polled for: when the ready list fills while no
 * worker is on its way, a parked one is woken (or, if none is parked, one
 * is spawned).  A worker that takes a connection and leaves others ready
 * kicks the next, so a handler that blocks never holds up the queue.
 * Spare workers end: at most IDLE_WORKERS stay parked.
 *
 * A watched connection that stays quiet for the queue's trim time (0.25 s,
 * or the idle timeout if shorter) is handed out as idle, so the server can
 * close it or let it doze (q:doze): it gives its read buffer back and stays
 * watched, with no timer but its idle deadline, until a request wakes it
 * (handed out as ready) or the deadline passes (handed out as idle again).
 * The quiet check uses the socket's dtimer lazily: armed once, it re-arms
 * itself while the connection is busy, so a request costs no timer
 * operation.
 */
#include "serveq.h"
#include "tls.h"

/* Seconds of quiet after which a watched connection is handed out as
 * idle (bench/httpd/misses.sh builds with a longer one: under valgrind,
 * busy connections wait longer). */
#ifndef IDLE_TRIM
#define IDLE_TRIM 0.25
#endif
#define IDLE_WORKERS 16     /* parked workers kept; a spare one beyond ends */
#define TRIM_SLACK 1e-3     /* seconds: a trim check this close is due */

/* The queue at idx (checked by metatable address: once a request).
 * [-0, +0, v] */
eh_serveq *eh_serveq_check(lua_State *L, int idx) {
  return (eh_serveq *)eh_checkudata(L, idx, eh_gethub(L)->serveq_mt, SERVEQ_MT);
}

/* The state C callbacks run Lua on: the one driving the loop. */
static lua_State *loop_state(eh_hub *h) {
  return h->loop_L ? h->loop_L : h->L;
}

/* Start a worker: {fn, args...} in a new green thread.  [-0, +0, m] */
static void spawn_worker(lua_State *L, eh_serveq *q) {
  int n, i;
  lua_rawgeti(L, LUA_REGISTRYINDEX, q->spawn_ref);
  n = (int)lua_rawlen(L, -1);
  luaL_checkstack(L, n + 2, "http_queue");
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  eh_spawn(L, q->hub, n - 1);
  eh_enqueue(q->hub, eh_tothread(L, -1));
  lua_pop(L, 2);
}

/* Make sure a worker is on its way to the ready list: wake a parked one,
 * or spawn one when none is parked. */
static void kick(lua_State *L, eh_serveq *q) {
  if (q->kicked > 0 || q->closed) return;
  q->kicked++;
  if (!eh_waitq_wake(L, &q->idle, 0)) spawn_worker(L, q);
  else lua_pop(L, 1);    /* the item the worker left: none */
}

/* Append s to the ready list (during a poll: to the poll's own list,
 * newest first, which keeps the kernel's order).  idle: it was quiet
 * for the trim time rather than readable. */
static void make_ready(eh_serveq *q, eh_sock *s, int idle) {
  s->qstate = Q_READY;
  s->qidle = (unsigned char)idle;
  if (q->hub->polling) {
    s->qnext = q->polled;
    q->polled = s;
    if (q->polled_tail == NULL) q->polled_tail = s;
    return;
  }
  s->qnext = NULL;
  if (q->tail) q->tail->qnext = s; else q->head = s;
  q->tail = s;
}

/* Move what the last poll readied to the ready list's tail. */
static void join_polled(eh_serveq *q) {
  if (q->polled == NULL) return;
  if (q->tail) q->tail->qnext = q->polled; else q->head = q->polled;
  q->tail = q->polled_tail;
  q->polled = q->polled_tail = NULL;
}

/* Let go of s: no longer a member (its registry ref released). */
static void release(lua_State *L, eh_sock *s) {
  if (ev_is_active(&s->dtimer)) ev_timer_stop(s->hub->loop, &s->dtimer);
  luaL_unref(L, LUA_REGISTRYINDEX, s->qref);
  s->qref = LUA_NOREF;
  s->q = NULL;
  s->qstate = Q_BUSY;
}

/* The check of a member's quiet time ran out: a dozing connection (its
 * idle deadline) or a watched one quiet for the trim time is handed out
 * as idle; any other is checked again later (the timer stays armed, so
 * watching costs nothing). */
static void trim_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  eh_sock *s = (eh_sock *)w->data;
  eh_serveq *q = s->q;
  double after;
  (void)revents;
  if (q == NULL) return;
  after = q->trim;
  if (s->qstate == Q_WATCHED) after -= ev_now(loop) - s->qsince;
  if (s->qstate == Q_DOZING || (s->qstate == Q_WATCHED && after <= TRIM_SLACK)) {
    make_ready(q, s, 1);
    kick(loop_state(q->hub), q);
    return;
  }
  ev_timer_set(w, after, 0.);
  ev_timer_start(loop, w);
}

/* Start s's quiet-time check unless it runs already.  Its priority is
 * the lowest, so when a long pass over the ready list has let the check
 * fall due, the poll that ends the pass reports the socket's readability
 * first: a connection whose request came during the pass is never taken
 * for a quiet one. */
static void arm_trim(eh_serveq *q, eh_sock *s) {
  if (ev_is_active(&s->dtimer)) return;
  ev_init(&s->dtimer, trim_cb);
  ev_set_priority(&s->dtimer, EV_MINPRI);
  s->dtimer.data = s;
  ev_timer_set(&s->dtimer, q->trim, 0.);
  ev_timer_start(q->hub->loop, &s->dtimer);
}

/* Watch s for its next request, or make it ready at once when bytes of
 * one are buffered already (pipelined; or inside OpenSSL). */
static void watch(eh_serveq *q, eh_sock *s) {
  if (s->len > 0 || eh_tls_pending(s)) {
    make_ready(q, s, 0);
    return;
  }
  s->qstate = Q_WATCHED;
  s->qsince = ev_now(q->hub->loop);
  eh_sock_arm(s, EV_READ, EV_READ);
  arm_trim(q, s);
}

/* A watched or dozing member turned readable (socket.c's reader
 * watcher).  A dozing one drops its idle deadline: watched again after
 * this request, it gets a quiet check anew. */
int eh_serveq_readable(eh_sock *s) {
  eh_serveq *q = s->q;
  if (s->qstate == Q_DOZING) {
    if (ev_is_active(&s->dtimer)) ev_timer_stop(q->hub->loop, &s->dtimer);
  } else if (s->qstate != Q_WATCHED) {
    return 0;                           /* ready or served already: stop watching */
  }
  if (!s->ridle) { ev_unref(q->hub->loop); s->ridle = 1; }  /* left armed */
  make_ready(q, s, 0);
  kick(loop_state(q->hub), q);
  return 1;
}

/* A member is closing: a busy, watched or dozing one leaves now; a ready
 * one stays listed (unlinking would walk the list) and leaves when
 * popped. */
void eh_serveq_closing(eh_sock *s) {
  if (s->q == NULL || s->qstate == Q_READY) return;
  release(loop_state(s->hub), s);
}

/* Take the first ready connection that is still open; NULL when none. */
static eh_sock *pop_ready(lua_State *L, eh_serveq *q) {
  eh_sock *s;
  join_polled(q);
  while ((s = q->head) != NULL) {
    q->head = s->qnext;
    if (q->head == NULL) q->tail = NULL;
    s->qnext = NULL;
    s->qstate = Q_BUSY;
    if (s->fd >= 0) return s;
    release(L, s);
  }
  return NULL;
}

static int next_k(lua_State *L, int status, lua_KContext ctx);

/* Hand the calling worker the next ready connection: pushes conn, or
 * conn, "idle", seconds quiet, and sets *out to its socket; parks while
 * none is ready (k runs then, with ctx the queue: its stack emptied, or
 * kept when keep is set); returns 0 when the queue closed or has workers
 * to spare.  [-0, +(0|1|3), e] */
int eh_serveq_take(lua_State *L, eh_serveq *q, eh_sock **out, lua_KFunction k, int keep) {
  eh_sock *s = pop_ready(L, q);
  if (s == NULL) {
    const char *what = "httpd: waiting for a request";
    if (q->closed || q->idle.n >= IDLE_WORKERS) return 0;
    q->kicked = 0;   /* none is on its way to an empty list that matters */
    if (keep) return eh_waitq_park_frame(L, &q->idle, what, k, (lua_KContext)q);
    return eh_waitq_park(L, &q->idle, -1, what, 0, 0, k, (lua_KContext)q);
  }
  if (q->head != NULL || q->polled != NULL) kick(L, q);
  eh_gethub(L)->current->flags |= EH_F_LENT;
  s->drained = 0;    /* readable: the next read tries the fd */
  *out = s;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->qref);
  if (!s->qidle) return 1;
  if (ev_is_active(&s->dtimer)) ev_timer_stop(q->hub->loop, &s->dtimer);
  lua_pushliteral(L, "idle");
  lua_pushnumber(L, ev_now(q->hub->loop) - s->qsince);
  return 3;
}

/* In the continuation of a park in eh_serveq_take: a kick (or close)
 * counted the worker on its way; a kill or Timeout is raised. */
void eh_serveq_woke(lua_State *L, eh_serveq *q) {
  int wake = eh_gethub(L)->current->wake;
  if (wake == EH_WAKE_UNPARK && q->kicked > 0) q->kicked--;
  eh_waitq_reason(L);
}

/* A parked worker woke: take a connection again.  [-0, +(0|1|3), e] */
static int next_k(lua_State *L, int status, lua_KContext ctx) {
  eh_serveq *q = (eh_serveq *)ctx;
  eh_sock *s;
  (void)status;
  eh_serveq_woke(L, q);
  lua_settop(L, 0);
  return eh_serveq_take(L, q, &s, next_k, 0);
}

/* Give back s (the connection the worker just served, or NULL) to be
 * watched for its next request; fresh: the worker's first call (it was
 * counted on its way).  Returns 0 when the worker must end: its last
 * handler took hold of its thread, or a Timeout of that request still
 * aims at it.  [-0, +0, m] */
int eh_serveq_give_back(lua_State *L, eh_serveq *q, eh_sock *s, int fresh) {
  eh_thread *t = q->hub->current;
  if (fresh && q->kicked > 0) q->kicked--;
  if (s != NULL && s->q == q && s->fd >= 0 && s->qstate == Q_BUSY && !q->closed) watch(q, s);
  if ((t->flags & EH_F_LENT) && (t->cancelled || t->timeouts))
    t->flags |= EH_F_SEEN;      /* a Timeout of its last request still aims at it */
  if (t->flags & EH_F_SEEN) {   /* its last handler holds it: it serves no other */
    if (q->head != NULL || q->polled != NULL) kick(L, q);
    return 0;
  }
  t->flags &= (unsigned char)~EH_F_LENT;
  return 1;
}

/* q:next([sock[, fresh]]) -> conn | conn, "idle", seconds | nothing: give
 * back sock (the connection just served, to watch for its next request),
 * then take the next ready connection (its conn table), parking while
 * there is none.  "idle": it was quiet for the trim time.  Nothing: the
 * queue closed, or enough workers are parked -- the worker ends.  fresh:
 * the worker's first call (it was counted on its way).  [-(0..2), +(0|1|3), e] */
static int l_next(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, 1);
  eh_sock *s = lua_isnoneornil(L, 2) ? NULL : eh_checksocket(L, 2);
  if (!eh_serveq_give_back(L, q, s, lua_toboolean(L, 3))) return 0;
  return eh_serveq_take(L, q, &s, next_k, 0);
}

/* q:add(sock, conn): make sock a member, ready now -- a connection just
 * accepted; conn is what workers are handed for it.  It stays a member
 * until it closes.  [-2, +0, e] */
static int l_add(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, 1);
  eh_sock *s = eh_checksocket(L, 2);
  luaL_checkany(L, 3);
  if (q->closed) return luaL_error(L, "http_queue: closed");
  if (s->fd < 0) return luaL_error(L, "http_queue: the socket is closed");
  if (s->q != NULL || s->reader != NULL || s->dormant)
    return luaL_error(L, "http_queue: the socket is waited on already");
  lua_settop(L, 3);
  s->qref = luaL_ref(L, LUA_REGISTRYINDEX);
  s->q = q;
  s->qnext = NULL;
  s->qsince = ev_now(q->hub->loop);
  make_ready(q, s, 0);
  arm_trim(q, s);
  kick(L, q);
  return 0;
}

/* q:doze(sock[, seconds]): sock, handed out as idle, waits on without
 * its read buffer until a request comes (handed out as ready again) or
 * seconds pass (as idle again; nil: no limit).  [-(1|2), +0, e] */
static int l_doze(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, 1);
  eh_sock *s = eh_checksocket(L, 2);
  double left = luaL_optnumber(L, 3, -1.);
  if (s->q != q || s->qstate != Q_BUSY || s->fd < 0)
    return luaL_error(L, "http_queue: doze: not a connection being served");
  if (ev_is_active(&s->dtimer)) ev_timer_stop(q->hub->loop, &s->dtimer);
  s->qstate = Q_DOZING;
  eh_sock_idle(s);   /* empty between requests: the buffer goes back */
  eh_sock_arm(s, EV_READ, EV_READ);
  if (left >= 0) {
    ev_timer_set(&s->dtimer, left, 0.);   /* trim_cb, lowest priority: arm_trim */
    ev_timer_start(q->hub->loop, &s->dtimer);
  }
  return 0;
}

/* q:close(): no more connections; parked workers wake with nothing and
 * end.  Members on the ready list (closed by the server's stop) leave;
 * the rest leave as they close.  [-0, +0, e] */
static int l_close(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, 1);
  eh_sock *s;
  if (q->closed) return 0;
  q->closed = 1;
  while ((s = pop_ready(L, q)) != NULL) release(L, s);
  while (q->idle.n > 0) {
    q->kicked++;
    eh_waitq_wake(L, &q->idle, 0);
    lua_pop(L, 1);
  }
  luaL_unref(L, LUA_REGISTRYINDEX, q->spawn_ref);
  q->spawn_ref = LUA_NOREF;
  return 0;
}

/* __tostring: "http_queue (3 parked workers)".  [-0, +1, m] */
static int l_tostring(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, 1);
  lua_pushfstring(L, "http_queue (%d parked workers%s)", q->idle.n, q->closed ? ", closed" : "");
  return 1;
}

/* q:counts() -> in_c, to_lua: requests q:serve() answered in C alone,
 * and connections it handed to Lua (a first request, a doze, anything
 * but the common answer: docs/httpd.md).  [-0, +2, -] */
static int l_counts(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, 1);
  lua_pushinteger(L, q->in_c);
  lua_pushinteger(L, q->to_lua);
  return 2;
}

/* __gc: unlink parked workers (they stay parked); the queue is only
 * collected once no member holds it.  [-0, +0, -] */
static int l_gc(lua_State *L) {
  eh_serveq *q = eh_serveq_check(L, 1);
  eh_waitq_clear(&q->idle);
  luaL_unref(L, LUA_REGISTRYINDEX, q->spawn_ref);
  q->spawn_ref = LUA_NOREF;
  return 0;
}

/* http_queue(limit, fn, ...) -> a queue whose workers run fn(..., queue)
 * in green threads of their own, and which hands out a watched connection
 * as idle after IDLE_TRIM seconds of quiet, or limit seconds if fewer
 * (the server's shortest timeout).  [-n, +1, e] */
static int l_http_queue(lua_State *L) {
  double limit = luaL_optnumber(L, 1, IDLE_TRIM);
  double trim = limit < IDLE_TRIM ? limit : IDLE_TRIM;
  int n = lua_gettop(L) - 1, i;
  eh_serveq *q;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_argcheck(L, trim > 0, 1, "trim time must be positive");
  q = (eh_serveq *)lua_newuserdatauv(L, sizeof *q, 0);
  memset(q, 0, sizeof *q);
  q->hub = eh_gethub(L);
  q->trim = trim;
  eh_waitq_init(&q->idle);
  luaL_setmetatable(L, SERVEQ_MT);
  lua_createtable(L, n + 1, 0);
  for (i = 1; i <= n; i++) {
    lua_pushvalue(L, 1 + i);
    lua_rawseti(L, -2, i);
  }
  lua_pushvalue(L, -2);        /* the queue: the last argument */
  lua_rawseti(L, -2, n + 1);
  q->spawn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static const luaL_Reg queue_methods[] = {
  {"next", l_next}, {"add", l_add}, {"doze", l_doze},
  {"close", l_close}, {"counts", l_counts}, {NULL, NULL}};

static const luaL_Reg queue_meta[] = {
  {"__tostring", l_tostring}, {"__gc", l_gc}, {"__close", l_close}, {"__index", NULL},
  {NULL, NULL}};

/* Create the queue's metatable.  [-0, +0, m] */
void eh_open_serveq(lua_State *L) {
  if (luaL_newmetatable(L, SERVEQ_MT)) {
    luaL_setfuncs(L, queue_meta, 0);
    luaL_newlib(L, queue_methods);
    eh_serveq_push_lane(L);
    lua_setfield(L, -2, "serve");
    lua_setfield(L, -2, "__index");
  }
  eh_gethub(L)->serveq_mt = lua_topointer(L, -1);
  lua_pop(L, 1);
}

const luaL_Reg eh_serveq_funcs[] = {{"http_queue", l_http_queue}, {NULL, NULL}};
