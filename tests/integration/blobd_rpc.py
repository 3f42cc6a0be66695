#!/usr/bin/env python3
"""End-to-end check of berth-blobd over its real socket protocol.

Starts berth-blobd with --debug-socket in a temporary data directory, acts
as berthd (frames, request ids, descriptors over SCM_RIGHTS) and checks
every reply.  Message numbers and error codes are read from common/proto.h
and common/error.h so that the script follows the headers.

usage: blobd_rpc.py [path/to/berth-blobd]   (default: $BLOBD, then
       build/blobd/berth-blobd, then blobd/berth-blobd)
"""

import hashlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def enum_values(header, enum, prefix):
    text = open(os.path.join(TOP, "common", header)).read()
    body = re.search(r"enum %s \{(.*?)\};" % enum, text, re.S).group(1)
    values, nxt = {}, 0
    for m in re.finditer(r"\b(%s\w+)\s*(?:=\s*(-?\d+))?\s*,?" % prefix,
                         re.sub(r"/\*.*?\*/", "", body, flags=re.S)):
        nxt = int(m.group(2)) if m.group(2) is not None else nxt
        values[m.group(1)] = nxt
        nxt += 1
    return values


MSG = enum_values("proto.h", "msg_type", "MSG_")
PROTOCOL_VERSION = int(re.search(
    r"#define PROTOCOL_VERSION\s+(\d+)",
    open(os.path.join(TOP, "common", "proto.h")).read()).group(1))
BERR = enum_values("error.h", "berr", "BERR_")
M = type("M", (), {k[4:]: v for k, v in MSG.items()})
E = type("E", (), {k[5:]: v for k, v in BERR.items()})

HDR = struct.Struct("=IIII")
OWNER = b"123456789012/us-east-1/team/app"
U64_MAX = 2**64 - 1
BLOB_WRITE_MAX = 1024 * 1024   # proto.h
FD_FLAG = 1


def z(b, n):
    return b.ljust(n, b"\0")


def sha256(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def send_rest(sock, data):
    """sendall() for what a sendmsg() left over.  sendall(b"") still makes
    a send(2) call, which fails with EPIPE if the peer has closed in the
    meantime: so it is made only when bytes are left."""
    if data:
        sock.sendall(data)


class Blobd:
    def __init__(self, binary, datadir, *args, wrapper=()):
        env = None
        if wrapper:
            # LeakSanitizer cannot work under ptrace (strace).
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                                   ":detect_leaks=0").lstrip(":")
        self.start([*wrapper, binary, "--data-dir", datadir, *args],
                   os.path.join(os.path.dirname(datadir), "blobd.sock"),
                   env=env)
        t, rid, payload, fd = self.recv()
        assert t == M.HELLO and rid == 0, (t, rid)
        version, pid = struct.unpack("=II", payload)
        assert version == PROTOCOL_VERSION and (
            wrapper or pid == self.proc.pid), (version, pid)

    def start(self, argv, sockpath, timeout=30, env=None):
        """Runs a worker with --debug-socket and connects to it."""
        self.sockpath = sockpath
        self.proc = subprocess.Popen(argv + ["--debug-socket", sockpath],
                                     stderr=subprocess.PIPE, env=env)
        self.stderr = []
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(sockpath)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("%s did not start: %s" % (
                        os.path.basename(argv[0]), "".join(self.stderr)))
                time.sleep(0.02)
        self.buf = b""
        self.fds = []
        self.next_id = 1

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace"))

    def send(self, t, payload=b"", fd=None, rid=None):
        if rid is None:
            rid = self.next_id
            self.next_id += 1
        frame = HDR.pack(t, len(payload), rid, FD_FLAG if fd is not None
                         else 0) + payload
        if fd is None:
            self.sock.sendall(frame)
        else:
            n = self.sock.sendmsg([frame], [(socket.SOL_SOCKET,
                                  socket.SCM_RIGHTS, struct.pack("i", fd))])
            send_rest(self.sock, frame[n:])
        return rid

    def recv(self):
        while True:
            if len(self.buf) >= HDR.size:
                t, n, rid, flags = HDR.unpack_from(self.buf)
                if len(self.buf) >= HDR.size + n:
                    payload = self.buf[HDR.size:HDR.size + n]
                    self.buf = self.buf[HDR.size + n:]
                    fd = self.fds.pop(0) if flags & FD_FLAG else None
                    return t, rid, payload, fd
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 20, 4)
            if not data:
                raise EOFError("berth-blobd closed the socket")
            self.buf += data
            self.fds += fds

    def call(self, t, payload=b"", fd=None):
        rid = self.send(t, payload, fd)
        if fd is not None:
            os.close(fd)
        rt, rrid, rp, rfd = self.recv()
        assert rrid == rid, (rrid, rid)
        return rt, rp, rfd

    def close(self):
        self.sock.close()
        return self.proc.wait(timeout=10)


