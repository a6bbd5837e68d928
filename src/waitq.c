/*
 * waitq.c -- core.waitq(): a FIFO of parked green threads, the waiters of
 * every coordination primitive (Event, Semaphore, Queue, pools, coros).
 *
 * A green thread waits in at most one place at a time, so the list is
 * intrusive: its links live in the thread record and waiting allocates
 * nothing.  Whatever ends a park -- a wake from this list, the park's
 * timeout, a kill or a Timeout -- goes through eh_wake(), which unlinks
 * the thread, so the list holds exactly the threads still parked here:
 * no stale records, and a cancelled waiter can never be handed an item.
 * A waiter may leave an item for its waker (a blocked putter's value);
 * it rides in the GreenThread's user value EH_UV_ITEM.
 */
#include "hub.h"

#define WAITQ_MT "eventlet.waitq"

/* Check that idx is a wait queue. */
static eh_waitq *check_waitq(lua_State *L, int idx) {
  return (eh_waitq *)luaL_checkudata(L, idx, WAITQ_MT);
}

/* Make q an empty list (for lists embedded in other objects). */
void eh_waitq_init(eh_waitq *q) {
  q->head = q->tail = NULL;
  q->n = 0;
}

/* Append t to q's tail. */
static void link_tail(eh_waitq *q, eh_thread *t) {
  t->wq = q;
  t->wq_next = NULL;
  t->wq_prev = q->tail;
  if (q->tail) q->tail->wq_next = t; else q->head = t;
  q->tail = t;
  q->n++;
}

/* Take t out of the wait queue it is in (a no-op when in none). */
void eh_waitq_unlink(eh_thread *t) {
  eh_waitq *q = t->wq;
  if (q == NULL) return;
  if (t->wq_prev) t->wq_prev->wq_next = t->wq_next; else q->head = t->wq_next;
  if (t->wq_next) t->wq_next->wq_prev = t->wq_prev; else q->tail = t->wq_prev;
  t->wq = NULL;
  t->wq_next = t->wq_prev = NULL;
  q->n--;
}

/* Unlink every waiter of q (which is going away): they stay parked, but
 * must not point at freed memory. */
void eh_waitq_clear(eh_waitq *q) {
  while (q->head) eh_waitq_unlink(q->head);
}

/* Push the item t left for its waker (nil if none) and clear it.
 * [-0, +1, -] */
static void take_item(lua_State *L, eh_thread *t) {
  if (!(t->flags & EH_F_ITEM)) { lua_pushnil(L); return; }
  t->flags &= (unsigned char)~EH_F_ITEM;
  eh_pushthread(L, t);
  lua_getiuservalue(L, -1, EH_UV_ITEM);
  lua_pushnil(L);
  lua_setiuservalue(L, -3, EH_UV_ITEM);
  lua_remove(L, -2);
}

/* Forget an item t left in an earlier wait that nobody took. */
static void drop_item(lua_State *L, eh_thread *t) {
  t->flags &= (unsigned char)~EH_F_ITEM;
  eh_pushthread(L, t);
  lua_pushnil(L);
  lua_setiuservalue(L, -2, EH_UV_ITEM);
  lua_pop(L, 1);
}

/* Leave the value at idx in t's record for whoever wakes it. */
static void leave_item(lua_State *L, eh_thread *t, int idx) {
  eh_pushthread(L, t);
  lua_pushvalue(L, idx);
  lua_setiuservalue(L, -2, EH_UV_ITEM);
  lua_pop(L, 1);
  t->flags |= EH_F_ITEM;
}

/* Park the running thread at q's tail.  what: a static label, or NULL to
 * use the string at labelidx (if any); itemidx: a value left for the
 * waker (0: none).  The stack is emptied; k then runs (with ctx) with the
 * wake values on it and calls eh_waitq_reason().  A kill or Timeout
 * already pending is raised by eh_park, which unlinks the thread first. */
int eh_waitq_park(lua_State *L, eh_waitq *q, double timeout, const char *what,
                  int labelidx, int itemidx, lua_KFunction k, lua_KContext ctx) {
  eh_thread *t = eh_gethub(L)->current;
  if (what == NULL && !eh_label_park(L, t, labelidx)) what = "waitq";
  if (t->flags & EH_F_ITEM) drop_item(L, t);  /* left by a wait that raised */
  if (itemidx != 0) leave_item(L, t, itemidx);
  lua_settop(L, 0);
  link_tail(q, t);
  return eh_park(L, timeout < 0 ? -1. : timeout, what, -1, ctx, k);
}

/* Park the running thread at q's tail, without a timeout or an item,
 * keeping its stack: the calling C function's frame is there when k runs
 * (its wakers pass no values).  The serve queue's lane parks so. */
int eh_waitq_park_frame(lua_State *L, eh_waitq *q, const char *what, lua_KFunction k,
                        lua_KContext ctx) {
  eh_thread *t = eh_gethub(L)->current;
  if (t->flags & EH_F_ITEM) drop_item(L, t);
  link_tail(q, t);
  return eh_park(L, -1., what, -1, ctx, k);
}

/* In the continuation of eh_waitq_park: forget an item nobody took and
 * return why the thread woke (EH_WAKE_UNPARK or EH_WAKE_TIMEOUT); a kill
 * or Timeout is raised.  [-0, +0, v] */
