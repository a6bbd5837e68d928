/*
 * tpool.c -- tpool_execute(job, ...): run a C job (tpool.h) on the
 * worker pool (workers.c) and park only the calling green thread until it
 * is done.  A Timeout or kill ends the wait early; the job then finishes
 * on its own and its block is released on the loop thread.
 *
 * A job is named by a light userdata pointing at its eh_tpool_job; only
 * pointers registered in the registry table TPOOL_JOBS_KEY are accepted,
 * so a stray pointer can never be called.
 */
#include <stdlib.h>

#include "tpool.h"
#include "workers.h"

#define TPOOL_JOBS_KEY "eventlet.tpool.jobs"

/* One execute() in flight: the job's description and its block. */
typedef struct eh_call {
  const eh_tpool_job *desc;
  void *block;
} eh_call;

/* On a pool thread: run the job. */
static void call_run(void *data) {
  eh_call *c = (eh_call *)data;
  c->desc->run(c->block);
}

/* On the loop thread: free a call whose waiter gave up or is done. */
static void call_release(void *data) {
  eh_call *c = (eh_call *)data;
  c->desc->release(c->block);
  free(c);
}

/* Register a job and push it as a light userdata.  [-0, +1, m] */
void eh_tpool_pushjob(lua_State *L, const eh_tpool_job *desc) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, TPOOL_JOBS_KEY) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, TPOOL_JOBS_KEY);
  }
  lua_pushboolean(L, 1);
  lua_rawsetp(L, -2, desc);
  lua_pop(L, 1);
  lua_pushlightuserdata(L, (void *)desc);
}

/* The job at idx, or a raised error when it is not a registered one. */
static const eh_tpool_job *checkjob(lua_State *L, int idx) {
  const void *p = lua_touserdata(L, idx);
  int known;
  if (!lua_islightuserdata(L, idx))
    luaL_argerror(L, idx, "a C job (light userdata from a C module) expected: "
                  "Lua code cannot run on the thread pool");
  if (lua_getfield(L, LUA_REGISTRYINDEX, TPOOL_JOBS_KEY) == LUA_TTABLE) {
    known = lua_rawgetp(L, -1, p) == LUA_TBOOLEAN;
    lua_pop(L, 2);
  } else {
    known = 0;
    lua_pop(L, 1);
  }
  if (!known) luaL_argerror(L, idx, "not a registered tpool job");
  return (const eh_tpool_job *)p;
}

/* Continuation: claim the block and push the results, or let the kill or
 * Timeout that ended the wait be raised.  The call is at index 1. */
static int execute_k(lua_State *L, int status, lua_KContext ctx) {
  eh_job *job = (eh_job *)ctx;
  eh_call *c = (eh_call *)lua_touserdata(L, 1);
  int n;
  (void)status;
  if (!eh_work_finish(L, job)) {
    eh_park_check(L);  /* raises: only a cancel ends a wait without timeout */
    return luaL_error(L, "tpool: the wait for %s ended early", c->desc->name);
  }
  lua_settop(L, 1);
  n = c->desc->push(L, c->block);
  call_release(c);
  return n;
}

/* tpool_execute(job, ...) -> the job's results.  Parks the calling green
 * thread while a pool thread runs the job.  [-0, +?, e] */
static int l_execute(lua_State *L) {
  const eh_tpool_job *desc = checkjob(L, 1);
  eh_call *c;
  eh_job *job;
  void *block = desc->prepare(L, 2, lua_gettop(L) - 1);
  c = (eh_call *)malloc(sizeof *c);
  if (c == NULL) {
    desc->release(block);
    return luaL_error(L, "tpool: not enough memory");
  }
  c->desc = desc;
  c->block = block;
  lua_settop(L, 0);
  lua_pushlightuserdata(L, c);
  job = eh_work_submit(L, call_run, call_release, c);
  return eh_work_park(L, job, -1., desc->name, (lua_KContext)job, execute_k);
}

/* tpool_jobs() -> {read=, write=, stat=, sleep=}: the core's own jobs.
 * [-0, +1, m] */
static int l_jobs(lua_State *L) {
  lua_newtable(L);
  eh_push_fsjobs(L);
  return 1;
}

/* Create the registry of jobs.  [-0, +0, m] */
void eh_open_tpool(lua_State *L) {
  lua_newtable(L);
  eh_push_fsjobs(L);  /* registers them */
  lua_pop(L, 1);
}

const luaL_Reg eh_tpool_funcs[] = {
  {"tpool_execute", l_execute}, {"tpool_jobs", l_jobs}, {NULL, NULL}};