def expect_error(reply, code, size=None):
    t, p, fd = reply
    assert t == M.ERROR, ("expected an error", t)
    got, _, gsize = struct.unpack("=iIQ", p)
    assert got == code, ("error", got, "expected", code)
    if size is not None:
        assert gsize == size, ("error size", gsize, size)


def committed(reply, seq=False):
    """A MSG_BLOB_COMMITTED's digest, size, created (and its entry's seq)."""
    t, p, fd = reply
    assert t == M.BLOB_COMMITTED, (t, p[:16])
    d, size, created, _, s = struct.unpack("=136sQIIQ", p)
    return (d.rstrip(b"\0").decode(), size, created) + ((s,) if seq else ())


def blob_write_frame(data, digest=None, size=None, entry=b""):
    digest = digest or sha256(data)
    size = len(data) if size is None else size
    return struct.pack("=136sQII", z(digest.encode(), 136), size,
                       len(entry), 0) + data + entry


def blob_write(b, data, digest=None, size=None, entry=b""):
    return b.call(M.BLOB_WRITE, blob_write_frame(data, digest, size, entry))


def upload_create(b, owner=OWNER, algo=0):
    t, p, _ = b.call(M.UPLOAD_CREATE, struct.pack("=320sII", z(owner, 320),
                                                  algo, 0))
    assert t == M.UPLOAD_CREATED, t
    return p


def upload_append(b, uid, data, offset=U64_MAX, owner=OWNER, chunk=65536,
                  length=None):
    r, w = os.pipe()
    rid = b.send(M.UPLOAD_APPEND, struct.pack(
        "=16s320sQQ", uid, z(owner, 320), offset,
        len(data) if length is None else length), fd=r)
    os.close(r)

    def feed():
        try:
            for i in range(0, len(data), chunk):
                os.write(w, data[i:i + chunk])
        except BrokenPipeError:
            pass
        os.close(w)
    th = threading.Thread(target=feed)
    th.start()
    t, rrid, p, _ = b.recv()
    th.join()
    assert rrid == rid
    return t, p, None


def status_size(reply):
    t, p, _ = reply
    assert t == M.UPLOAD_STATUS, t
    return struct.unpack("=Q", p)[0]


def upload_commit_frame(uid, digest, size=U64_MAX, owner=OWNER,
                        offset=U64_MAX, data=b"", entry=b""):
    return struct.pack("=16s320s136sQQII", uid, z(owner, 320),
                       z(digest.encode(), 136), size, offset, len(data),
                       len(entry)) + data + entry


def upload_commit(b, uid, digest, size=U64_MAX, owner=OWNER, **kw):
    return b.call(M.UPLOAD_COMMIT, upload_commit_frame(uid, digest, size,
                                                       owner, **kw))


def blob_read(b, digest):
    t, p, fd = b.call(M.BLOB_OPEN, z(digest.encode(), 136))
    assert t == M.BLOB_OPENED and fd is not None, t
    size, offset = struct.unpack("=QQ", p)
    data = os.pread(fd, size + 1, offset)
    os.close(fd)
    # A file of its own holds nothing more; a packed blob's shares it.
    assert len(data) == size or (offset > 0 and len(data) == size + 1)
    return data[:size]


def stats(b):
    t, p, _ = b.call(M.STATS)
    assert t == M.STATS_REPLY
    v = struct.unpack("=QQQQIIQQQ", p)
    return dict(zip(("blobs", "bytes", "uploads", "meta_log_bytes",
                     "writable", "pad", "held_bytes", "held_refused",
                     "commit_size_refused"), v))


def check_blobs(b):
    data = os.urandom(5000)
    d, size, created = committed(blob_write(b, data))
    assert (d, size, created) == (sha256(data), 5000, 1)
    assert committed(blob_write(b, data))[2] == 0
    assert blob_read(b, d) == data
    expect_error(blob_write(b, data + b"x", digest=sha256(data)),
                 E.DIGEST_INVALID)
    expect_error(blob_write(b, b"abc", digest="sha384:" + "0" * 96),
                 E.DIGEST_UNSUPPORTED)
    expect_error(blob_write(b, b"abc", digest="nonsense"), E.DIGEST_INVALID)
    expect_error(b.call(M.BLOB_OPEN, z(sha256(b"none").encode(), 136)),
                 E.BLOB_UNKNOWN)
    expect_error(b.call(M.BLOB_OPEN, b"x" * 136), E.DIGEST_INVALID)
    data = os.urandom(1 << 20)
    d512 = "sha512:" + hashlib.sha512(data).hexdigest()
    assert committed(blob_write(b, data, digest=d512))[2] == 1
    assert blob_read(b, d512) == data


