"""bench/processes/peer.py: the same programs on Python eventlet's green
subprocess, and a plain shell pipeline for the pipe throughput.

    python3 bench/processes/peer.py eventlet runs N
    python3 bench/processes/peer.py eventlet cat BYTES
    python3 bench/processes/peer.py shell cat BYTES
"""
import os
import subprocess as std_subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import lib  # noqa: E402


def runs(n):
    import eventlet
    from eventlet.green import subprocess
    t0 = time.time()
    pool = eventlet.GreenPool(n)
    codes = list(pool.imap(lambda _: subprocess.run(["true"], capture_output=True).returncode,
                           range(n)))
    assert codes == [0] * n
    return time.time() - t0


def cat(nbytes):
    import eventlet
    from eventlet.green import subprocess
    chunk = b"x" * 65536
    count = nbytes // len(chunk)
    t0 = time.time()
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def writer():
        for _ in range(count):
            p.stdin.write(chunk)
        p.stdin.close()

    gt = eventlet.spawn(writer)
    got = 0
    while True:
        data = p.stdout.read1(1 << 20) if hasattr(p.stdout, "read1") else p.stdout.read(1 << 20)
        if not data:
            break
        got += len(data)
    gt.wait()
    assert p.wait() == 0 and got == count * len(chunk)
    return time.time() - t0


def shell_cat(nbytes):
    t0 = time.time()
    std_subprocess.run("head -c %d /dev/zero | cat | cat >/dev/null" % nbytes, shell=True, check=True)
    return time.time() - t0


def main():
    peer, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "runs":
        wall = runs(n)
        lib.report(wall=wall, per=wall / n)
    else:
        wall = shell_cat(n) if peer == "shell" else cat(n)
        lib.report(wall=wall, mbs=n / wall / 1e6)


main()
