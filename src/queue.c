/*
 * queue.c -- core.queue(): the engine of eventlet.Queue, LightQueue,
 * LifoQueue and PriorityQueue.
 *
 * A bounded buffer of items between green threads, with its getters,
 * putters and joiners in wait queues (waitq.c) embedded in the object.
 * put hands an item straight to the oldest waiting getter; get takes the
 * oldest buffered item and lets the oldest blocked putter in.  A waiter
 * that times out or is killed leaves its wait queue as its park ends, so
 * an item is only ever handed to a thread that will return it: nothing is
 * lost or delivered twice.  A blocked putter's item rides with its wait
 * (the waitq item) until a getter takes it.
 *
 * The buffer discipline is FIFO (a ring in the first user value), LIFO (a
 * stack there) or custom: a Lua object in the second user value whose
 * push(item) and pop() methods keep the items (PriorityQueue's heap).
 * Everything runs in C with no allocation once the ring has grown, so a
 * ping-pong between two threads costs one C call per put and per get.
 */
#include <math.h>

#include "hub.h"

#define QUEUE_MT "eventlet.Queue"

enum { UV_ITEMS = 1, UV_BUFFER, UV_COUNT = UV_BUFFER };
enum { Q_FIFO, Q_LIFO, Q_CUSTOM };

typedef struct eh_queue {
  eh_waitq getters, putters, joiners;
  double maxsize;          /* HUGE_VAL: unbounded */
  lua_Integer unfinished;  /* items accepted and not yet task_done() */
  const char *name;        /* class name, for __tostring */
  int kind;
  int head, n, cap;        /* ring (FIFO) or stack (LIFO) in UV_ITEMS */
} eh_queue;

static const char *const kind_names[] = {
  "Queue", "LightQueue", "LifoQueue", "PriorityQueue", NULL};

/* Return nil, why: the expected failure of a wait (timeout, "full"...). */
static int fail(lua_State *L, const char *why) {
  luaL_pushfail(L);
  lua_pushstring(L, why);
  return 2;
}

/* Return true. */
static int done(lua_State *L) {
  lua_pushboolean(L, 1);
  return 1;
}

/* Check that idx is a queue. */
static eh_queue *check_queue(lua_State *L, int idx) {
  return (eh_queue *)luaL_checkudata(L, idx, QUEUE_MT);
}

/* Read a maxsize argument: nil or negative means unbounded. */
static double check_maxsize(lua_State *L, int idx, const char *who) {
  double m;
  if (lua_isnoneornil(L, idx)) return HUGE_VAL;
  m = lua_tonumber(L, idx);
  if (lua_type(L, idx) != LUA_TNUMBER || m != m)
    luaL_error(L, "%s: maxsize must be a number or nil, got %s", who,
               luaL_tolstring(L, idx, NULL));
  return m < 0 ? HUGE_VAL : m;
}

/* Read an optional timeout: -1 when absent, else a non-negative number. */
static double check_timeout(lua_State *L, int idx, const char *who) {
  double t;
  if (lua_isnoneornil(L, idx)) return -1.;
  t = lua_tonumber(L, idx);
  if (lua_type(L, idx) != LUA_TNUMBER || t < 0 || t != t)
    luaL_error(L, "%s: timeout must be a non-negative number, got %s", who,
               luaL_tolstring(L, idx, NULL));
  return t;
}