def check_upload(b):
    uid = upload_create(b)
    data = os.urandom(3 * 1024 * 1024 + 11)
    assert status_size(upload_append(b, uid, data[:1000000], 0)) == 1000000
    expect_error(upload_append(b, uid, b"zzz", 5), E.RANGE_INVALID, 1000000)
    assert status_size(upload_append(b, uid, data[1000000:],
                                     1000000)) == len(data)
    assert status_size(b.call(M.UPLOAD_STAT, uid + z(OWNER, 320))) == \
        len(data)
    expect_error(b.call(M.UPLOAD_STAT, uid + z(b"someone/else/repo", 320)),
                 E.UPLOAD_UNKNOWN)
    expect_error(b.call(M.UPLOAD_STAT, uid + b"\0" * 320), E.BAD_REQUEST)
    expect_error(upload_commit(b, uid, sha256(data[1:])), E.DIGEST_INVALID)
    expect_error(upload_commit(b, uid, sha256(data), len(data) + 1),
                 E.SIZE_INVALID, len(data))
    d, size, created = committed(upload_commit(b, uid, sha256(data),
                                               len(data)))
    assert (d, size, created) == (sha256(data), len(data), 1)
    assert blob_read(b, d) == data
    expect_error(b.call(M.UPLOAD_STAT, uid + z(OWNER, 320)),
                 E.UPLOAD_UNKNOWN)

    uid = upload_create(b)
    assert b.call(M.UPLOAD_CANCEL, uid + z(OWNER, 320))[0] == M.OK
    expect_error(b.call(M.UPLOAD_CANCEL, uid + z(OWNER, 320)),
                 E.UPLOAD_UNKNOWN)


def upload_on_disk(datadir, uid):
    return os.path.exists(os.path.join(datadir, "uploads",
                                       str(uuid.UUID(bytes=uid))))


def check_held_uploads(b, datadir):
    """An append that leaves a session small enough for the pack is held
    in memory (nothing under uploads/) until the commit; whatever needs
    the file (another append, more bytes than announced) writes it."""
    stat = lambda uid: status_size(b.call(M.UPLOAD_STAT, uid + z(OWNER, 320)))
    uid = upload_create(b)
    data = os.urandom(BLOB_WRITE_MAX)
    assert status_size(upload_append(b, uid, data, 0)) == len(data)
    assert stat(uid) == len(data) and not upload_on_disk(datadir, uid)
    expect_error(upload_commit(b, uid, sha256(data[1:])), E.DIGEST_INVALID)
    # Another algorithm than the session's: hashed again, from memory.
    d512 = "sha512:" + hashlib.sha512(data).hexdigest()
    assert committed(upload_commit(b, uid, d512, len(data)))[:2] == \
        (d512, len(data))
    assert blob_read(b, d512) == data and not upload_on_disk(datadir, uid)
    expect_error(b.call(M.UPLOAD_STAT, uid + z(OWNER, 320)),
                 E.UPLOAD_UNKNOWN)

    # A second append writes what is held to the file first.
    uid = upload_create(b)
    data = os.urandom(3000)
    assert status_size(upload_append(b, uid, data[:1000], 0)) == 1000
    assert not upload_on_disk(datadir, uid)
    assert status_size(upload_append(b, uid, data[1000:], 1000)) == 3000
    assert upload_on_disk(datadir, uid)
    assert committed(upload_commit(b, uid, sha256(data)))[1] == 3000
    assert blob_read(b, sha256(data)) == data

    # More bytes than announced: the rest goes to the file with them.
    uid = upload_create(b)
    data = os.urandom(70000)
    assert status_size(upload_append(b, uid, data, 0, length=100)) == \
        len(data)
    assert upload_on_disk(datadir, uid) and stat(uid) == len(data)
    assert committed(upload_commit(b, uid, sha256(data)))[1] == len(data)
    assert blob_read(b, sha256(data)) == data

    # Fewer: what came is held.
    uid = upload_create(b)
    assert status_size(upload_append(b, uid, b"abc", 0, length=5000)) == 3
    assert not upload_on_disk(datadir, uid) and stat(uid) == 3
    assert b.call(M.UPLOAD_CANCEL, uid + z(OWNER, 320))[0] == M.OK
    expect_error(b.call(M.UPLOAD_STAT, uid + z(OWNER, 320)),
                 E.UPLOAD_UNKNOWN)


