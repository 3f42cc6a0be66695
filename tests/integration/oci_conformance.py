#!/usr/bin/python3
"""
berth's own OCI distribution conformance test.

It covers every case of the four workflows of the official suite
(opencontainers/distribution-spec, conformance/: pull, push, content
discovery, content management, the referrers cases included), asserting
what the suite asserts and, where the suite is lenient, what the spec and
the clients demand; then the cases of the rewritten suite on the spec's
main branch (nested and empty indexes, non-distributable layers, a 0-byte
blob, bad digests on streamed and chunked uploads, three-part and
out-of-order chunks, range requests) and content negotiation by RFC 9110
(q=0, wildcards, many Accept lines); then the cases issue 3 adds (ranges,
streamed and containerd-style uploads, sha512, mounts, limits, content
negotiation, pagination, ECR repository rules).

It starts berthd itself: the binaries come from $BERTHD and $BLOBD
(default daemon/berthd and blobd/berth-blobd under the current directory),
on a free loopback port, with a temporary data directory and
--create-on-push.  A second berthd without --create-on-push serves the
case about pushes into missing repositories.

Set OCI_CONFORMANCE_URL=http://HOST:PORT to run the same cases against a
registry that is already running (to check the test itself against another
registry); cases that need a berthd of their own are then skipped.

The cases live in oci/: base.py (the harness), suite.py, spec_main.py,
extra_push.py and extra_api.py, run in that order.

Standard library only.  One line per case ("ok NAME" or "FAIL NAME: why"),
then "N passed, N failed"; the exit status is 1 if any case failed.
"""

import importlib
import os
import signal
import sys
import traceback

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "oci"))
import base  # noqa: E402
from base import (Berthd, CASES, D, External, Failure, S,  # noqa: E402
                  Skip, build_data)

# Each case module registers its cases as it is imported: in this order.
for _module in ("suite", "spec_main", "extra_push", "extra_api"):
    importlib.import_module(_module)


# --- the runner ---------------------------------------------------------------

def main():
    url = os.environ.get("OCI_CONFORMANCE_URL")
    base.REG = REG = External(url) if url else Berthd(create_on_push=True)
    build_data()
    print("# registry under test: %s; data seed %d (OCI_CONFORMANCE_SEED)" %
          ("berthd" if not url else url, D.seed))
    passed = failed = skipped = 0
    try:
        REG.start()
    except Exception as e:
        print("FAIL start: %s" % e)
        print("0 passed, 1 failed")
        return 1
    try:
        for fn in CASES:
            name = fn.__name__
            if fn.needs_berthd and url:
                print("skip %s: needs a berthd of its own" % name)
                skipped += 1
                continue
            try:
                fn()
                print("ok %s" % name)
                passed += 1
            except Skip as e:
                print("skip %s: %s" % (name, e))
                skipped += 1
            except Failure as e:
                print("FAIL %s: %s" % (name, e))
                failed += 1
            except Exception as e:
                tb = traceback.extract_tb(e.__traceback__)
                where = "%s:%d" % (os.path.basename(tb[-1].filename),
                                   tb[-1].lineno) if tb else "?"
                print("FAIL %s: %s: %s (at %s)" % (name, type(e).__name__, e,
                                                   where))
                failed += 1
            sys.stdout.flush()
            if isinstance(REG, Berthd) and REG.proc.poll() is not None:
                print("FAIL berthd-alive: berthd exited with status %d "
                      "after %s; log:\n%s" % (REG.proc.returncode, name,
                                              REG.log_tail()))
                failed += 1
                break
    finally:
        if failed and isinstance(REG, Berthd):
            print("# berthd log, last lines:")
            for line in REG.log_tail(15).splitlines():
                print("#   " + line)
        if getattr(S, "strict", None) is not None:
            S.strict.stop()
        problems = REG.stop()
    if isinstance(REG, Berthd):
        # berthd ends cleanly on SIGTERM: status 0, no sanitizer report
        # (run the test against an --enable-asan build to make it count),
        # with the pull times of the last seconds written first.
        if problems:
            print("FAIL berthd_exits_cleanly: %s" % "; ".join(problems))
            failed += 1
        else:
            print("ok berthd_exits_cleanly")
            passed += 1
    if skipped:
        print("(%d skipped)" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    # SIGTERM (a CI timeout) unwinds like Ctrl-C: berthd is stopped and the
    # temporary directories are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
