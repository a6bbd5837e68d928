"""bench/lib.py: what every Python peer program shares (see bench/lib.lua).

Timing is CPU time of the process; a program prints one line of
key=value pairs, and bench/lib.sh takes the median over several runs.
"""
import gc
import sys
import time

clock = time.process_time


def rss_kb():
    """Resident set size of the process in KB (VmRSS), or 0 off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def ns_per_op(fn, n):
    """Time fn(n) in CPU seconds; nanoseconds per operation."""
    gc.collect()
    t0 = clock()
    fn(n)
    return (clock() - t0) * 1e9 / n


def report(**results):
    """Print one result line: report(ns=1.5) -> "ns=1.5"."""
    print(" ".join("%s=%.6g" % (k, results[k]) for k in sorted(results)))


def args(default_n):
    """(lib, mode, n) from the command line: prog.py lib mode [n]."""
    if len(sys.argv) < 3:
        sys.exit("usage: %s eventlet|gevent mode [n]" % sys.argv[0])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else default_n
    return sys.argv[1], sys.argv[2], n


def green(which):
    """The names the benchmarks use, from eventlet or gevent, as one namespace:
    spawn, sleep, wait(gt), Event, send(ev), reset(ev), Queue, Semaphore,
    Pool(size), waitall(pool)."""
    import types
    if which == "eventlet":
        import eventlet
        from eventlet.event import Event
        from eventlet.queue import Queue
        from eventlet.semaphore import Semaphore
        return types.SimpleNamespace(
            spawn=eventlet.spawn, sleep=eventlet.sleep, wait=lambda gt: gt.wait(),
            Event=Event, send=lambda ev: ev.send(True), reset=lambda ev: ev.reset(),
            Queue=Queue, Semaphore=Semaphore, Pool=eventlet.GreenPool,
            waitall=lambda pool: pool.waitall())
    if which == "gevent":
        import gevent
        import gevent.pool
        from gevent.event import Event
        from gevent.queue import Queue
        from gevent.lock import Semaphore
        return types.SimpleNamespace(
            spawn=gevent.spawn, sleep=gevent.sleep, wait=lambda gt: gt.get(),
            Event=Event, send=lambda ev: ev.set(), reset=lambda ev: ev.clear(),
            Queue=Queue, Semaphore=Semaphore, Pool=gevent.pool.Pool,
            waitall=lambda pool: pool.join())
    sys.exit("unknown peer " + which)