def check_held_crash(binary, tmp):
    """A held upload committed before a kill -9 is on disk; one not
    committed is forgotten (the client starts it again), as an empty
    session is; SIGTERM writes a held one out."""
    datadir = os.path.join(tmp, "held")
    b = Blobd(binary, datadir)
    done, data = upload_create(b), os.urandom(BLOB_WRITE_MAX)
    assert status_size(upload_append(b, done, data, 0)) == len(data)
    assert committed(upload_commit(b, done, sha256(data)))[1] == len(data)
    lost = upload_create(b)
    assert status_size(upload_append(b, lost, b"x" * 5000, 0)) == 5000
    b.proc.kill()
    b.proc.wait(timeout=10)
    b.sock.close()
    b = Blobd(binary, datadir)
    assert blob_read(b, sha256(data)) == data
    expect_error(b.call(M.UPLOAD_STAT, lost + z(OWNER, 320)),
                 E.UPLOAD_UNKNOWN)
    kept = upload_create(b)
    assert status_size(upload_append(b, kept, b"y" * 5000, 0)) == 5000
    b.proc.terminate()
    assert b.proc.wait(timeout=10) == 0
    b.sock.close()
    b = Blobd(binary, datadir)
    assert status_size(b.call(M.UPLOAD_STAT, kept + z(OWNER, 320))) == 5000
    assert b.close() == 0


def check_concurrent_uploads(b, n=4, size=8 * 1024 * 1024):
    """n appends in flight at once on one channel, fed in small pieces."""
    sessions = []
    for i in range(n):
        uid = upload_create(b)
        data = os.urandom(size + i)
        r, w = os.pipe()
        rid = b.send(M.UPLOAD_APPEND, struct.pack(
            "=16s320sQQ", uid, z(OWNER, 320), 0, U64_MAX), fd=r)
        os.close(r)
        sessions.append((uid, data, w, rid))
    # A second append on a busy session is refused while the first runs.
    expect_error(upload_append(b, sessions[0][0], b"x", 0), E.UPLOAD_BUSY)

    def feed(w, data):
        for i in range(0, len(data), 40000):
            os.write(w, data[i:i + 40000])
        os.close(w)
    threads = [threading.Thread(target=feed, args=(w, data))
               for _, data, w, _ in sessions]
    for th in threads:
        th.start()
    sizes = {}
    for _ in sessions:
        t, rid, p, _ = b.recv()
        assert t == M.UPLOAD_STATUS, t
        sizes[rid] = struct.unpack("=Q", p)[0]
    for th in threads:
        th.join()
    for uid, data, _, rid in sessions:
        assert sizes[rid] == len(data)
        assert committed(upload_commit(b, uid, sha256(data)))[1] == len(data)


def check_meta(b):
    entries = [os.urandom(20 + i) for i in range(200)]
    frames, rids = b"", []
    for e in entries:
        rid = b.next_id
        b.next_id += 1
        rids.append(rid)
        frames += HDR.pack(M.META_APPEND, len(e), rid, 0) + e
    b.sock.sendall(frames)          # one burst: group commit
    seqs = {}
    for _ in entries:
        t, rid, p, _ = b.recv()
        assert t == M.META_APPENDED, t
        seqs[rid] = struct.unpack("=Q", p)[0]
    assert [seqs[r] for r in rids] == list(range(1, len(entries) + 1))
    assert load_state(b) == entries

    snap = [b"snapshot-%d" % i for i in range(3)]
    payload = b"".join(struct.pack("=I", len(e)) + e for e in snap)
    fd = os.memfd_create("snap")
    os.write(fd, payload)
    t, p, _ = b.call(M.META_COMPACT, struct.pack("=QQ", len(payload),
                                                 len(snap)), fd=fd)
    assert t == M.OK, t
    fd = os.memfd_create("snap")
    os.write(fd, payload)
    expect_error(b.call(M.META_COMPACT, struct.pack("=QQ", len(payload),
                                                    len(snap) + 1), fd=fd),
                 E.BAD_REQUEST)
    t, p, _ = b.call(M.META_APPEND, b"after")
    assert t == M.META_APPENDED and struct.unpack("=Q", p)[0] == 201
    assert load_state(b) == snap + [b"after"]
    return snap + [b"after"]


