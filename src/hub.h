/*
 * hub.h -- the hub: one libev loop, a FIFO run queue and green threads.
 *
 * A green thread is a Lua coroutine owned by the hub plus the C record
 * below, which lives inside the GreenThread userdata.  The coroutine is the
 * userdata's first user value, so the lua_State pointer kept here can never
 * dangle: it lives exactly as long as the record that holds it.  Every
 * green thread that has not finished is anchored in the registry, so a
 * parked thread is never collected.
 *
 * Every blocking operation ends in eh_park(): arm what can wake the thread
 * (a watcher of the caller's, the park timer, an explicit unpark), then
 * yield with a continuation.  The hub resumes the thread with the wake
 * reason in t->wake and any values handed over by eh_unpark() on top of
 * the stack.
 */
#ifndef EVENTLET_HUB_H
#define EVENTLET_HUB_H

#include <ev.h>
#include <lua.h>
#include <lauxlib.h>

#include "bufpool.h"

#define EH_THREAD_MT "eventlet.GreenThread"

/* Lifecycle of a green thread. */
enum eh_state {
  EH_NEW,      /* spawned, never resumed; sits in the run queue */
  EH_READY,    /* in the run queue (woken, or yielded with sleep(0)) */
  EH_RUNNING,  /* executing now (or driving a nested loop) */
  EH_PARKED,   /* waiting in eh_park() */
  EH_DEAD      /* finished: results or error kept for :wait() */
};

/* Why a parked thread was woken. */
enum eh_wake {
  EH_WAKE_NONE,
  EH_WAKE_UNPARK,   /* eh_unpark(): values on the stack */
  EH_WAKE_TIMEOUT,  /* the park's own timeout ran out */
  EH_WAKE_IO,       /* the caller's watcher fired */
  EH_WAKE_CANCEL    /* kill or Timeout: the error is raised by the park */
};

/* Flags of a green thread. */
#define EH_F_NESTED   0x01  /* parked in a nested loop, not by a yield */
#define EH_F_ERROR    0x02  /* died with an error */
#define EH_F_MAIN     0x04  /* the pseudo-thread of non-hub callers */
#define EH_F_KILLED   0x08  /* killed before it started: never runs */
#define EH_F_FINISHED 0x10  /* its function returned: results kept */
#define EH_F_ITEM     0x20  /* EH_UV_ITEM holds an item for its waker */
#define EH_F_LENT     0x40  /* a server's worker serving a request (serveq.c) */
#define EH_F_SEEN     0x80  /* ...whose handler took hold of it: getcurrent() */

/* User values of a GreenThread userdata. */
enum {
  EH_UV_CO = 1,     /* the coroutine */
  EH_UV_WHAT,       /* what it waits on (string), for introspection */
  EH_UV_CANCEL,     /* a fired Timeout (sticky) or a kill error (once) */
  EH_UV_EXTRA,      /* lazily created table: name, links, waiters, locals */
  EH_UV_WAITER,     /* the first thread in :wait() for this one */
  EH_UV_ITEM,       /* what it left for the waker of its waitq wait */
  EH_UV_COUNT = EH_UV_ITEM
};

typedef struct eh_hub eh_hub;

typedef struct eh_thread eh_thread;
typedef struct eh_waitq eh_waitq;

struct eh_thread {
  eh_thread *next;        /* run queue link */
  eh_waitq *wq;           /* the wait queue it is parked in, if any */
  eh_thread *wq_prev, *wq_next;  /* its neighbours there */
  eh_hub *hub;
  lua_State *co;          /* the coroutine (user value EH_UV_CO) */
  lua_State *top;         /* innermost coroutine resumed by our wrappers */
  lua_State *wake_L;      /* the stack eh_unpark() pushes values onto */
  ev_timer timer;         /* the park timeout */
  const char *what;       /* static description of a C-level wait */
  const void *what_lua;   /* the string in EH_UV_WHAT (skip re-storing it) */
  double born;            /* ev_now() at spawn */
  unsigned long switches; /* times resumed */
  unsigned id;
  unsigned seq;           /* wait generation: bumped by every park */
  unsigned waiter_seq;    /* park number of EH_UV_WAITER's wait */
  int ref;                /* key of the GreenThread in the live table */
  int nwake;              /* values waiting to be delivered on resume */
  int nres;               /* results kept on a finished thread's stack */
  int what_fd;            /* fd of a C-level wait, or -1 */
  const void *cancel_owner; /* the Timeout whose firing is pending */
  unsigned char state, wake, flags;
  unsigned char cancelled;   /* EH_UV_CANCEL holds a value */
  unsigned char cancel_once; /* ...which is a kill: delivered once */
  unsigned char lazy_timer;  /* timer left armed, unref'd, by an ended park */
  unsigned short timeouts;   /* armed Timeouts aimed at it (timeout.c) */
  double deadline;        /* eh_monotonic() when the park times out, if past
                             its kept timer's expiry (parktimer.c); else 0 */
};

struct eh_hub {
  struct ev_loop *loop;
  lua_State *L;            /* the main state */
  lua_State *loop_L;       /* state driving the loop now (for callbacks) */
  eh_thread *head, *tail;  /* run queue */
  eh_thread *polled, *polled_tail;   /* woken by I/O in the poll under way,
                                        newest first (hub.c: enqueue_polled) */
  int polling;             /* nesting depth of ev_run calls under way */
  eh_thread *current;      /* running green thread, or main */
  eh_thread *main;         /* pseudo-thread for non-hub callers */
  ev_tstamp last_poll;     /* when the loop last polled for I/O */
  unsigned long switches;
  unsigned long spawned;
  unsigned next_id;
  int live;                /* green threads not yet dead */
  int parked;              /* of which parked */
  int depth;               /* nesting depth of hub loops */
  int active;              /* active libev watchers at the last poll */
  int print_errors;        /* print errors that end a green thread */
  int live_ref;            /* registry table anchoring live threads */
  int onerror_ref;         /* Lua function reporting thread errors */
  eh_bufpool bufs;         /* sockets' read buffers (bufpool.c) */
  const void *socket_mt;   /* metatables, for eh_checkudata's quick test */
  const void *parser_mt;
  const void *serveq_mt;
};