int eh_waitq_reason(lua_State *L) {
  eh_thread *t = eh_gethub(L)->current;
  if (t->flags & EH_F_ITEM) drop_item(L, t);  /* not taken by a waker */
  if (t->wake == EH_WAKE_CANCEL) lua_settop(L, 0);
  return eh_park_check(L);
}

/* Wake q's oldest waiter with the n values on top of L (consumed).
 * Returns 1 and pushes the item it left (nil if none), or returns 0
 * (values dropped) when nobody waits.  Never yields.  [-n, +(0|1), m] */
int eh_waitq_wake(lua_State *L, eh_waitq *q, int n) {
  eh_thread *t = q->head;
  if (t == NULL) { lua_pop(L, n); return 0; }
  eh_waitq_unlink(t);
  eh_unpark(L, t, n);
  take_item(L, t);
  return 1;
}

/* waitq() -> an empty wait queue.  [-0, +1, m] */
static int l_waitq(lua_State *L) {
  eh_waitq *q = (eh_waitq *)lua_newuserdatauv(L, sizeof *q, 0);
  eh_waitq_init(q);
  luaL_setmetatable(L, WAITQ_MT);
  return 1;
}

/* End of q:wait: report as park() does.  [-0, +(2|n), e] */
static int wait_k(lua_State *L, int status, lua_KContext ctx) {
  eh_thread *t = eh_gethub(L)->current;
  if (t->flags & EH_F_ITEM) drop_item(L, t);  /* not taken by a waker */
  return eh_park_result(L, status, ctx);
}

/* q:wait([timeout[, what[, item]]]) -> true, values... when woken by
 * q:wake; nil, "timeout" when timeout seconds passed first; raises a kill
 * or Timeout.  `what` names the wait for threads() and deadlock reports;
 * `item` is handed to the waker.  [-(0..3), +(2|n), e] */
static int wq_wait(lua_State *L) {
  eh_waitq *q = check_waitq(L, 1);
  double timeout = luaL_optnumber(L, 2, -1.);
  return eh_waitq_park(L, q, timeout, NULL, 3, lua_isnoneornil(L, 4) ? 0 : 4, wait_k, 0);
}

/* q:wake(...) -> true, item when the oldest waiter was woken with the
 * values (item: what it left, or nil); false when nobody waits.  Never
 * yields.  [-(n), +(1|2), e] */
static int wq_wake(lua_State *L) {
  eh_waitq *q = check_waitq(L, 1);
  if (!eh_waitq_wake(L, q, lua_gettop(L) - 1)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -2);
  return 2;
}

/* Unlink t and wake it with the n values on top of L (consumed),
 * discarding any item it left. */
static void hand_over(lua_State *L, eh_thread *t, int n) {
  eh_waitq_unlink(t);
  eh_unpark(L, t, n);
  if (t->flags & EH_F_ITEM) drop_item(L, t);
}

/* q:wake_all(...) -> how many waiters were woken, each with the values.
 * [-(n), +1, e] */
static int wq_wake_all(lua_State *L) {
  eh_waitq *q = check_waitq(L, 1);
  int n = lua_gettop(L) - 1, woken = 0, i;
  eh_thread *t;
  while ((t = q->head) != NULL) {
    luaL_checkstack(L, n, "too many values");
    for (i = 2; i <= n + 1; i++) lua_pushvalue(L, i);
    hand_over(L, t, n);
    woken++;
  }
  lua_pushinteger(L, woken);
  return 1;
}

/* q:wake_thread(gt, ...) -> true when gt was waiting here and was woken
 * with the values; false otherwise.  [-(n), +1, e] */
static int wq_wake_thread(lua_State *L) {
  eh_waitq *q = check_waitq(L, 1);
  eh_thread *t = eh_checkthread(L, 2);
  if (t->wq != q) { lua_pushboolean(L, 0); return 1; }
  hand_over(L, t, lua_gettop(L) - 2);
  lua_pushboolean(L, 1);
  return 1;
}

/* #q, q:count() -> how many threads wait here.  [-0, +1, -] */
static int wq_count(lua_State *L) {
  lua_pushinteger(L, check_waitq(L, 1)->n);
  return 1;
}

/* __tostring: "waitq (2 waiting)".  [-0, +1, m] */
static int wq_tostring(lua_State *L) {
  lua_pushfstring(L, "waitq (%d waiting)", check_waitq(L, 1)->n);
  return 1;
}

/* __gc: threads still parked here stay parked (nobody can wake them any
 * more; their timeouts, kills and deadlock detection still can).
 * [-0, +0, -] */
static int wq_gc(lua_State *L) {
  eh_waitq_clear(check_waitq(L, 1));
  return 0;
}

static const luaL_Reg wq_methods[] = {
  {"wait", wq_wait}, {"wake", wq_wake}, {"wake_all", wq_wake_all},
  {"wake_thread", wq_wake_thread}, {"count", wq_count}, {NULL, NULL}};

static const luaL_Reg wq_meta[] = {
  {"__len", wq_count}, {"__tostring", wq_tostring}, {"__gc", wq_gc},
  {"__index", NULL}, {NULL, NULL}};

/* Register the wait queue metatable.  [-0, +0, m] */
void eh_open_waitq(lua_State *L) {
  if (luaL_newmetatable(L, WAITQ_MT)) {
    luaL_setfuncs(L, wq_meta, 0);
    luaL_newlib(L, wq_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

const luaL_Reg eh_waitq_funcs[] = {{"waitq", l_waitq}, {NULL, NULL}};