def check_links(b, state):
    """A link entry rides with its blob: blobd appends it once the blob is
    stored (packed, stored before, or a file of its own), and never for a
    blob it refuses; a commit may carry the session's last bytes, or all of
    them.  Returns the state with the entries that went in."""
    data = os.urandom(3000)
    d, size, created, seq = committed(blob_write(b, data, entry=b"link-1"),
                                      seq=True)
    assert (d, size, created) == (sha256(data), 3000, 1) and seq > 0
    expect_error(blob_write(b, data + b"x", digest=sha256(data),
                            entry=b"refused"), E.DIGEST_INVALID)
    assert committed(blob_write(b, data, entry=b"link-2"), seq=True)[2:] == \
        (0, seq + 1)

    # Too big to pack: the entry follows the blob's own file.
    size_refused = stats(b)["commit_size_refused"]
    uid = upload_create(b)
    big = os.urandom(2 * 1024 * 1024 + 5)
    assert status_size(upload_append(b, uid, big, 0)) == len(big)
    expect_error(upload_commit(b, uid, sha256(big), len(big) + 1,
                               entry=b"refused"), E.SIZE_INVALID, len(big))
    assert committed(upload_commit(b, uid, sha256(big), len(big),
                                   entry=b"link-3"))[2] == 1
    assert blob_read(b, sha256(big)) == big

    # The whole blob with the commit: refusals leave the session as it
    # was (empty), then it is stored from memory and the session ends.
    uid = upload_create(b)
    small = os.urandom(10000)
    expect_error(upload_commit(b, uid, sha256(small), offset=5, data=small,
                               entry=b"refused"), E.RANGE_INVALID, 0)
    expect_error(upload_commit(b, uid, sha256(small), len(small) - 1,
                               data=small, entry=b"refused"),
                 E.SIZE_INVALID, 0)
    expect_error(upload_commit(b, uid, sha256(small + b"y"), data=small,
                               entry=b"refused"), E.DIGEST_INVALID, 0)
    assert status_size(b.call(M.UPLOAD_STAT, uid + z(OWNER, 320))) == 0
    assert committed(upload_commit(b, uid, sha256(small), len(small),
                                   offset=0, data=small,
                                   entry=b"link-4"))[1:] == (len(small), 1)
    expect_error(b.call(M.UPLOAD_STAT, uid + z(OWNER, 320)),
                 E.UPLOAD_UNKNOWN)
    assert blob_read(b, sha256(small)) == small

    # The last bytes with the commit, after those appended before.
    uid = upload_create(b)
    first, last = os.urandom(70000), os.urandom(BLOB_WRITE_MAX)
    whole = first + last
    assert status_size(upload_append(b, uid, first, 0)) == len(first)
    expect_error(upload_commit(b, uid, sha256(whole), len(whole) + 1,
                               data=last, entry=b"refused"),
                 E.SIZE_INVALID, len(first))
    assert committed(upload_commit(b, uid, sha256(whole), len(whole),
                                   offset=len(first), data=last,
                                   entry=b"link-5"))[1:] == (len(whole), 1)
    assert blob_read(b, sha256(whole)) == whole
    # The four refusals for a size or an offset are counted, not the
    # digest's.
    assert stats(b)["commit_size_refused"] == size_refused + 4

    state = state + [b"link-%d" % i for i in range(1, 6)]
    assert load_state(b) == state
    return state


def load_state(b):
    t, p, fd = b.call(M.META_LOAD)
    assert t == M.META_STATE and fd is not None, t
    length, count = struct.unpack("=QQ", p)
    with os.fdopen(fd, "rb") as f:
        raw = f.read()
    assert len(raw) == length
    out, off = [], 0
    while off < len(raw):
        n = struct.unpack_from("=I", raw, off)[0]
        out.append(raw[off + 4:off + 4 + n])
        off += 4 + n
    assert len(out) == count
    return out


def gc_records(b):
    t, p, fd = b.call(M.GC_LIST)
    assert t == M.GC_LISTING and fd is not None, t
    count = struct.unpack("=Q", p)[0]
    with os.fdopen(fd, "rb") as f:
        raw = f.read()
    assert len(raw) == count * 152
    return [struct.unpack_from("=136sQq", raw, i * 152) for i in range(count)]


def gc_sweep(b, digests):
    """Sweeps the blobs named (stored before now); (blobs, bytes)."""
    raw = b"".join(struct.pack("=136sQq", z(d.encode(), 136), 0, 0)
                   for d in digests)
    fd = os.memfd_create("sweep")
    os.write(fd, raw)
    t, p, _ = b.call(M.GC_SWEEP, struct.pack(
        "=QqII", len(digests), int(time.time() * 1000) + 1000, 0, 0), fd=fd)
    assert t == M.GC_SWEPT, t
    return struct.unpack("=QQ", p)