/* Move the FIFO ring into a table twice as large, oldest item first. */
static void grow_ring(lua_State *L, eh_queue *q, int self) {
  int cap = q->cap ? q->cap * 2 : 8, i;
  lua_getiuservalue(L, self, UV_ITEMS);
  lua_createtable(L, cap, 0);
  for (i = 0; i < q->n; i++) {
    lua_rawgeti(L, -2, (q->head + i) % q->cap + 1);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setiuservalue(L, self, UV_ITEMS);
  lua_pop(L, 1);
  q->head = 0;
  q->cap = cap;
}

/* Call method `name` of the custom buffer with nargs arguments on top.
 * [-nargs, +nres, e] */
static void call_buffer(lua_State *L, int self, const char *name, int nargs, int nres) {
  lua_getiuservalue(L, self, UV_BUFFER);
  lua_getfield(L, -1, name);
  lua_insert(L, -(nargs + 2));
  lua_insert(L, -(nargs + 1));
  lua_call(L, nargs + 1, nres);
}

/* Add the item at the top of the stack to the buffer.  [-1, +0, e] */
static void push_item(lua_State *L, eh_queue *q, int self) {
  switch (q->kind) {
  case Q_FIFO:
    if (q->n == q->cap) grow_ring(L, q, self);
    lua_getiuservalue(L, self, UV_ITEMS);
    lua_insert(L, -2);
    lua_rawseti(L, -2, (q->head + q->n) % q->cap + 1);
    break;
  case Q_LIFO:
    lua_getiuservalue(L, self, UV_ITEMS);
    lua_insert(L, -2);
    lua_rawseti(L, -2, q->n + 1);
    break;
  default:
    call_buffer(L, self, "push", 1, 0);
    q->n++;
    return;
  }
  lua_pop(L, 1);
  q->n++;
}

/* Take the next item out of the (non-empty) buffer.  [-0, +1, e] */
static void pop_item(lua_State *L, eh_queue *q, int self) {
  int slot;
  if (q->kind == Q_CUSTOM) {
    call_buffer(L, self, "pop", 0, 1);
    q->n--;
    return;
  }
  if (q->kind == Q_FIFO) {
    slot = q->head + 1;
    q->head = (q->head + 1) % q->cap;
  } else {
    slot = q->n;
  }
  q->n--;
  if (q->n == 0) q->head = 0;
  lua_getiuservalue(L, self, UV_ITEMS);
  lua_rawgeti(L, -1, slot);
  lua_pushnil(L);
  lua_rawseti(L, -3, slot);  /* let the item be collected */
  lua_remove(L, -2);
}

/* Wake the oldest blocked putter, pushing its item.  Returns 0 (nothing
 * pushed) when none waits.  [-0, +(0|1), e] */
static int take_putter(lua_State *L, eh_queue *q) {
  if (q->putters.n == 0) return 0;
  eh_waitq_wake(L, &q->putters, 0);
  q->unfinished++;
  return 1;
}

/* Move blocked putters' items into the buffer while there is room. */
static void admit_putters(lua_State *L, eh_queue *q, int self) {
  while (q->n < q->maxsize && take_putter(L, q)) push_item(L, q, self);
}

/* Continuation of a put or join that waited: true when woken, else
 * nil and the reason in ctx ("full", "timeout").  */
static int done_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  if (eh_waitq_reason(L) == EH_WAKE_UNPARK) return done(L);
  return fail(L, (const char *)ctx);
}

/* The body of put and put_nowait: the item at 2; timeout -1: forever. */
static int put(lua_State *L, eh_queue *q, double timeout) {
  lua_settop(L, 2);
  if (q->getters.n > 0) {  /* straight to the oldest getter */
    lua_pushvalue(L, 2);
    eh_waitq_wake(L, &q->getters, 1);
    q->unfinished++;
    return done(L);
  }
  if (q->n < q->maxsize && q->putters.n == 0) {  /* no barging past putters */
    lua_pushvalue(L, 2);
    push_item(L, q, 1);
    q->unfinished++;
    return done(L);
  }
  if (timeout == 0) return fail(L, "full");
  return eh_waitq_park(L, &q->putters, timeout, "Queue:put", 0, 2, done_k,
                       (lua_KContext)"full");
}

/* q:put(item[, timeout]) -> true, or nil, "full" when the queue stayed
 * full for timeout seconds (0: don't wait; nil: forever).  Hands the item
 * straight to the oldest waiting getter if there is one.
 * [-(1|2), +(1|2), e] */
