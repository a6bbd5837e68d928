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