/* hub.c */
eh_hub *eh_gethub(lua_State *L);
eh_hub *eh_openhub(lua_State *L);
eh_thread *eh_current(eh_hub *h);
void eh_enqueue(eh_hub *h, eh_thread *t);
void eh_enqueue_polled(eh_hub *h, eh_thread *t);
double eh_monotonic(void);
void eh_inittimer(eh_thread *t);   /* parktimer.c */
void eh_park_timer_arm(eh_hub *h, eh_thread *t, double timeout);
void eh_park_timer_release(eh_hub *h, eh_thread *t);
void eh_park_timer_stop(eh_hub *h, eh_thread *t);
int eh_park_timer_pending(const eh_thread *t);
double eh_park_timer_left(eh_thread *t);
void eh_set_cancel(lua_State *L, eh_thread *t, int idx, const void *owner);
void eh_clear_cancel(lua_State *L, eh_thread *t, const void *owner);
void eh_wake(eh_thread *t, int reason);
void eh_wake_polled(eh_thread *t);
int eh_unpark(lua_State *from, eh_thread *t, int nvalues);
int eh_park(lua_State *L, double timeout, const char *what, int fd,
            lua_KContext ctx, lua_KFunction k);
int eh_park_check(lua_State *L);
int eh_sleep0(lua_State *L, lua_KContext ctx, lua_KFunction k);
void eh_run(lua_State *L, eh_hub *h, eh_thread *until);
void eh_wait_nested(lua_State *L, eh_thread *t);
int eh_raise_cancel(lua_State *L, eh_thread *t);
int eh_pending_cancel(lua_State *L, eh_thread *t);
void *eh_sentinel(void);
void *eh_checkudata(lua_State *L, int idx, const void *mt, const char *tname);
size_t eh_fmt_uint(char *out, unsigned long long v);

/* use_hub() replaces the loop (backend.c, hub.c).  A C part that keeps
 * watchers armed on h->loop for the hub's whole life (signals, async
 * wakers) registers a hook: EH_LOOP_CHECK returns nonzero when it holds
 * something it cannot move (the switch is refused), EH_LOOP_STOP stops its
 * watchers on the old loop, EH_LOOP_START starts them on the new h->loop. */
enum { EH_LOOP_CHECK, EH_LOOP_STOP, EH_LOOP_START };
typedef int (*eh_loop_hook)(eh_hub *h, int phase);
void eh_add_loop_hook(eh_loop_hook hook);
void eh_switch_backend(lua_State *L, eh_hub *h, unsigned flags);

/* thread.c */
eh_thread *eh_tothread(lua_State *L, int idx);
eh_thread *eh_checkthread(lua_State *L, int idx);
eh_thread *eh_newthread(lua_State *L, eh_hub *h, int main);
int eh_pushthread(lua_State *L, eh_thread *t);
int eh_spawn(lua_State *L, eh_hub *h, int nargs);
int eh_kill(lua_State *L, eh_thread *t, int erridx);
void eh_extra(lua_State *L, eh_thread *t);
int eh_label_park(lua_State *L, eh_thread *t, int idx);
int eh_park_result(lua_State *L, int status, lua_KContext ctx);
void eh_open_thread(lua_State *L);
extern const luaL_Reg eh_thread_funcs[];

/* timeout.c */
void eh_open_timeout(lua_State *L);
extern const luaL_Reg eh_timeout_funcs[];

/* waitq.c: a FIFO of parked threads, embeddable in other objects */
struct eh_waitq {
  eh_thread *head, *tail;
  int n;
};
void eh_waitq_init(eh_waitq *q);
void eh_waitq_unlink(eh_thread *t);
void eh_waitq_clear(eh_waitq *q);
int eh_waitq_park(lua_State *L, eh_waitq *q, double timeout, const char *what,
                  int labelidx, int itemidx, lua_KFunction k, lua_KContext ctx);
int eh_waitq_park_frame(lua_State *L, eh_waitq *q, const char *what, lua_KFunction k,
                        lua_KContext ctx);
int eh_waitq_reason(lua_State *L);
int eh_waitq_wake(lua_State *L, eh_waitq *q, int n);
void eh_open_waitq(lua_State *L);
extern const luaL_Reg eh_waitq_funcs[];

/* queue.c */
void eh_open_queue(lua_State *L);
extern const luaL_Reg eh_queue_funcs[];

/* cowrap.c */
extern const luaL_Reg eh_coroutine_funcs[];

/* signal.c */
void eh_open_signal(lua_State *L, eh_hub *h);
extern const luaL_Reg eh_signal_funcs[];

/* introspect.c */
extern const luaL_Reg eh_introspect_funcs[];
const char *eh_statename(int state);

/* io.c: waiting on raw fds (trampoline) */
extern const luaL_Reg eh_io_funcs[];

/* core.c */
int luaopen_eventlet_core(lua_State *L);

#if LUA_VERSION_NUM >= 504 && defined(LUA_VERSION_RELEASE_NUM) && \
    LUA_VERSION_RELEASE_NUM >= 50406
#define eh_closethread(co, from) lua_closethread((co), (from))
#else
#define eh_closethread(co, from) ((void)(from), lua_resetthread(co))
#endif

#endif