def check_gc(b):
    recs = gc_records(b)
    before = stats(b)
    assert len(recs) == before["blobs"]
    assert sum(r[1] for r in recs) == before["bytes"]
    keep = sha256(b"keep me")
    committed(blob_write(b, b"keep me"))
    recs = gc_records(b)
    not_after = max(r[2] for r in recs)
    time.sleep(0.01)
    committed(blob_write(b, b"keep me"))        # stored again: spared
    raw = b"".join(struct.pack("=136sQq", *r) for r in recs)

    def sweep(dry):
        fd = os.memfd_create("sweep")
        os.write(fd, raw)
        t, p, _ = b.call(M.GC_SWEEP, struct.pack("=QqII", len(recs),
                                                 not_after, dry, 0), fd=fd)
        assert t == M.GC_SWEPT, t
        return struct.unpack("=QQ", p)
    dry = sweep(1)
    assert stats(b)["blobs"] == len(recs)
    real = sweep(0)
    assert dry == real and real[0] == len(recs) - 1, (dry, real)
    s = stats(b)
    assert s["blobs"] == 1 and s["bytes"] == 7
    assert blob_read(b, keep) == b"keep me"


def check_log_reopen(b, path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    b.send(M.LOG_REOPEN, fd=fd, rid=0)
    os.close(fd)
    assert stats(b)["writable"] == 1        # no reply came for the reopen


def expect_fatal(binary, datadir, what, frame, fd=None):
    """A frame that breaks proto.h ends blobd with status 1 and no reply.

    A STATS request rides in the same write right behind it: an answer to
    it would mean that the frame was let through.  blobd may close the
    channel as soon as it has read the frame's header, before the rest is
    written: the peer's close while sending (EPIPE, ECONNRESET) is then the
    outcome expected, not a failure."""
    b = Blobd(binary, datadir)
    try:
        assert stats(b)["writable"] == 1
        data = frame + HDR.pack(M.STATS, 0, 4242, 0)
        anc = [] if fd is None else [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      struct.pack("i", fd))]
        try:
            n = b.sock.sendmsg([data], anc)
            send_rest(b.sock, data[n:])
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            t, rid, _, rfd = b.recv()
            if rfd is not None:
                os.close(rfd)
            raise AssertionError("%s: berth-blobd answered type %d id %d"
                                 % (what, t, rid))
        except (EOFError, ConnectionResetError):
            pass
        assert b.proc.wait(timeout=10) == 1, what
    finally:
        if fd is not None:
            os.close(fd)
        b.sock.close()
        if b.proc.poll() is None:
            b.proc.kill()
            b.proc.wait()


DYING_HOLDER = """
import ctypes, fcntl, os, sys, threading
fd = os.open(sys.argv[1] + "/lock", os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.pwrite(fd, b"%d\\n" % os.getpid(), 0)
def later():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=later).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def check_dying_holder(binary, tmp):
    """A worker killed while a thread of it is in an uninterruptible
    wait: its main thread is a zombie, the lock still held.  The next
    blobd waits for it rather than refusing the directory."""
    datadir = os.path.join(tmp, "dying")
    os.makedirs(datadir)
    holder = subprocess.Popen([sys.executable, "-c", DYING_HOLDER, datadir],
                              stdin=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        with open("/proc/%d/status" % holder.pid) as f:
            if "State:\tZ" in f.read():
                break
        assert time.monotonic() < deadline, "the holder's main thread lives"
        time.sleep(0.01)
    start_after_holder(binary, datadir, os.path.join(tmp, "dying.sock"),
                       holder)
    print("ok a dying holder of the lock is waited for")


def start_after_holder(binary, datadir, sock, holder):
    """Starts a blobd on datadir while holder holds its lock: the blobd
    must say it waits for holder, and once holder goes (its stdin
    closed), take the lock and wait for a connection.  Returns the
    blobd's pid."""
    b = subprocess.Popen([binary, "--data-dir", datadir, "--debug-socket",
                          sock], stderr=subprocess.PIPE, text=True)
    want = "waiting for the previous berth-blobd (pid %d) to exit" % \
        holder.pid
    for line in b.stderr:
        if want in line:
            holder.stdin.close()    # now the holder goes
        if "waiting for a connection" in line or "in use" in line:
            break
    b.kill()        # it waits in accept, where SIGTERM waits too
    assert holder.wait(timeout=10) == 0
    b.wait(timeout=10)
    assert holder.stdin.closed and "waiting for a connection" in line, line
    return b.pid


