#!/usr/bin/python3
"""Crash torture: clients push every way berth takes an image (monolithic,
chunked with Content-Range, streamed with Transfer-Encoding: chunked,
cross-repository mounts, manifests, indexes, the ECR layer API with
PutImage), delete images (OCI DELETE, ECR BatchDeleteImage) and collect
garbage, while berthd, berth-blobd and the spawner are killed with SIGKILL
at random moments, and berthd is started again whenever it is gone.

Blobs of both kinds are pushed: small ones, which blobd packs into its
metadata log with the record linking them riding along, and files.

After each kill, once berthd (restarted if need be) and its worker are
back, with the clients held: every acknowledged image is there, every
acknowledged delete stuck.  At the end, with everything stopped and
berthd started once more: every image whose push was acknowledged (and
not deleted) is there byte for byte, tags and blobs included; every
acknowledged delete stuck; after a garbage collection the layers only
deleted images held are gone; every stored blob hashes to its name; no
temporary file is left; exactly one worker runs.

What was in flight when a process died (no answer, or a 5xx) may or may
not have happened: it is never counted either way.

    torture.py            bounded: 60 kills (about two minutes)
    torture.py --long     600 kills (TORTURE_KILLS=N chooses)
"""

import base64
import fcntl
import glob
import hashlib
import json
import os
import random
import signal
import sys
import threading
import time
import uuid

sys.dont_write_bytecode = True    # nothing left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "pylib"))
from berth_it import (MT_OCI_CONFIG, MT_OCI_LAYER, MT_OCI_MANIFEST,  # noqa
                      Berthd, ok, sha256, summary)

MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
KILLS = int(os.environ.get("TORTURE_KILLS",
                           "600" if "--long" in sys.argv else "60"))
WORKERS = 4
REPOS = ["tt/a", "tt/b", "tt/c"]


