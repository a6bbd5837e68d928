/*
 * parktimer.c -- the timer that bounds a green thread's park.
 *
 * A park with a timeout needs its thread's timer armed, and a wake before
 * the timeout needs it disarmed: two operations on libev's timer heap per
 * wait, and at a thousand connections each touches heap entries that are
 * out of cache.  So the timer is lazy (as nginx's timers with
 * NGX_TIMER_LAZY_DELAY): a wake leaves it armed but unref'd -- it keeps
 * no loop alive and counts as no watcher -- and the next park keeps it
 * when it is still to fire and fires no later than the new timeout, noting
 * the park's own deadline when that is later (t->deadline, on the
 * monotonic clock libev's timers use: a step of the wall clock moves
 * nothing).  A timer that fires before its park's deadline re-arms itself
 * for the rest; one that fires with no park waiting on it only squares
 * libev's count.  use_hub() stops lingering timers before it replaces
 * the loop.
 */
#include "hub.h"

#define DEADLINE_SLACK 1e-6   /* seconds: a timer this close is on time */

/* The park timer ran out: start a thread spawned with spawn_after, or
 * wake a parked thread whose deadline has come (re-arming for the rest
 * when it came early); a lingering timer only squares the count (libev's
 * stop of it counted once more than our unref). */
static void park_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  eh_thread *t = (eh_thread *)w->data;
  (void)revents;
  if (t->lazy_timer) {
    t->lazy_timer = 0;
    ev_ref(loop);
    return;
  }
  if (t->state == EH_NEW) {
    eh_enqueue(t->hub, t);
    return;
  }
  if (t->state == EH_PARKED && t->deadline > 0) {
    double left;
    ev_now_update(loop);   /* the timer counts from the loop's time: make it now */
    left = t->deadline - eh_monotonic();
    t->deadline = 0;   /* the timer, re-armed, fires at the deadline itself */
    if (left > DEADLINE_SLACK) {
      ev_timer_set(w, left, 0.);
      ev_timer_start(loop, w);
      return;
    }
  }
  eh_wake(t, EH_WAKE_TIMEOUT);
}

/* Initialise the park timer of a new thread record. */
void eh_inittimer(eh_thread *t) {
  ev_init(&t->timer, park_timer_cb);
  t->timer.data = t;
  t->lazy_timer = 0;
  t->deadline = 0;
}

/* Bound the park now starting (the loop's time just updated) to timeout
 * seconds: keep a lingering timer still to fire no later than that,
 * else (re)arm it. */
void eh_park_timer_arm(eh_hub *h, eh_thread *t, double timeout) {
  t->deadline = 0;
  if (t->lazy_timer) {
    double fires = ev_timer_remaining(h->loop, &t->timer);  /* < 0: overdue */
    t->lazy_timer = 0;
    ev_ref(h->loop);   /* owed to a park again */
    if (fires > 0 && fires <= timeout) {
      if (timeout - fires > DEADLINE_SLACK) t->deadline = eh_monotonic() + timeout;
      return;
    }
    ev_timer_stop(h->loop, &t->timer);
  }
  ev_timer_set(&t->timer, timeout, 0.);
  ev_timer_start(h->loop, &t->timer);
}

/* The park ended: leave an armed timer lingering, unref'd, for the next. */
void eh_park_timer_release(eh_hub *h, eh_thread *t) {
  if (!ev_is_active(&t->timer) || t->lazy_timer) return;
  t->lazy_timer = 1;
  ev_unref(h->loop);
}

/* Disarm the timer for good (a thread that is dying, collected, or
 * leaving a park it never made). */
void eh_park_timer_stop(eh_hub *h, eh_thread *t) {
  if (t->lazy_timer) {
    t->lazy_timer = 0;
    ev_ref(h->loop);   /* as libev's stop will unref */
  }
  ev_timer_stop(h->loop, &t->timer);
}

/* Whether the timer bounds a wait now (a park's or spawn_after's), not
 * merely lingering from an earlier park. */
int eh_park_timer_pending(const eh_thread *t) {
  return ev_is_active(&t->timer) && !t->lazy_timer;
}

/* Seconds until the pending wait of t times out. */
double eh_park_timer_left(eh_thread *t) {
  if (t->state == EH_PARKED && t->deadline > 0) return t->deadline - eh_monotonic();
  return ev_timer_remaining(t->hub->loop, &t->timer);
}
