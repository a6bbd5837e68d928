/*
 * workers.c -- the thread pool behind blocking C calls.
 *
 * Jobs go to a FIFO served by up to EH_WORKERS_MAX detached threads,
 * started as needed.  A finished job is put on a done list and the hub is
 * woken through one ev_async; its callback, on the loop thread, wakes the
 * green thread waiting for the job, or discards an abandoned job's data.
 * Only the loop thread touches waiters and the abandoned flag, so a
 * Timeout racing a finishing job needs no lock.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "workers.h"

struct eh_job {
  eh_job *next;
  eh_work_fn work, discard;
  void *data;
  eh_thread *waiter;     /* parked on the job, or NULL (loop thread only) */
  struct ev_loop *loop;  /* ev_ref'd while waited on */
  int finished;          /* seen done by the loop thread */
  int abandoned;         /* the waiter left: discard on completion */
};

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  eh_job *head, *tail;   /* queued jobs */
  eh_job *done;          /* finished, waiting for the loop thread */
  int threads, idle, pending;
  struct ev_loop *loop;
  ev_async async;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          NULL, NULL, NULL, 0, 0, 0, NULL, {0}};

/* A pool thread: run jobs forever, reporting each to the loop. */
static void *worker_main(void *arg) {
  sigset_t all;
  (void)arg;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);  /* signals belong to the hub */
  pthread_mutex_lock(&pool.mu);
  for (;;) {
    eh_job *job;
    pool.idle++;
    while (pool.head == NULL) pthread_cond_wait(&pool.cv, &pool.mu);
    pool.idle--;
    job = pool.head;
    pool.head = job->next;
    if (pool.head == NULL) pool.tail = NULL;
    pthread_mutex_unlock(&pool.mu);
    job->work(job->data);
    pthread_mutex_lock(&pool.mu);
    job->next = pool.done;
    pool.done = job;
    ev_async_send(pool.loop, &pool.async);
  }
  return NULL;
}

/* On the loop thread: hand finished jobs to their waiters. */
static void done_cb(struct ev_loop *loop, ev_async *w, int revents) {
  eh_job *job, *next;
  (void)loop; (void)w; (void)revents;
  pthread_mutex_lock(&pool.mu);
  job = pool.done;
  pool.done = NULL;
  pthread_mutex_unlock(&pool.mu);
  for (; job; job = next) {
    next = job->next;
    pthread_mutex_lock(&pool.mu);
    pool.pending--;
    pthread_mutex_unlock(&pool.mu);
    if (job->abandoned) {
      if (job->discard) job->discard(job->data);
      free(job);
      continue;
    }
    job->finished = 1;
    if (job->waiter) eh_wake(job->waiter, EH_WAKE_IO);
  }
}

/* After fork the child has no pool threads: start over. */
static void atfork_child(void) {
  pthread_mutex_init(&pool.mu, NULL);
  pthread_cond_init(&pool.cv, NULL);
  pool.head = pool.tail = pool.done = NULL;
  pool.threads = pool.idle = pool.pending = 0;
}

/* Start the async watcher once (unref'd: it alone keeps nothing alive). */
static void open_pool(lua_State *L) {
  if (pool.loop) return;
  pool.loop = eh_gethub(L)->loop;
  ev_async_init(&pool.async, done_cb);
  ev_async_start(pool.loop, &pool.async);
  ev_unref(pool.loop);
  pthread_atfork(NULL, NULL, atfork_child);
}

/* Queue a job, starting a thread when none is idle.  */
eh_job *eh_work_submit(lua_State *L, eh_work_fn work, eh_work_fn discard,
                       void *data) {
  eh_job *job = (eh_job *)calloc(1, sizeof *job);
  if (job == NULL) { luaL_error(L, "eventlet: out of memory"); return NULL; }
  open_pool(L);
  job->work = work;
  job->discard = discard;
  job->data = data;
  pthread_mutex_lock(&pool.mu);
  if (pool.tail) pool.tail->next = job; else pool.head = job;
  pool.tail = job;
  pool.pending++;
  if (pool.idle == 0 && pool.threads < EH_WORKERS_MAX) {
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&tid, &attr, worker_main, NULL) == 0) pool.threads++;
    pthread_attr_destroy(&attr);
  }
  pthread_cond_signal(&pool.cv);
  pthread_mutex_unlock(&pool.mu);
  return job;
}

/* Park until the job finishes; the loop is kept alive meanwhile.  */
int eh_work_park(lua_State *L, eh_job *job, double timeout, const char *what,
                 lua_KContext ctx, lua_KFunction k) {
  eh_hub *h = eh_gethub(L);
  if (job->finished) return k(L, LUA_OK, ctx);
  if (eh_pending_cancel(L, h->current)) {
    lua_pop(L, 1);
    job->abandoned = 1;  /* not parked yet: finish() will not be called */
    return eh_raise_cancel(L, h->current);
  }
  job->waiter = h->current;
  job->loop = h->loop;
  ev_ref(h->loop);
  return eh_park(L, timeout, what, -1, ctx, k);
}

/* After the park: claim the job's data (1) or abandon the job (0).  */
int eh_work_finish(lua_State *L, eh_job *job) {
  (void)L;
  if (job->loop) { ev_unref(job->loop); job->loop = NULL; }
  job->waiter = NULL;
  if (job->finished) { free(job); return 1; }
  job->abandoned = 1;
  return 0;
}

/* Jobs queued or running.  */
int eh_work_pending(void) {
  int n;
  pthread_mutex_lock(&pool.mu);
  n = pool.pending;
  pthread_mutex_unlock(&pool.mu);
  return n;
}

/* A job that only sleeps: the pool's own test and a way to see that
 * waits on the pool never block the hub. */
static void sleep_work(void *data) {
  double *s = (double *)data;
  struct timespec ts;
  ts.tv_sec = (time_t)*s;
  ts.tv_nsec = (long)((*s - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
}

/* After work_sleep's park: true when the job ran, nil, "timeout". */
static int work_sleep_k(lua_State *L, int status, lua_KContext ctx) {
  eh_job *job = (eh_job *)ctx;
  double *s = (double *)lua_touserdata(L, 3);
  int done = eh_work_finish(L, job);
  (void)status;
  if (done) free(s);
  eh_park_check(L);
  if (!done) { lua_pushnil(L); lua_pushliteral(L, "timeout"); return 2; }
  lua_pushboolean(L, 1);
  return 1;
}

/* work_sleep(seconds[, timeout]) -> true | nil, "timeout": sleep on a
 * pool thread while the calling green thread is parked.  [-0, +(1|2), e] */
static int l_work_sleep(lua_State *L) {
  double secs = luaL_checknumber(L, 1), timeout = luaL_optnumber(L, 2, -1.);
  double *s = (double *)malloc(sizeof *s);
  eh_job *job;
  if (s == NULL) return luaL_error(L, "eventlet: out of memory");
  *s = secs < 0 ? 0 : secs;
  lua_settop(L, 2);
  lua_pushlightuserdata(L, s);
  job = eh_work_submit(L, sleep_work, free, s);
  return eh_work_park(L, job, timeout < 0 ? -1. : timeout, "work_sleep",
                      (lua_KContext)job, work_sleep_k);
}

/* work_pending() -> jobs queued or running on the pool.  [-0, +1, -] */
static int l_work_pending(lua_State *L) {
  lua_pushinteger(L, eh_work_pending());
  return 1;
}

const luaL_Reg eh_workers_funcs[] = {
  {"work_sleep", l_work_sleep}, {"work_pending", l_work_pending}, {NULL, NULL}};
