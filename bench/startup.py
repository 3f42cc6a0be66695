#!/usr/bin/env python3
"""Time from starting a registry to its first 200 on /v2/.

usage: startup.py PORT COMMAND [ARG...]

Starts COMMAND, then connects to 127.0.0.1:PORT and sends GET /v2/ over
and over (a refused connection is retried at once) until the answer is
200; prints the milliseconds since the start, then stops COMMAND with
SIGTERM and waits for it.  Exits 1 if COMMAND exits first or nothing
answers within 10 seconds.  bench/run.sh runs it several times per server
and reports the median.
"""

import socket
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2])
    port = int(sys.argv[1])
    t0 = time.perf_counter()
    proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ms = None
    try:
        while time.perf_counter() - t0 < 10 and proc.poll() is None:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    ms = (time.perf_counter() - t0) * 1000
                    break
            except OSError:
                pass
            finally:
                s.close()
    finally:
        proc.terminate()
        proc.wait()
    if ms is None:
        sys.exit(1)
    print("%.1f" % ms)


if __name__ == "__main__":
    main()