static int q_put(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  double timeout = check_timeout(L, 3, "Queue:put");
  if (lua_isnoneornil(L, 2)) return luaL_error(L, "Queue:put: nil items are not allowed");
  return put(L, q, timeout);
}

/* q:put_nowait(item) -> true, or nil, "full".  [-1, +(1|2), e] */
static int q_put_nowait(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  if (lua_isnoneornil(L, 2)) return luaL_error(L, "Queue:put_nowait: nil items are not allowed");
  return put(L, q, 0);
}

/* Continuation of a get that waited: the item, or nil, "empty". */
static int get_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status; (void)ctx;
  if (eh_waitq_reason(L) == EH_WAKE_UNPARK) return 1;  /* put's item */
  return fail(L, "empty");
}

/* The body of get and get_nowait; timeout -1: forever. */
static int get(lua_State *L, eh_queue *q, double timeout) {
  lua_settop(L, 1);
  if (q->n > 0) {
    pop_item(L, q, 1);
    if (q->n < q->maxsize && take_putter(L, q)) push_item(L, q, 1);
    return 1;
  }
  if (take_putter(L, q)) return 1;  /* rendezvous: a blocked putter's item */
  if (timeout == 0) return fail(L, "empty");
  return eh_waitq_park(L, &q->getters, timeout, "Queue:get", 0, 0, get_k, 0);
}

/* q:get([timeout]) -> the next item, or nil, "empty" when none came
 * within timeout seconds (0: don't wait; nil: forever).  [-(0|1), +(1|2), e] */
static int q_get(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  return get(L, q, check_timeout(L, 2, "Queue:get"));
}

/* q:get_nowait() -> the next item, or nil, "empty".  [-0, +(1|2), e] */
static int q_get_nowait(lua_State *L) {
  return get(L, check_queue(L, 1), 0);
}

/* q:task_done(): one accepted item was processed; join() returns once
 * every one was.  [-0, +0, e] */
static int q_task_done(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  if (q->unfinished <= 0) return luaL_error(L, "Queue:task_done: called too many times");
  if (--q->unfinished == 0)
    while (eh_waitq_wake(L, &q->joiners, 0)) lua_pop(L, 1);
  return 0;
}

/* q:join([timeout]) -> true once every accepted item was task_done();
 * nil, "timeout" when timeout seconds pass first.  [-(0|1), +(1|2), e] */
static int q_join(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  double timeout = check_timeout(L, 2, "Queue:join");
  if (q->unfinished == 0) return done(L);
  if (timeout == 0) return fail(L, "timeout");
  return eh_waitq_park(L, &q->joiners, timeout, "Queue:join", 0, 0, done_k,
                       (lua_KContext)"timeout");
}

/* q:resize(maxsize): change the bound (nil or negative: unbounded).
 * Growing admits blocked putters; shrinking keeps what is buffered.
 * [-1, +0, e] */
static int q_resize(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  q->maxsize = check_maxsize(L, 2, "Queue:resize");
  lua_settop(L, 1);
  admit_putters(L, q, 1);
  return 0;
}

/* q:qsize() -> the number of items buffered.  [-0, +1, -] */
static int q_qsize(lua_State *L) {
  lua_pushinteger(L, check_queue(L, 1)->n);
  return 1;
}

/* q:empty() -> true when nothing is buffered (always for Queue(0)). */
static int q_empty(lua_State *L) {
  lua_pushboolean(L, check_queue(L, 1)->n == 0);
  return 1;
}

/* q:full() -> true when put would block (always for Queue(0)). */
static int q_full(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  lua_pushboolean(L, q->n >= q->maxsize);
  return 1;
}

/* q:getting() -> the number of threads blocked in get. */
static int q_getting(lua_State *L) {
  lua_pushinteger(L, check_queue(L, 1)->getters.n);
  return 1;
}

