"""bench/core/peer.py: the core benchmarks for Python's eventlet and gevent.

    /usr/bin/python3 bench/core/peer.py eventlet|gevent switch|spawn|park|timers [n]
"""
import gc
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

which, mode, n = lib.args(100000)
g = lib.green(which)
spawn, sleep, wait = g.spawn, g.sleep, g.wait


def switches(n):
    """n sleep(0) calls in each of two green threads: 2n switches."""
    def loop():
        for _ in range(n):
            sleep(0)
    a, b = spawn(loop), spawn(loop)
    wait(a)
    wait(b)


def nothing():
    pass


def spawn_wait(n):
    """n green threads spawned and waited for, one after the other."""
    for _ in range(n):
        wait(spawn(nothing))


def park(n):
    """Memory of n green threads parked on one event (RSS delta)."""
    gc.collect()
    rss0 = lib.rss_kb()
    ev = g.Event()
    gts = [spawn(ev.wait) for _ in range(n)]
    sleep(0)
    gc.collect()
    rss1 = lib.rss_kb()
    g.send(ev)
    for gt in gts:
        wait(gt)
    lib.report(rss=(rss1 - rss0) * 1024.0 / n)


def timers(n):
    """CPU seconds spent arming and firing n timers, wall time past delay."""
    import time
    delay = 0.2
    gc.collect()
    cpu0, wall0 = lib.clock(), time.monotonic()
    gts = [spawn(sleep, delay) for _ in range(n)]
    for gt in gts:
        wait(gt)
    lib.report(cpu=lib.clock() - cpu0, wall=time.monotonic() - wall0 - delay)


if mode == "switch":
    lib.report(ns=lib.ns_per_op(switches, n) / 2)
elif mode == "spawn":
    lib.report(ns=lib.ns_per_op(spawn_wait, n))
elif mode == "park":
    park(n)
elif mode == "timers":
    timers(n)
else:
    sys.exit("unknown mode " + mode)