class Ledger:
    """What clients were told, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.images = {}        # digest -> dict(repo, tag, manifest, blobs)
        self.deleted = {}       # digest -> the same, once a delete was acked
        self.pinned = set()     # digests an acknowledged index names
        self.uncertain = set()  # digests whose push or delete was unanswered
        self.mounted = set()    # blob digests used by a mount
        self.counts = {}

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def acked(self, digest, entry):
        with self.lock:
            self.images[digest] = entry

    def pick(self, rnd, repo=None, unpinned=False):
        with self.lock:
            c = [(d, e) for d, e in self.images.items()
                 if (repo is None or e["repo"] == repo) and
                 not (unpinned and d in self.pinned) and
                 d not in self.uncertain and e["kind"] != "index"]
        return rnd.choice(c) if c else (None, None)


class Flaky(Exception):
    """No answer, or an answer that says the server could not do it now."""


def call(b, method, path, body=None, headers=None, expect=(200, 201, 202)):
    try:
        r = b.request(method, path, body, headers, timeout=30)
    except OSError as e:
        raise Flaky(str(e))
    if r.status >= 500:
        raise Flaky("%d %r" % (r.status, r.body[:200]))
    if r.status not in expect:
        raise AssertionError("%s %s: %d %r" % (method, path, r.status,
                                               r.body[:300]))
    return r


def ecr(b, op, body):
    h = {"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921." + op,
         "Content-Type": "application/x-amz-json-1.1"}
    return call(b, "POST", "/", json.dumps(body).encode(), h,
                expect=(200,)).json()


def location(r):
    loc = r.header("Location")
    return loc[loc.index("/v2/"):]


def blob_monolithic(b, repo, data, rnd):
    call(b, "POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, sha256(data)),
         data, expect=(201,))


def blob_chunked(b, repo, data, rnd):
    loc = location(call(b, "POST", "/v2/%s/blobs/uploads/" % repo,
                        expect=(202,)))
    cut = sorted(rnd.sample(range(1, len(data)), 2))
    off = 0
    for end in cut + [len(data)]:
        r = call(b, "PATCH", loc, data[off:end], {
            "Content-Type": "application/octet-stream",
            "Content-Range": "%d-%d" % (off, end - 1)}, expect=(202,))
        loc = location(r)
        off = end
    sep = "&" if "?" in loc else "?"
    call(b, "PUT", loc + sep + "digest=" + sha256(data), expect=(201,))


def blob_streamed(b, repo, data, rnd):
    loc = location(call(b, "POST", "/v2/%s/blobs/uploads/" % repo,
                        expect=(202,)))
    pieces = iter([data[i:i + 7000] for i in range(0, len(data), 7000)])
    # An iterable body without a length: http.client sends it chunked.
    r = call(b, "PATCH", loc, pieces,
             {"Content-Type": "application/octet-stream"}, expect=(202,))
    loc = location(r)
    sep = "&" if "?" in loc else "?"
    call(b, "PUT", loc + sep + "digest=" + sha256(data), expect=(201,))


def blob_ecr(b, repo, data, rnd):
    up = ecr(b, "InitiateLayerUpload", {"repositoryName": repo})["uploadId"]
    ecr(b, "UploadLayerPart", {
        "repositoryName": repo, "uploadId": up, "partFirstByte": 0,
        "partLastByte": len(data) - 1,
        "layerPartBlob": base64.b64encode(data).decode()})
    ecr(b, "CompleteLayerUpload", {"repositoryName": repo, "uploadId": up,
                                   "layerDigests": [sha256(data)]})


def manifest_of(cfg, layers):
    return json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": sha256(cfg),
                   "size": len(cfg)},
        "layers": [{"mediaType": MT_OCI_LAYER, "digest": sha256(x),
                    "size": len(x)} for x in layers]}).encode()


def push_image(b, led, rnd, how):
    repo = rnd.choice(REPOS)
    tag = "%s-%s" % (how, uuid.uuid4().hex[:12])
    cfg = json.dumps({"tag": tag, "salt": uuid.uuid4().hex}).encode()
    # Up to 1 MiB a blob is packed into blobd's metadata log, and a
    # monolithic push's link record rides with it; larger is a file.
    layer = os.urandom(rnd.choice([100, 5000, 70000, 300000, 1200000]))
    blobs = {sha256(cfg): cfg, sha256(layer): layer}
    layers = [layer]
    if how == "mount":
        src, e = led.pick(rnd)
        if src is not None and e["repo"] != repo:
            mounted = e["layers"][0]
            with led.lock:
                led.mounted.add(mounted)
            r = call(b, "POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" %
                     (repo, mounted, e["repo"]), expect=(201, 202))
            if r.status == 201:     # 202: not there any more, not mounted
                layers.append(e["blobs"][mounted])
                blobs[mounted] = e["blobs"][mounted]
    upload = {"mono": blob_monolithic, "chunked": blob_chunked,
              "streamed": blob_streamed, "ecr": blob_ecr,
              "mount": blob_monolithic}[how]
    for data in (cfg, layer):
        upload(b, repo, data, rnd)
    m = manifest_of(cfg, layers)
    d = sha256(m)
    entry = {"repo": repo, "tag": tag, "manifest": m, "blobs": blobs,
             "layers": [sha256(x) for x in layers], "kind": how}
    with led.lock:
        led.uncertain.add(d)
    if how == "ecr":
        out = ecr(b, "PutImage", {"repositoryName": repo,
                                  "imageManifest": m.decode(),
                                  "imageTag": tag})
        assert out["image"]["imageId"]["imageDigest"] == d, out
    else:
        call(b, "PUT", "/v2/%s/manifests/%s" % (repo, tag), m,
             {"Content-Type": MT_OCI_MANIFEST}, expect=(201,))
    with led.lock:
        led.uncertain.discard(d)
        led.images[d] = entry


def push_index(b, led, rnd):
    repo = rnd.choice(REPOS)
    kids = []
    for _ in range(2):
        d, e = led.pick(rnd, repo=repo)
        if d is None or d in kids:
            return
        kids.append(d)
    with led.lock:
        if any(k not in led.images for k in kids):
            return
        led.pinned.update(kids)     # never deleted from now on
        sizes = [len(led.images[k]["manifest"]) for k in kids]
    tag = "index-" + uuid.uuid4().hex[:12]
    idx = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                      "manifests": [{"mediaType": MT_OCI_MANIFEST,
                                     "digest": k, "size": s}
                                    for k, s in zip(kids, sizes)],
                      "annotations": {"salt": uuid.uuid4().hex}}).encode()
    d = sha256(idx)
    with led.lock:
        led.uncertain.add(d)
    call(b, "PUT", "/v2/%s/manifests/%s" % (repo, tag), idx,
         {"Content-Type": MT_OCI_INDEX}, expect=(201,))
    with led.lock:
        led.uncertain.discard(d)
        led.images[d] = {"repo": repo, "tag": tag, "manifest": idx,
                         "blobs": {}, "layers": [], "kind": "index"}


def delete_image(b, led, rnd):
    d, e = led.pick(rnd, unpinned=True)
    if d is None:
        return
    with led.lock:
        if d in led.pinned or d not in led.images:
            return
        led.uncertain.add(d)
        del led.images[d]
    if rnd.random() < 0.5:
        call(b, "DELETE", "/v2/%s/manifests/%s" % (e["repo"], d),
             expect=(202,))
    else:
        out = ecr(b, "BatchDeleteImage", {"repositoryName": e["repo"],
                                          "imageIds": [{"imageDigest": d}]})
        assert out["failures"] == [], out
    with led.lock:
        led.uncertain.discard(d)
        led.deleted[d] = e


def gc(b, led, rnd):
    call(b, "POST", "/_berth/gc", expect=(200,))


OPS = [("mono", 4), ("chunked", 3), ("streamed", 3), ("ecr", 3),
       ("mount", 2), ("index", 1), ("delete", 3), ("gc", 1)]


class Gate:
    """Lets the killer hold the workers between two operations."""

    def __init__(self):
        self.cv = threading.Condition()
        self.closed = False
        self.busy = 0

    def enter(self):
        with self.cv:
            while self.closed:
                self.cv.wait()
            self.busy += 1

    def leave(self):
        with self.cv:
            self.busy -= 1
            self.cv.notify_all()

    def close(self):
        with self.cv:
            self.closed = True
            while self.busy:
                self.cv.wait()

    def open(self):
        with self.cv:
            self.closed = False
            self.cv.notify_all()


def worker(b, led, stop, gate, seed, errors):
    rnd = random.Random(seed)
    names = [n for n, w in OPS for _ in range(w)]
    while not stop.is_set():
        what = rnd.choice(names)
        gate.enter()
        try:
            if what == "index":
                push_index(b, led, rnd)
            elif what == "delete":
                delete_image(b, led, rnd)
            elif what == "gc":
                gc(b, led, rnd)
            else:
                push_image(b, led, rnd, what)
            led.count(what)
        except Flaky:
            led.count("unanswered")
            time.sleep(0.05)
        except Exception as e:
            errors.append("%s: %r" % (what, e))
            led.count("refused")
        finally:
            gate.leave()


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def workers_of(data):
    """berth-blobd processes serving this data directory."""
    out = []
    for p in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(p, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"berth-blobd") and \
                data.encode() in argv:
            out.append(int(p.split("/")[2]))
    return out


def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def lock_free(data):
    """Whether no process holds the data directory's lock (a worker whose
    main thread has exited may still hold it, while a thread of it is in
    an uninterruptible wait)."""
    try:
        fd = os.open(os.path.join(data, "lock"), os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def holder_report(b):
    """What the process holding the data directory's lock is doing: its
    threads' states, wait channels and kernel stacks, and the log."""
    try:
        with open(os.path.join(b.data, "lock")) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return "no holder pid"
    out = ["lock holder pid %d" % pid]
    for task in sorted(glob.glob("/proc/%d/task/*" % pid)):
        for name in ("stat", "wchan", "stack"):
            try:
                with open(os.path.join(task, name)) as f:
                    out.append("%s/%s: %s" % (task, name, f.read().strip()))
            except OSError as e:
                out.append("%s/%s: %s" % (task, name, e))
    try:
        with open(os.path.join(b.dir, "berthd.log"), errors="replace") as f:
            out.append("log tail:\n" + "".join(f.readlines()[-30:]))
    except OSError:
        pass
    return "\n".join(out)


