/*
 * tpool.h -- C jobs for eventlet.tpool.execute.
 *
 * Lua code cannot run on a pool thread (a lua_State belongs to one OS
 * thread), so what runs there is C that a module describes with an
 * eh_tpool_job and hands to Lua as a light userdata:
 *
 *   static const eh_tpool_job my_job = {"mymod.crunch", prepare, run,
 *                                       push, release};
 *   eh_tpool_pushjob(L, &my_job);   // registers it; e.g. mymod.crunch
 *
 *   tpool.execute(mymod.crunch, arg1, arg2)  -- parks this green thread
 *
 * prepare (loop thread) copies the Lua arguments into a malloc'd block
 * (never keep pointers into Lua strings: the caller may be cancelled while
 * the job runs); run (pool thread) does the blocking work on the block,
 * touching no Lua state; push (loop thread) pushes the results and returns
 * how many; release (loop thread) frees the block -- also for a job whose
 * caller gave up (Timeout, kill), once the worker is done with it.
 */
#ifndef EVENTLET_TPOOL_H
#define EVENTLET_TPOOL_H

#include "hub.h"

typedef struct eh_tpool_job {
  const char *name;                                   /* for threads() */
  void *(*prepare)(lua_State *L, int first, int n);   /* args first..first+n-1 */
  void (*run)(void *block);                           /* on a pool thread */
  int (*push)(lua_State *L, void *block);             /* results, count */
  void (*release)(void *block);                       /* free the block */
} eh_tpool_job;

/* tpool.c */
extern const luaL_Reg eh_tpool_funcs[];
/* Register a job (so execute accepts it) and push it.  [-0, +1, m] */
void eh_tpool_pushjob(lua_State *L, const eh_tpool_job *desc);
void eh_open_tpool(lua_State *L);

/* fsjobs.c: set read, write, stat and sleep in the table on top. */
void eh_push_fsjobs(lua_State *L);

#endif