/* q:putting() -> the number of threads blocked in put. */
static int q_putting(lua_State *L) {
  lua_pushinteger(L, check_queue(L, 1)->putters.n);
  return 1;
}

/* q:unfinished() -> items accepted and not yet task_done(). */
static int q_unfinished(lua_State *L) {
  lua_pushinteger(L, check_queue(L, 1)->unfinished);
  return 1;
}

/* q:maxsize() -> the bound, or nil when unbounded. */
static int q_maxsize(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  if (q->maxsize == HUGE_VAL) return 0;
  if (q->maxsize == floor(q->maxsize)) lua_pushinteger(L, (lua_Integer)q->maxsize);
  else lua_pushnumber(L, q->maxsize);
  return 1;
}

/* __tostring: "Queue (2 items, maxsize 10, 0 getting, 0 putting)". */
static int q_tostring(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  if (q->maxsize == HUGE_VAL)
    lua_pushliteral(L, "none");
  else
    q_maxsize(L);
  lua_pushfstring(L, "%s (%d items, maxsize %s, %d getting, %d putting)", q->name,
                  q->n, lua_tostring(L, -1), q->getters.n, q->putters.n);
  return 1;
}

/* __gc: threads still blocked here stay parked (their timeouts, kills and
 * deadlock detection still end them) but must not point at freed memory. */
static int q_gc(lua_State *L) {
  eh_queue *q = check_queue(L, 1);
  eh_waitq_clear(&q->getters);
  eh_waitq_clear(&q->putters);
  eh_waitq_clear(&q->joiners);
  return 0;
}

/* queue(kind, maxsize[, buffer]) -> a queue.  kind: "Queue", "LightQueue"
 * (FIFO), "LifoQueue" or "PriorityQueue" (needs buffer: an object with
 * push(item) and pop() methods).  [-(2|3), +1, e] */
static int l_queue(lua_State *L) {
  int kind = luaL_checkoption(L, 1, NULL, kind_names);
  double maxsize = check_maxsize(L, 2, kind_names[kind]);
  eh_queue *q = (eh_queue *)lua_newuserdatauv(L, sizeof *q, UV_COUNT);
  eh_waitq_init(&q->getters);
  eh_waitq_init(&q->putters);
  eh_waitq_init(&q->joiners);
  q->maxsize = maxsize;
  q->unfinished = 0;
  q->name = kind_names[kind];
  q->kind = kind <= 1 ? Q_FIFO : kind == 2 ? Q_LIFO : Q_CUSTOM;
  q->head = q->n = 0;
  q->cap = 8;
  luaL_setmetatable(L, QUEUE_MT);
  lua_createtable(L, q->kind == Q_CUSTOM ? 0 : q->cap, 0);
  lua_setiuservalue(L, -2, UV_ITEMS);
  if (q->kind == Q_CUSTOM) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, -2, UV_BUFFER);
  }
  return 1;
}

static const luaL_Reg q_methods[] = {
  {"put", q_put}, {"get", q_get}, {"put_nowait", q_put_nowait},
  {"get_nowait", q_get_nowait}, {"task_done", q_task_done}, {"join", q_join},
  {"resize", q_resize}, {"qsize", q_qsize}, {"empty", q_empty},
  {"full", q_full}, {"getting", q_getting}, {"putting", q_putting},
  {"unfinished", q_unfinished}, {"maxsize", q_maxsize}, {NULL, NULL}};

static const luaL_Reg q_meta[] = {
  {"__tostring", q_tostring}, {"__gc", q_gc}, {"__index", NULL}, {NULL, NULL}};

/* Register the queue metatable.  [-0, +0, m] */
void eh_open_queue(lua_State *L) {
  if (luaL_newmetatable(L, QUEUE_MT)) {
    luaL_setfuncs(L, q_meta, 0);
    luaL_newlib(L, q_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

const luaL_Reg eh_queue_funcs[] = {{"queue", l_queue}, {NULL, NULL}};