def ensure_running(b):
    """Starts berthd again if it is gone, once its worker has let go of
    the data directory: a SIGKILLed worker may take a while in an
    uninterruptible wait (an fsync on a loaded machine), and berth-blobd
    itself waits 20 s for a dying one; what the worker was doing is
    printed if it takes more than 10 s, and more than 120 s fails."""
    if b.proc.poll() is None:
        return
    b.stop()
    if not wait_until(lambda: lock_free(b.data), 10):
        print("the old worker holds the lock after 10 s:\n" +
              holder_report(b), flush=True)
        if not wait_until(lambda: lock_free(b.data), 110):
            raise RuntimeError("the old worker held the lock 120 s:\n" +
                               holder_report(b))
    b.start()


def check_after_restart(b, led, gate, bad):
    """With the workers held: every acknowledged image is there, every
    acknowledged delete gone (the bytes are checked at the end)."""
    gate.close()
    try:
        wait_until(lambda: b.request("GET", "/_berth/health").status ==
                   200, 30)
        for d, e in list(led.images.items()):
            st = b.request("HEAD", "/v2/%s/manifests/%s" % (e["repo"], d),
                           headers={"Accept": MT_OCI_MANIFEST + ", " +
                                    MT_OCI_INDEX}).status
            if st != 200:
                bad.append("image %s: %d" % (d, st))
        for d, e in list(led.deleted.items()):
            st = b.request("HEAD", "/v2/%s/manifests/%s" % (e["repo"],
                                                           d)).status
            if st != 404:
                bad.append("deleted %s: %d" % (d, st))
    finally:
        gate.open()


def killer(b, led, gate, rnd, bad):
    for _ in range(KILLS):
        time.sleep(rnd.uniform(0.2, 2.5))
        ensure_running(b)
        spawner = children(b.proc.pid)
        blobd = workers_of(b.data)
        victim = rnd.choice(["berthd", "blobd", "blobd", "spawner"])
        pid = {"berthd": b.proc.pid,
               "blobd": blobd[0] if blobd else None,
               "spawner": spawner[0] if spawner else None}[victim]
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            led.count("kill " + victim)
        except ProcessLookupError:
            pass
        if victim != "blobd":
            b.proc.wait()
            ensure_running(b)
        check_after_restart(b, led, gate, bad)


