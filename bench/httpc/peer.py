"""bench/httpc/peer.py: N GETs of URL with python3-eventlet's green urllib,
CONC green threads at a time.  Prints "ns=<wall ns per request> rps=...".

    python3 bench/httpc/peer.py N CONC URL
"""
import sys
import time

import eventlet
from eventlet.green.urllib import request


def main():
    n, conc, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    per = n // conc

    def worker():
        for _ in range(per):
            with request.urlopen(url) as resp:
                resp.read()
                assert resp.status == 200

    pool = eventlet.GreenPool(conc)
    t0 = time.time()
    for _ in range(conc):
        pool.spawn(worker)
    pool.waitall()
    wall = time.time() - t0
    print("ns=%.0f rps=%.0f" % (wall * 1e9 / (per * conc), per * conc / wall))


main()
