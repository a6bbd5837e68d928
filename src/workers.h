/*
 * workers.h -- a small pthread pool for blocking C calls (getaddrinfo,
 * file I/O, user jobs), woken back into the hub through one ev_async.
 *
 *   job = eh_work_submit(L, work, discard, data);   // work(data) runs on a
 *   return eh_work_park(L, job, timeout, "what", ctx, k);   // pool thread
 *
 *   static int k(lua_State *L, int status, lua_KContext ctx) {
 *     int done = eh_work_finish(L, job);  // 1: data is yours again
 *     ... if done: read the results from data, free it ...
 *     eh_park_check(L);                   // then raise kill/Timeout
 *     if (!done) return nil, "timeout";
 *   }
 *
 * A wait that ends early (its timeout, a kill, a Timeout) abandons the
 * job: the worker still finishes it, and discard(data) then runs on the
 * loop thread, so nothing is freed under a running worker.  Keep the job
 * pointer where k finds it (ctx, or a userdata at a fixed index).
 */
#ifndef EVENTLET_WORKERS_H
#define EVENTLET_WORKERS_H

#include "hub.h"

#define EH_WORKERS_MAX 4   /* threads in the pool, started on demand */

typedef struct eh_job eh_job;
typedef void (*eh_work_fn)(void *data);

/* Queue work(data) for a pool thread; discard(data) (may be NULL) runs
 * on the loop thread if the job is abandoned.  Raises on memory. */
eh_job *eh_work_submit(lua_State *L, eh_work_fn work, eh_work_fn discard,
                       void *data);
/* Park the running green thread until the job finishes (or timeout < 0
 * never), then k.  The hub stays alive while a job is waited on. */
int eh_work_park(lua_State *L, eh_job *job, double timeout, const char *what,
                 lua_KContext ctx, lua_KFunction k);
/* In k, before eh_park_check: 1 when the job finished (its data is the
 * caller's again; the job record is freed), 0 when the wait ended early
 * (the job is abandoned: discard(data) runs once it finishes). */
int eh_work_finish(lua_State *L, eh_job *job);
/* Jobs queued or running (for stats and specs). */
int eh_work_pending(void);
/* work_sleep, work_pending for Lua (core_parts). */
extern const luaL_Reg eh_workers_funcs[];

#endif