def get_ok(b, path, headers=None):
    r = b.request("GET", path, headers=headers)
    return r.status, r.body


def verify(b, led):
    bad = []
    accept = {"Accept": "%s, %s" % (MT_OCI_MANIFEST, MT_OCI_INDEX)}
    for d, e in led.images.items():
        st, body = get_ok(b, "/v2/%s/manifests/%s" % (e["repo"], d), accept)
        if st != 200 or body != e["manifest"]:
            bad.append("manifest %s in %s: %d" % (d, e["repo"], st))
            continue
        st, body = get_ok(b, "/v2/%s/manifests/%s" % (e["repo"], e["tag"]),
                          accept)
        if st != 200 or sha256(body) != d:
            bad.append("tag %s of %s: %d" % (e["tag"], d, st))
        for bd in e["blobs"]:
            st, body = get_ok(b, "/v2/%s/blobs/%s" % (e["repo"], bd))
            if st != 200 or sha256(body) != bd:
                bad.append("blob %s of %s: %d" % (bd, d, st))
    ok("every acknowledged image is there byte for byte (%d images)" %
       len(led.images), not bad, bad[:10])
    back = [d for d, e in led.deleted.items() if
            get_ok(b, "/v2/%s/manifests/%s" % (e["repo"], d))[0] != 404]
    ok("every acknowledged delete stuck (%d deletes)" % len(led.deleted),
       not back, back[:10])
    r = b.request("POST", "/_berth/gc")
    ok("a last garbage collection", r.status == 200, r.body)
    live = set()
    for e in led.images.values():
        live.update(e["blobs"])
    # What an unanswered push or delete held may legitimately be there.
    freed = set()
    for e in led.deleted.values():
        freed.update(e["blobs"])
    freed -= live | led.mounted
    for d in led.uncertain:
        for e in (led.images.get(d), led.deleted.get(d)):
            if e:
                freed -= set(e["blobs"])
    stored = {}
    for path in glob.glob(os.path.join(b.data, "blobs", "sha256", "*", "*")):
        with open(path, "rb") as f:
            stored["sha256:" + os.path.basename(path)] = \
                hashlib.sha256(f.read()).hexdigest()
    left = sorted(freed & set(stored))
    ok("the layers only deleted images held are gone (%d)" % len(freed),
       not left, left[:10])
    wrong = [d for d, h in stored.items() if d != "sha256:" + h]
    ok("every stored blob hashes to its name (%d blobs)" % len(stored),
       not wrong, wrong[:10])
    tmp = os.listdir(os.path.join(b.data, "tmp"))
    ok("no temporary file is left in tmp/", not tmp, tmp[:10])
    meta_tmp = glob.glob(os.path.join(b.data, "meta", "*.tmp"))
    ok("nor in meta/", not meta_tmp, meta_tmp)
    ok("exactly one berth-blobd runs", len(workers_of(b.data)) == 1,
       workers_of(b.data))


def main():
    b = Berthd("--create-on-push")
    led = Ledger()
    stop = threading.Event()
    errors = []
    rnd = random.Random(int(os.environ.get("TORTURE_SEED", time.time())))
    print("seed and kills:", rnd.random(), KILLS, flush=True)
    for repo in REPOS:      # the ECR API pushes only into existing ones
        ecr(b, "CreateRepository", {"repositoryName": repo})
    gate = Gate()
    bad = []
    threads = [threading.Thread(target=worker, args=(b, led, stop, gate,
                                                     rnd.random(), errors))
               for _ in range(WORKERS)]
    for t in threads:
        t.start()
    try:
        killer(b, led, gate, rnd, bad)
    finally:
        stop.set()
        for t in threads:
            t.join()
    print("operations:", json.dumps(led.counts, sort_keys=True), flush=True)
    ok("no request was refused for a reason other than a crash", not errors,
       errors[:10])
    ok("pushes were acknowledged between the kills", len(led.images) +
       len(led.deleted) > KILLS)
    ok("after each of the %d restarts, every acknowledged image was there "
       "and every acknowledged delete gone" % KILLS, not bad, bad[:10])
    try:
        ensure_running(b)
        # A GC killed between forgetting blobs and deleting their files
        # leaves files the metadata no longer knows, which only an expired
        # grace collects: the last one runs without one.
        b.args += ["--gc-grace", "0"]
        b.restart()
        verify(b, led)
    finally:
        b.cleanup(keep=False)
    summary()


if __name__ == "__main__":
    main()
