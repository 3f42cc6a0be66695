#!/usr/bin/env python3
"""Time from starting a registry to its first 200 on /v2/.

usage: startup.py [--then PATH] PORT COMMAND [ARG...]

Starts COMMAND, then connects to 127.0.0.1:PORT and sends GET /v2/ over
and over (a refused connection is retried at once) until the answer is
200; prints the milliseconds since the start, then stops COMMAND with
SIGTERM and waits for it.  Exits 1 if COMMAND exits first or nothing
answers within 10 seconds.  bench/run.sh runs it several times per server
and reports the median.

After the milliseconds it prints the CPU time, in ms, that COMMAND's
processes (all of them still alive at the first 200, every thread) had
used by then, from /proc/PID/task/TID/schedstat, and the same per process
name ("berthd=4.1 berth-blobd=3.9 ..."): unlike the wall time, it hardly
changes when other work keeps the machine busy.

With --then PATH it then sends one GET of PATH (for example
/v2/_catalog, which needs the store) and prints a second line of the
same form for its answer: the time from the start to the first answer
that needed the storage, for a server that answers /v2/ before its store
is ready.  Exits 1 if that answer is not a 200.
"""

import os
import socket
import subprocess
import sys
import time


def tree(root):
    """root and every process below it, as {pid: ppid}."""
    ppid = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            ppid[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
    keep, grew = {root}, True
    while grew:
        grew = False
        for p, pp in ppid.items():
            if pp in keep and p not in keep:
                keep.add(p)
                grew = True
    return keep


def cpu_ms(root):
    """CPU time of root's tree in ms: the total, and per process name."""
    by = {}
    for p in tree(root):
        try:
            with open("/proc/%d/comm" % p) as f:
                name = f.read().strip()
            ns = 0
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/schedstat" % (p, t)) as f:
                    ns += int(f.read().split()[0])
        except OSError:
            continue
        by[name] = by.get(name, 0) + ns / 1e6
    return sum(by.values()), by


def get_ok(port, path):
    """One GET of path on a new connection: whether it answered 200."""
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\n"
                  b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
        head = b""
        while len(head) < 12:
            got = s.recv(12 - len(head))
            if not got:
                break
            head += got
        return head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200"))
    except OSError:
        return False
    finally:
        s.close()


def line(t0, proc):
    """The figures of one answer that came now."""
    ms = (time.perf_counter() - t0) * 1000
    cpu = cpu_ms(proc.pid)
    return "%.1f cpu=%.1f %s" % (ms, cpu[0], " ".join(
        "%s=%.1f" % kv for kv in sorted(cpu[1].items())))


def main():
    args = sys.argv[1:]
    then = None
    if args[:1] == ["--then"] and len(args) > 1:
        then = args[1]
        args = args[2:]
    if len(args) < 2:
        sys.exit(__doc__.strip().splitlines()[2])
    port = int(args[0])
    t0 = time.perf_counter()
    proc = subprocess.Popen(args[1:], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    out = []
    try:
        while time.perf_counter() - t0 < 10 and proc.poll() is None:
            if get_ok(port, "/v2/"):
                out.append(line(t0, proc))
                break
        if out and then is not None:
            if get_ok(port, then):
                out.append(line(t0, proc))
            else:
                out = []
    finally:
        proc.terminate()
        proc.wait()
    if not out:
        sys.exit(1)
    print("\n".join(out))


if __name__ == "__main__":
    main()
