/*
 * childwatch.c -- watching our children exit, and reaping exactly them.
 *
 * The hub's loop is not libev's default loop (which would reap every
 * child with waitpid(-1) and steal statuses from io.popen, os.execute and
 * C libraries), so each child is watched through a pidfd (Linux >= 5.3):
 * it becomes readable when the child exits, and then we waitpid() that
 * pid.  Where pidfd_open does not exist (older kernels, valgrind), one
 * shared SIGCHLD watcher polls waitpid(pid, WNOHANG) for each child we
 * spawned -- still never waitpid(-1).
 *
 * Exit watchers are unreferenced: a running child alone does not keep the
 * program alive (a thread waiting for it references the loop meanwhile).
 * A child whose ChildProcess is collected while it runs is handed to a
 * malloc'd orphan record that reaps it later: no zombies.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"

static eh_process *watched;   /* children not reaped yet */
static int no_pidfd;          /* pidfd_open is missing: SIGCHLD mode */
static ev_signal sigchld;     /* SIGCHLD mode's watcher */
static eh_hub *sigchld_hub;

/* Link a process into the list of watched children. */
static void link_child(eh_process *p) {
  p->prev = NULL;
  p->next = watched;
  if (watched) watched->prev = p;
  watched = p;
  p->watching = 1;
}

/* Remove a process from the list of watched children. */
static void unlink_child(eh_process *p) {
  if (p->prev) p->prev->next = p->next; else if (watched == p) watched = p->next;
  if (p->next) p->next->prev = p->prev;
  p->next = p->prev = NULL;
  p->watching = 0;
}

/* Stop watching p: its pidfd watcher (unreferenced, so reference the
 * loop first), its place in the list, the pidfd itself. */
void eh_child_unwatch(eh_process *p) {
  if (ev_is_active(&p->watch)) {
    ev_ref(p->hub->loop);
    ev_io_stop(p->hub->loop, &p->watch);
  }
  if (p->watching) unlink_child(p);
  if (p->pidfd >= 0) close(p->pidfd);
  p->pidfd = -1;
}

/* Wake every thread waiting for this process. */
static void wake_waiters(eh_process *p) {
  eh_waitnode *n;
  for (n = p->waiters; n; n = n->next) eh_wake(n->thread, EH_WAKE_IO);
}

/* Reap p if it has exited: keep its status, stop watching, wake its
 * waiters (an orphan frees itself instead). */
static void reap(eh_process *p) {
  int status = 0;
  pid_t r;
  do r = waitpid(p->pid, &status, WNOHANG); while (r < 0 && errno == EINTR);
  if (r == 0) return;            /* still running */
  if (r < 0) p->foreign = 1;     /* reaped by someone else: status lost */
  else { p->status = status; p->exited = 1; }
  eh_child_unwatch(p);
  if (p->orphan) { free(p); return; }
  wake_waiters(p);
}

/* The pidfd is readable: the child has exited. */
static void pidfd_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop; (void)revents;
  reap((eh_process *)w);
}

/* SIGCHLD mode: some child changed state; check each of ours. */
static void sigchld_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  eh_process *p = watched, *next;
  (void)loop; (void)w; (void)revents;
  for (; p; p = next) {
    next = p->next;  /* reap may free an orphan */
    if (p->pidfd < 0) reap(p);
  }
}

/* Arm the SIGCHLD watcher of SIGCHLD mode (once). */
static void start_sigchld(eh_hub *h) {
  if (ev_is_active(&sigchld)) return;
  sigchld_hub = h;
  ev_signal_init(&sigchld, sigchld_cb, SIGCHLD);
  ev_signal_start(h->loop, &sigchld);
  ev_unref(h->loop);
}

/* Start the pidfd watcher of p, unreferenced. */
static void start_pidfd_watcher(eh_process *p) {
  ev_io_init(&p->watch, pidfd_cb, p->pidfd, EV_READ);
  ev_io_start(p->hub->loop, &p->watch);
  ev_unref(p->hub->loop);
}

/* Watch a child we just started.  Returns 0, or an errno when it cannot
 * be watched (the caller then kills and reaps it). */
int eh_child_watch(eh_process *p) {
  p->pidfd = -1;
  if (!no_pidfd) {
    p->pidfd = pidfd_open(p->pid, 0);  /* always close-on-exec */
    if (p->pidfd < 0 && errno != ENOSYS) return errno;
    if (p->pidfd < 0) no_pidfd = 1;
  }
  if (no_pidfd) start_sigchld(p->hub);
  link_child(p);
  if (p->pidfd >= 0) start_pidfd_watcher(p);
  else ev_feed_event(p->hub->loop, &sigchld, EV_SIGNAL);  /* it may be gone already */
  return 0;
}

/* Send sig to a child that has not been reaped (so its pid is still
 * ours).  Returns 0, or -1 with errno. */
int eh_child_signal(eh_process *p, int sig) {
  if (!p->watching) { errno = ESRCH; return -1; }
  if (p->pidfd >= 0) return pidfd_send_signal(p->pidfd, sig, NULL, 0);
  return kill(p->pid, sig);
}

/* p's userdata is being collected while its child runs: move the watch
 * to a malloc'd copy that reaps the child and frees itself. */
void eh_child_orphan(eh_process *p) {
  eh_process *o;
  if (!p->watching || (o = (eh_process *)malloc(sizeof *o)) == NULL) {
    eh_child_unwatch(p);
    return;
  }
  if (ev_is_active(&p->watch)) {
    ev_ref(p->hub->loop);
    ev_io_stop(p->hub->loop, &p->watch);
  }
  unlink_child(p);
  memcpy(o, p, sizeof *o);
  o->waiters = NULL;
  o->orphan = 1;
  p->pidfd = -1;
  link_child(o);
  if (o->pidfd >= 0) start_pidfd_watcher(o);
}

/* In a forked child: the parent's children are not ours; stop watching
 * them and wake their waiters (they will see "not a child"). */
void eh_child_disown_all(void) {
  while (watched) {
    eh_process *p = watched;
    p->foreign = 1;
    eh_child_unwatch(p);
    if (p->orphan) free(p); else wake_waiters(p);
  }
}

/* use_hub() replaced the loop: move the armed watchers across. */
static int loop_hook(eh_hub *h, int phase) {
  eh_process *p;
  (void)h;
  if (phase == EH_LOOP_CHECK) return 0;
  for (p = watched; p; p = p->next) {
    if (p->pidfd < 0) continue;
    if (phase == EH_LOOP_STOP) {
      ev_ref(p->hub->loop);
      ev_io_stop(p->hub->loop, &p->watch);
    } else {
      start_pidfd_watcher(p);
    }
  }
  if (sigchld_hub && phase == EH_LOOP_STOP && ev_is_active(&sigchld)) {
    ev_ref(sigchld_hub->loop);
    ev_signal_stop(sigchld_hub->loop, &sigchld);
  } else if (sigchld_hub && phase == EH_LOOP_START) {
    ev_signal_start(sigchld_hub->loop, &sigchld);
    ev_unref(sigchld_hub->loop);
  }
  return 0;
}

/* Register the loop hook; EVENTLET_NO_PIDFD=1 forces SIGCHLD mode (for
 * tests of the fallback). */
void eh_child_open(void) {
  const char *force = getenv("EVENTLET_NO_PIDFD");
  eh_add_loop_hook(loop_hook);
  if (force && *force && strcmp(force, "0") != 0) no_pidfd = 1;
}
