"""bench/net/peer.py: the echo and bulk programs of bench/net.sh under
Python eventlet or gevent (same modes and output as bench/c/netpair.c).

    peer.py eventlet|gevent echo-server PORT
    peer.py eventlet|gevent echo-client PORT N SIZE
    peer.py eventlet|gevent bulk-server PORT
    peer.py eventlet|gevent bulk-client PORT BYTES
    peer.py eventlet|gevent echo-serve PORT
    peer.py eventlet|gevent echo-many PORT CONNS N SIZE
"""
import sys
import time

lib, mode, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if lib == "eventlet":
    import eventlet
    from eventlet.green import socket
    sleep = eventlet.sleep
    spawn = eventlet.spawn
else:
    import gevent
    from gevent import socket
    sleep = gevent.sleep
    spawn = gevent.spawn


def listen():
    """Listen on port (0: any), printing "port=N" for bench/net.sh."""
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port))
    l.listen(1024)
    print("port=%d" % l.getsockname()[1], flush=True)
    return l


def accept_one():
    """Accept one connection on port."""
    l = listen()
    c, _ = l.accept()
    l.close()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def connect():
    """Connect to port (the server is listening: it printed its port)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


if mode == "echo-server":
    c = accept_one()
    while True:
        data = c.recv(65536)
        if not data:
            break
        c.sendall(data)
elif mode == "echo-serve":
    l = listen()

    def handle(c):
        """Echo one connection until it closes."""
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            data = c.recv(65536)
            if not data:
                break
            c.sendall(data)
        c.close()

    while True:
        c, _ = l.accept()
        spawn(handle, c)
elif mode == "echo-many":
    conns, n, size = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    msg = b"x" * (size - 1) + b"\n"
    socks = [connect() for _ in range(conns)]

    def run(s):
        """N round trips on one connection."""
        for _ in range(n):
            s.sendall(msg)
            got = 0
            while got < size:
                got += len(s.recv(65536))
        s.close()

    t0 = time.monotonic()
    gts = [spawn(run, s) for s in socks]
    for g in gts:
        g.wait() if lib == "eventlet" else g.join()
    t = time.monotonic() - t0
    print("ns=%.1f wall=%.3f" % (t * 1e9 / (conns * n), t))
elif mode == "bulk-server":
    c = accept_one()
    while c.recv(1048576):
        pass
    c.sendall(b"k")
elif mode == "echo-client":
    n, size = int(sys.argv[4]), int(sys.argv[5])
    s = connect()
    msg = b"x" * (size - 1) + b"\n"
    t0 = time.monotonic()
    for _ in range(n):
        s.sendall(msg)
        got = 0
        while got < size:
            got += len(s.recv(65536))
    t = time.monotonic() - t0
    print("ns=%.1f wall=%.3f" % (t * 1e9 / n, t))
elif mode == "bulk-client":
    total = int(sys.argv[4])
    s = connect()
    chunk = b"b" * 1048576
    t0 = time.monotonic()
    sent = 0
    while sent < total:
        n = min(len(chunk), total - sent)
        s.sendall(chunk[:n] if n < len(chunk) else chunk)
        sent += n
    s.shutdown(socket.SHUT_WR)
    assert s.recv(1) == b"k"
    t = time.monotonic() - t0
    print("ns=%.1f wall=%.3f" % (t * 1e9 / (total / 1048576), t))