EXITING_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1] + "/lock", os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.pwrite(fd, b"%d exiting\\n" % os.getpid(), 0)
print("held", flush=True)
sys.stdin.read()
"""


def check_exiting_holder(binary, tmp):
    """A berth-blobd whose berthd was killed marks the lock while it
    writes out what it holds; a blobd started meanwhile waits for it."""
    datadir = os.path.join(tmp, "exiting")
    os.makedirs(datadir)
    holder = subprocess.Popen([sys.executable, "-c", EXITING_HOLDER, datadir],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline() == "held\n"
    pid = start_after_holder(binary, datadir,
                             os.path.join(tmp, "exiting.sock"), holder)
    with open(os.path.join(datadir, "lock")) as f:
        assert f.read() == "%d\n" % pid
    print("ok a holder of the lock that marked its exit is waited for")


def check_strictness(binary, datadir, logpath):
    """proto.h's rules beyond a frame's type and length: ids, size fields."""
    data = b"strict" * 100
    # MSG_BLOB_WRITE: size must equal the bytes that follow.
    for size in (len(data) - 1, len(data) + 1, 0, U64_MAX):
        payload = blob_write_frame(data, size=size)
        expect_fatal(binary, datadir, "blob write of size %d" % size,
                     HDR.pack(M.BLOB_WRITE, len(payload), 77, 0) + payload)
    # MSG_UPLOAD_COMMIT: data_len and entry_len say what follows.
    uid = b"u" * 16
    good = upload_commit_frame(uid, sha256(data), data=data, entry=b"e" * 9)
    for what, payload in (("a byte short", good[:-1]),
                          ("a byte over", good + b"x"),
                          ("no data", good[:520])):
        expect_fatal(binary, datadir, "upload commit " + what,
                     HDR.pack(M.UPLOAD_COMMIT, len(payload), 78, 0) +
                     payload)
    # A request: an id other than 0, which would get no reply.
    expect_fatal(binary, datadir, "stats with id 0", HDR.pack(M.STATS, 0, 0, 0))
    owner = struct.pack("=320sII", z(OWNER, 320), 0, 0)
    expect_fatal(binary, datadir, "upload create with id 0",
                 HDR.pack(M.UPLOAD_CREATE, len(owner), 0, 0) + owner)
    # MSG_LOG_REOPEN: id 0 (check_log_reopen shows that one is taken).
    for rid in (1, 0xffffffff):
        fd = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        expect_fatal(binary, datadir, "log reopen with id %d" % rid,
                     HDR.pack(M.LOG_REOPEN, 0, rid, FD_FLAG), fd=fd)


def check_durability(binary, tmp):
    """--durability full syncs what it acknowledges; relaxed syncs nothing.

    Each runs under strace on a data directory made by an earlier run, so
    that no directory is new; it stores a blob, appends an entry, commits
    an upload and removes a blob by GC."""
    if shutil.which("strace") is None:
        print("  (no strace: --durability not checked)")
        return
    syncs = {}
    for mode in ("full", "relaxed"):
        datadir = os.path.join(tmp, "dur-" + mode)
        Blobd(binary, datadir).close()
        trace = os.path.join(tmp, "strace-" + mode)
        b = Blobd(binary, datadir, "--durability", mode,
                  wrapper=("strace", "-f", "-qq", "-o", trace, "-e",
                           "trace=fsync,fdatasync,sync_file_range"))
        data = os.urandom(5000)
        d = committed(blob_write(b, data))[0]
        assert b.call(M.META_APPEND, b"entry")[0] == M.META_APPENDED
        uid = upload_create(b)
        big = os.urandom(300000)
        status_size(upload_append(b, uid, big, 0))
        committed(upload_commit(b, uid, sha256(big)))
        gc_sweep(b, [d])
        assert blob_read(b, sha256(big)) == big
        assert b.close() == 0
        with open(trace) as f:
            syncs[mode] = sum(1 for line in f
                              if re.search(r"\b(fsync|fdatasync)\(", line))
    assert syncs["full"] >= 3 and syncs["relaxed"] == 0, syncs
    print("  fsync and fdatasync calls: full %d, relaxed %d"
          % (syncs["full"], syncs["relaxed"]))


def perf(b):
    big = os.urandom(64 * 1024 * 1024)
    uid = upload_create(b)
    t0 = time.time()
    assert status_size(upload_append(b, uid, big, 0,
                                     chunk=1 << 20)) == len(big)
    t1 = time.time()
    committed(upload_commit(b, uid, sha256(big)))
    t2 = time.time()
    hashlib.sha256(big).digest()
    t3 = time.time()
    print("  64 MiB upload: append %.0f MiB/s, commit %.0f ms; "
          "sha256 alone %.0f MiB/s" % (64 / (t1 - t0), (t2 - t1) * 1000,
                                       64 / (t3 - t2)))

    n = 1000
    frames = b""
    for i in range(n):
        data = os.urandom(4096)
        payload = blob_write_frame(data)
        frames += HDR.pack(M.BLOB_WRITE, len(payload), 100000 + i, 0) + \
            payload
    t0 = time.time()
    b.sock.sendall(frames)
    for _ in range(n):
        t, rid, p, _ = b.recv()
        assert committed((t, p, None))[2] == 1
    print("  %d blob writes of 4 KiB: %.0f/s" % (n, n / (time.time() - t0)))


def main():
    binary = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BLOBD")
              or next((p for p in (os.path.join(TOP, "build/blobd/berth-blobd"),
                                   os.path.join(TOP, "blobd/berth-blobd"))
                       if os.path.exists(p)), None))
    if binary is None:
        sys.exit("no berth-blobd binary: build it or pass its path")
    tmp = tempfile.mkdtemp(prefix="blobd-rpc.")
    datadir = os.path.join(tmp, "data")
    b = None
    try:
        b = Blobd(binary, datadir)
        check_blobs(b)
        print("ok blobs")
        check_upload(b)
        print("ok uploads")
        check_held_uploads(b, datadir)
        print("ok small uploads held in memory")
        check_concurrent_uploads(b)
        print("ok concurrent uploads")
        state = check_meta(b)
        print("ok metadata")
        state = check_links(b, state)
        print("ok link entries with blobs")
        check_gc(b)
        print("ok gc")

        uid = upload_create(b)
        part = os.urandom(12 * 1024 * 1024)
        status_size(upload_append(b, uid, part, 0))
        check_log_reopen(b, os.path.join(tmp, "blobd.log"))
        print("ok log reopen")

        # A second blobd on the same directory is refused.
        r = subprocess.run([binary, "--data-dir", datadir, "--debug-socket",
                            os.path.join(tmp, "x.sock")],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 3 and "in use by another berth process " \
            "(pid %d)" % b.proc.pid in r.stderr, (r.returncode, r.stderr)
        print("ok lock")
        check_dying_holder(binary, tmp)
        check_exiting_holder(binary, tmp)

        # A session held in memory is written out at a clean exit.
        held_uid = upload_create(b)
        held = os.urandom(3000)
        assert status_size(upload_append(b, held_uid, held, 0)) == 3000
        assert not upload_on_disk(datadir, held_uid)

        # Peer EOF: exit 0 at once.
        assert b.close() == 0
        print("ok exit on close")

        # Restart: state, blobs and the upload are still there; the upload
        # resumes and its commit re-hashes the file (in steps).
        b = Blobd(binary, datadir)
        assert load_state(b) == state
        s = stats(b)
        assert s["blobs"] == 1 and s["uploads"] == 2, s
        assert status_size(b.call(M.UPLOAD_STAT, held_uid +
                                  z(OWNER, 320))) == len(held)
        assert committed(upload_commit(b, held_uid, sha256(held)))[1] == \
            len(held)
        assert status_size(b.call(M.UPLOAD_STAT, uid + z(OWNER, 320))) == \
            len(part)
        more = os.urandom(1000)
        assert status_size(upload_append(b, uid, more, len(part))) == \
            len(part) + 1000
        assert committed(upload_commit(b, uid, sha256(part + more)))[2] == 1
        print("ok restart and resume")

        perf(b)

        # A malformed frame is fatal: exit 1, berthd restarts us.
        b.sock.sendall(HDR.pack(999, 0, 5, 0))
        assert b.proc.wait(timeout=10) == 1
        b.sock.close()
        print("ok malformed frame")

        b = None
        check_strictness(binary, datadir, os.path.join(tmp, "strict.log"))
        print("ok size and id strictness")

        b = Blobd(binary, datadir)
        b.proc.terminate()
        assert b.proc.wait(timeout=10) == 0
        print("ok SIGTERM")

        b = None
        check_held_crash(binary, tmp)
        print("ok held uploads after kill -9 and SIGTERM")

        check_durability(binary, tmp)
        print("ok durability full and relaxed")
    except Exception:
        if b is not None:
            sys.stderr.write("berth-blobd said:\n" + "".join(b.stderr))
        raise
    finally:
        if b is not None and b.proc.poll() is None:
            b.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("all ok")


if __name__ == "__main__":
    main()
