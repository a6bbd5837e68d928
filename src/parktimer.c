/*
 * parktimer.c -- the timer that bounds a green thread's park.
 *
 * A park with a timeout needs its thread's timer armed, and a wake before
 * the timeout needs it disarmed: two operations on libev's timer heap per
 * wait, and at a thousand connections each touches heap entries that are
 * out of cache.  So the timer is lazy (as nginx's timers with
 * NGX_TIMER_LAZY_DELAY): a wake leaves it armed but unref'd -- it keeps
 * no loop alive and counts as no watcher -- and the next park keeps it
 * when it fires no later than the new timeout, noting how much later the
 * park's deadline is (t->extra: all on libev's monotonic clock, so a step
 * of the wall clock moves no deadline).  A timer that fires with extra
 * time left re-arms itself for it; one that fires with no park waiting on
 * it only squares libev's count.  The hub counts lingering timers
 * (use_hub() stops them before it replaces the loop).
 */
#include "hub.h"

#define DEADLINE_SLACK 1e-6   /* seconds: a timer this close is on time */

/* The park timer ran out: start a thread spawned with spawn_after, or
 * wake a parked thread whose deadline has come (re-arming for the extra
 * time when it came early); a lingering timer only squares the count
 * (libev's stop of it counted once more than our unref). */
static void park_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  eh_thread *t = (eh_thread *)w->data;
  (void)revents;
  if (t->lazy_timer) {
    t->lazy_timer = 0;
    t->hub->lingering--;
    ev_ref(loop);
    return;
  }
  if (t->state == EH_NEW) {
    eh_enqueue(t->hub, t);
    return;
  }
  if (t->state == EH_PARKED && t->extra > DEADLINE_SLACK) {
    ev_timer_set(w, t->extra, 0.);
    ev_timer_start(loop, w);
    t->extra = 0;
    return;
  }
  eh_wake(t, EH_WAKE_TIMEOUT);
}

/* Initialise the park timer of a new thread record. */
void eh_inittimer(eh_thread *t) {
  ev_init(&t->timer, park_timer_cb);
  t->timer.data = t;
  t->lazy_timer = 0;
  t->extra = 0;
}

/* Bound the park now starting to timeout seconds: keep a lingering timer
 * that fires no later than that, else (re)arm it. */
void eh_park_timer_arm(eh_hub *h, eh_thread *t, double timeout) {
  t->extra = 0;
  if (t->lazy_timer) {
    double fires = ev_timer_remaining(h->loop, &t->timer);
    t->lazy_timer = 0;
    h->lingering--;
    ev_ref(h->loop);   /* owed to a park again */
    if (fires <= timeout) {
      t->extra = timeout - fires;
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
  h->lingering++;
  ev_unref(h->loop);
}

/* Disarm the timer for good (a thread that is dying, collected, or
 * leaving a park it never made). */
void eh_park_timer_stop(eh_hub *h, eh_thread *t) {
  if (t->lazy_timer) {
    t->lazy_timer = 0;
    h->lingering--;
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
  return ev_timer_remaining(t->hub->loop, &t->timer) + t->extra;
}
