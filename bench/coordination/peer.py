"""bench/coordination/peer.py: coordination benchmarks for eventlet and gevent.

    /usr/bin/python3 bench/coordination/peer.py eventlet|gevent pingpong|event|semaphore|pool [n]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

which, mode, n = lib.args(100000)
g = lib.green(which)
spawn, wait, send, reset = g.spawn, g.wait, g.send, g.reset


def pingpong(n):
    """n messages between two green threads through two queues."""
    there, back = g.Queue(), g.Queue()
    rounds = n // 2

    def pong():
        for _ in range(rounds):
            back.put(there.get())
    gt = spawn(pong)
    for i in range(rounds):
        there.put(i)
        back.get()
    wait(gt)


def handoff(n):
    """n hand-offs between two green threads through two events."""
    there, back = g.Event(), g.Event()
    rounds = n // 2

    def pong():
        for _ in range(rounds):
            there.wait()
            reset(there)
            send(back)
    gt = spawn(pong)
    for _ in range(rounds):
        send(there)
        back.wait()
        reset(back)
    wait(gt)


def semaphore(n):
    """n acquire/release pairs on an uncontended semaphore."""
    sem = g.Semaphore(1)
    for _ in range(n):
        sem.acquire()
        sem.release()


def nothing():
    pass


def pool(n):
    """n jobs through a pool of 1000, then wait for all."""
    p = g.Pool(1000)
    for _ in range(n):
        p.spawn(nothing)
    g.waitall(p)


runs = {"pingpong": pingpong, "event": handoff, "semaphore": semaphore, "pool": pool}
if mode not in runs:
    sys.exit("unknown mode " + mode)
lib.report(ns=lib.ns_per_op(runs[mode], n))
