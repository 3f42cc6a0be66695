#!/usr/bin/env python3
"""A power cut at any moment loses nothing berth-blobd acknowledged.

Runs berth-blobd under strace, drives it as berthd would (pipelined blob
writes, metadata entries, upload commits small and large, the same blob
stored twice at once, a GC sweep, restarts), then reads the trace back as
a record of what reached the disk: a write is durable only once an
fdatasync or fsync of its file began after it and ended, a name (rename,
mkdir) only once its directory's fsync did.  For every reply that says a
blob or an entry is stored (MSG_BLOB_COMMITTED, MSG_META_APPENDED) it
checks that what the reply stands for was durable before the reply left,
as it would have to be if the power went the instant after:

  - an entry: its pwritev to the metadata log, then a sync of the log;
  - a blob in a file of its own: the writes to that file, then its
    fdatasync, then the rename into blobs/, then an fsync of the fan-out
    directory;
  - a small blob in the log: its entry's write, then a sync of the log;
  - and for each, every directory on the way made during the trace (the
    trace starts before the data directory exists), and the log's own
    rename into place, fsync'd in its parent;
  - a link entry that rode with a blob (MSG_BLOB_COMMITTED's seq): as an
    entry, and written to the log only once the blob was durable (after
    the blob's own entry, or after the fsync that made its name durable),
    so that no power cut leaves a record naming a blob that is not there.

A blob stored already is checked against the store that first made it.
The check is then run on the same trace with every sync removed, and must
fail: a test that cannot fail proves nothing.

An upload session resumed after a power cut: a session's appends are
traced too, and for a cut at each point of that trace the data directory
is rebuilt as the cut may leave it (the file as long as its writes made
it, the bytes of writes not yet synced zeros) and stamped as written in
another boot; berth-blobd started on it must report an offset that
covers only synced bytes (appends are synced at the commit only, so 0),
and its file must hold the client's bytes up to it.  The same images
left in this boot (a blobd that trusted the file's size after a cut)
must fail the check.

The metadata log's spare segment (blobd/logspare.c): a second traced run
waits for meta/log.spare, lets a small log move into it and a compaction
roll the log into the next one, and checks every acknowledgement as
above and the spare's order: its zeros synced before it is named
log.spare, the log's bytes copied into it synced before it is renamed to
log (the rename then durable before an entry written to it is
acknowledged, as above).  Then the states a power cut or kill -9 leaves,
built on disk: entries in a log of zeros (the zeros kept), a torn entry
there (kept aside, cut), a spare half made and one holding a log's head
(made again), a spare renamed to the log whose header never reached the
disk (the closed segment's entries kept).

usage: fsync_order.py [path/to/berth-blobd]
"""

import os
import re
import shutil
import struct
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blobd_rpc as rpc  # noqa: E402

SYSCALLS = ("pwritev", "pwrite64", "write", "renameat", "mkdirat", "mkdir",
            "fsync", "fdatasync", "sendmsg")
SPARE_SIZE = 64 * 1024 * 1024       # METALOG_SEGMENT_MAX
LINE = re.compile(r"^(\d+)\s+(\d+):(\d+):([\d.]+)\s+(.*)$")
HEX = re.compile(r"\\x([0-9a-f]{2})")


def unhex(s):
    return HEX.sub(lambda m: chr(int(m.group(1), 16)), s)


def unhex_bytes(s):
    return bytes(int(h, 16) for h in re.findall(r"\\x([0-9a-f]{2})", s))


class Call:
    def __init__(self, name, args, start, end):
        self.name, self.args, self.start, self.end = name, args, start, end

    def fd_path(self, i=0):
        """The path strace -y gave for the i-th descriptor argument."""
        paths = re.findall(r"\d+<([^>]*)>", self.args)
        return unhex(paths[i]) if i < len(paths) else None

    def strings(self):
        return [unhex(s) for s in re.findall(r'"((?:\\x[0-9a-f]{2})*)"',
                                              self.args)]

    def buffers(self):
        return [unhex_bytes(s) for s in
                re.findall(r'"((?:\\x[0-9a-f]{2})*)"', self.args)]


def parse(path):
    """The completed calls of interest, with start and end times."""
    calls, pending = [], {}
    for line in open(path):
        m = LINE.match(line)
        if not m:
            continue
        pid = m.group(1)
        t = int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))
        rest = m.group(5)
        if rest.startswith("<..."):
            name = rest.split()[1]
            first = pending.pop((pid, name), None)
            if first is None:
                continue
            rest = first[1] + rest[rest.index("resumed>") + 8:]
            start = first[0]
        elif rest.endswith("<unfinished ...>"):
            name = rest.split("(", 1)[0]
            # Without the space before the marker, so that the joined
            # call reads as one ("..., 0) = 4096").
            pending[(pid, name)] = (t, rest[:-len("<unfinished ...>")]
                                    .rstrip())
            continue
        else:
            start = t
        name = rest.split("(", 1)[0]
        if name not in SYSCALLS:
            continue
        d = re.search(r"<([\d.]+)>\s*$", rest)
        if d is None or re.search(r"= -1 ", rest):
            continue
        calls.append(Call(name, rest, start, start + float(d.group(1))))
    calls.sort(key=lambda c: c.start)
    return calls


def frames(buf):
    """(type, id, payload) of every whole frame in a buffer."""
    out, off = [], 0
    while off + 16 <= len(buf):
        t, n, rid, _ = struct.unpack_from("=IIII", buf, off)
        if off + 16 + n > len(buf):
            break
        out.append((t, rid, buf[off + 16:off + 16 + n]))
        off += 16 + n
    return out


class Checker:
    def __init__(self, calls):
        self.calls = calls
        self.problems = []

    def synced(self, path, after, before, data_only=True):
        """A sync of path that began at or after `after` and ended before
        `before`."""
        names = ("fdatasync", "fsync") if data_only else ("fsync",)
        return any(c.name in names and c.fd_path() == path and
                   c.start >= after and c.end <= before for c in self.calls)

    def fail(self, what):
        self.problems.append(what)

    def names_durable(self, path, ack, what):
        """Every name on the way to path made during the trace (a mkdir, a
        rename into place) was fsync'd in its directory before ack."""
        while path.count("/") > 1:
            parent = path.rsplit("/", 1)[0]
            made = None
            for c in self.calls:
                if c.start >= ack:
                    break
                if c.name == "mkdirat" and c.strings() and \
                        c.fd_path() + "/" + c.strings()[0] == path:
                    made = c
                elif c.name == "mkdir" and c.strings() and \
                        c.strings()[0] == path:
                    made = c
                elif c.name == "renameat" and len(c.strings()) == 2 and \
                        c.fd_path(1) + "/" + c.strings()[1] == path:
                    made = c
            if made is not None and not self.synced(parent, made.end, ack,
                                                    data_only=False):
                self.fail("%s acknowledged before %s was in %s"
                          % (what, path, parent))
            path = parent

    def log_entry(self, pred, before):
        """The last pwritev to a metadata log file whose first buffer
        satisfies pred, before `before`."""
        found = None
        for c in self.calls:
            if c.start >= before:
                break
            if c.name != "pwritev" or not re.search(r"/meta/log(\.\d+)?$",
                                                    c.fd_path() or ""):
                continue
            bufs = c.buffers()
            if bufs and pred(bufs):
                found = c
        return found

    def check_entry(self, seq, ack):
        w = self.log_entry(lambda b: len(b[0]) >= 16 and
                           struct.unpack_from("<Q", b[0], 8)[0] == seq and
                           not (b[0][3] & 0x80), ack)
        if w is None:
            self.fail("entry %d: no write to the log found" % seq)
            return
        if not self.synced(w.fd_path(), w.end, ack):
            self.fail("entry %d acknowledged before the log was synced"
                      % seq)
        self.names_durable(w.fd_path(), ack, "entry %d" % seq)

    def check_blob(self, digest, ack):
        """Checks the blob; returns when it was durable: the start of its
        log entry's write, the end of the fsync that made its name
        durable, or 0 when it was stored before the trace; None if
        never."""
        algo, hexd = digest.split(":")
        raw = bytes.fromhex(hexd)
        packed = self.log_entry(lambda b: len(b) >= 2 and b[0][3] & 0x80 and
                                b[1][16:16 + len(raw)] == raw, ack)
        rename = None
        for c in self.calls:
            if c.start >= ack:
                break
            if c.name == "renameat" and len(c.strings()) == 2 and \
                    c.strings()[1] == hexd and \
                    (c.fd_path(1) or "").endswith("/blobs/%s/%s"
                                                   % (algo, hexd[:2])):
                rename = c
        if packed is not None and (rename is None or
                                   packed.start > rename.start):
            if not self.synced(packed.fd_path(), packed.end, ack):
                self.fail("%s acknowledged before its log entry was synced"
                          % digest)
            self.names_durable(packed.fd_path(), ack, digest)
            return packed.start
        if rename is None:
            return 0    # stored before the trace began
        src = rename.fd_path(0) + "/" + rename.strings()[0]
        fan = rename.fd_path(1)
        writes = [c for c in self.calls if c.start < rename.start and
                  c.name in ("write", "pwrite64", "pwritev") and
                  c.fd_path() == src]
        if writes and not self.synced(src, max(w.end for w in writes),
                                      rename.start):
            self.fail("%s renamed into the store before its bytes were "
                      "synced" % digest)
        self.names_durable(fan + "/" + hexd, ack, digest)
        return min((c.end for c in self.calls if c.name == "fsync" and
                    c.fd_path() == fan and c.start >= rename.end),
                   default=None)

    def check_link(self, seq, digest, durable, ack):
        """The entry that rode with a blob durable at `durable`."""
        self.check_entry(seq, ack)
        w = self.log_entry(lambda b: len(b[0]) >= 16 and
                           struct.unpack_from("<Q", b[0], 8)[0] == seq and
                           not (b[0][3] & 0x80), ack)
        if w is not None and (durable is None or w.start < durable):
            self.fail("entry %d written before its blob %s was durable"
                      % (seq, digest))

    def run(self):
        acks = 0
        for c in self.calls:
            if c.name != "sendmsg" or "socket:" not in (c.fd_path() or ""):
                continue
            for t, rid, p in frames(b"".join(c.buffers())):
                if t == rpc.M.META_APPENDED:
                    self.check_entry(struct.unpack("=Q", p[:8])[0], c.start)
                    acks += 1
                elif t == rpc.M.BLOB_COMMITTED:
                    d = p[:136].split(b"\0")[0].decode()
                    durable = self.check_blob(d, c.start)
                    acks += 1
                    seq = struct.unpack_from("=Q", p, 152)[0]
                    if seq != 0:
                        self.check_link(seq, d, durable, c.start)
                        acks += 1
        return acks


def workload(binary, tmp, trace):
    # A fresh data directory: the directories a start makes count too.
    datadir = os.path.join(tmp, "data")
    b = rpc.Blobd(binary, datadir, wrapper=(
        "strace", "-f", "-tt", "-T", "-y", "-xx", "-s", "400", "-o", trace,
        "-e", "trace=" + ",".join(SYSCALLS)))
    # Pipelined: blob writes (one twice; some with their link entry),
    # entries between them.
    frames_out, want, blobs = b"", [], []
    for i in range(40):
        data = os.urandom(300 + 37 * i) if i != 7 else blobs[3][1]
        d = rpc.sha256(data)
        blobs.append((d, data))
        payload = rpc.blob_write_frame(data, entry=os.urandom(40)
                                       if i % 3 == 0 else b"")
        frames_out += rpc.HDR.pack(rpc.M.BLOB_WRITE, len(payload),
                                   b.next_id, 0) + payload
        want.append(b.next_id)
        b.next_id += 1
        entry = os.urandom(50)
        frames_out += rpc.HDR.pack(rpc.M.META_APPEND, len(entry), b.next_id,
                                   0) + entry
        want.append(b.next_id)
        b.next_id += 1
    b.sock.sendall(frames_out)
    for _ in want:
        t, rid, p, fd = b.recv()
        assert t in (rpc.M.BLOB_COMMITTED, rpc.M.META_APPENDED), t
    # Uploads, small and large, linked after the commit or with it.
    for size in (1000, 70000, 3 * 1024 * 1024 + 5):
        for ride in (False, True):
            uid = rpc.upload_create(b)
            data = os.urandom(size)
            rpc.status_size(rpc.upload_append(b, uid, data, 0))
            rpc.committed(rpc.upload_commit(b, uid, rpc.sha256(data),
                                            entry=b"link" if ride else b""))
            if not ride:
                assert b.call(rpc.M.META_APPEND, b"link")[0] == \
                    rpc.M.META_APPENDED
    # The blob's bytes with the commit: all of them, or the last.
    for first, last in ((0, 5000), (0, 1024 * 1024), (2 * 1024 * 1024, 9)):
        uid = rpc.upload_create(b)
        data = os.urandom(first + last)
        if first:
            rpc.status_size(rpc.upload_append(b, uid, data[:first], 0))
        rpc.committed(rpc.upload_commit(b, uid, rpc.sha256(data),
                                        offset=first, data=data[first:],
                                        entry=b"link"))
    rpc.gc_sweep(b, [blobs[0][0]])
    assert b.close() == 0


def wait_for(pred, what, timeout=20):
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(0.02)


def spare_ready(meta):
    p = os.path.join(meta, "log.spare")
    return os.path.exists(p) and os.path.getsize(p) == SPARE_SIZE


def append_all(b, entries):
    for e in entries:
        assert b.call(rpc.M.META_APPEND, e)[0] == rpc.M.META_APPENDED


def append_until_moved(b, meta, tag):
    """Appends entries (returned) until the log has moved into the spare,
    which a round does once the spare is ready: its name comes a moment
    before."""
    wait_for(lambda: spare_ready(meta), "a spare")
    done = []
    while os.path.getsize(os.path.join(meta, "log")) != SPARE_SIZE:
        assert len(done) < 2000, "the log never moved into the spare"
        done.append(b"%s-%d" % (tag, len(done)))
        append_all(b, done[-1:])
    return done


def compact(b, snap):
    payload = b"".join(struct.pack("=I", len(e)) + e for e in snap)
    fd = os.memfd_create("snap")
    os.write(fd, payload)
    t, _, _ = b.call(rpc.M.META_COMPACT, struct.pack("=QQ", len(payload),
                                                     len(snap)), fd=fd)
    assert t == rpc.M.OK, t


def spare_workload(binary, tmp, trace):
    """Entries before the spare, in the log moved into it, after a
    compaction rolled the log into the next spare; the state at the end."""
    datadir = os.path.join(tmp, "spare")
    meta = os.path.join(datadir, "meta")
    b = rpc.Blobd(binary, datadir, wrapper=(
        "strace", "-f", "-tt", "-T", "-y", "-xx", "-s", "400", "-o", trace,
        "-e", "trace=" + ",".join(SYSCALLS)))
    state = [b"before-%d" % i for i in range(5)]
    append_all(b, state)
    state += append_until_moved(b, meta, b"moved")
    more = [b"moved-more-%d" % i for i in range(5)]
    append_all(b, more)
    state += more
    # A compaction rolls the log into the next spare (or, not ready
    # yet, into an empty log: then again).
    snap = [b"snap-%d" % i for i in range(3)]
    wait_for(lambda: spare_ready(meta), "the second spare")
    compact(b, snap)
    while os.path.getsize(os.path.join(meta, "log")) != SPARE_SIZE:
        wait_for(lambda: spare_ready(meta), "the second spare")
        compact(b, snap)
    state = snap + [b"rolled-%d" % i for i in range(5)]
    append_all(b, state[3:])
    assert rpc.load_state(b) == state
    assert b.close() == 0
    return datadir, state


def check_spare_order(calls):
    """Each rename into log.spare or log of a spare: the writes to it
    synced before."""
    problems, renames = [], 0
    for r in calls:
        if r.name != "renameat" or len(r.strings()) != 2 or \
                r.strings()[0] not in ("log.spare.tmp", "log.spare"):
            continue
        renames += 1
        src = r.fd_path(0) + "/" + r.strings()[0]
        writes = [c.end for c in calls if c.start < r.start and
                  c.name in ("pwrite64", "pwritev", "write") and
                  c.fd_path() == src]
        if not writes or not any(
                c.name == "fdatasync" and c.fd_path() == src and
                c.start >= max(writes) and c.end <= r.start for c in calls):
            problems.append("%s renamed before its writes were synced"
                            % src)
    return renames, problems


def log_end(path):
    """Where the entries of a log file end (as blobd scans them)."""
    with open(path, "rb") as f:
        raw = f.read()
    off = 12
    while off + 16 <= len(raw):
        word, crc, seq = struct.unpack_from("<IIQ", raw, off)
        n = word & 0x0fffffff
        if n == 0 or off + 16 + n > len(raw) or \
                crc != crc32c_seq(seq, raw[off + 16:off + 16 + n]):
            break
        off += 16 + n
    return off


def crc32c_seq(seq, data):
    return crc32c(struct.pack("<Q", seq) + data)


def torn_files(meta):
    return [n for n in os.listdir(meta) if n.startswith("log.torn-")]


def check_spare_images(binary, tmp, datadir, state):
    """The states a cut leaves around the spare, made on disk."""
    meta = os.path.join(datadir, "meta")
    log = os.path.join(meta, "log")
    # Entries in a log of zeros, then kill -9: all there, zeros kept.
    b = rpc.Blobd(binary, datadir)
    extra = append_until_moved(b, meta, b"zeroed")
    extra += [b"zeroed-more-%d" % i for i in range(20)]
    append_all(b, extra[-20:])
    state = state + extra
    b.proc.kill()
    b.proc.wait()
    b.sock.close()
    assert os.path.getsize(log) == SPARE_SIZE
    end = log_end(log)
    assert end > 12 + sum(16 + len(e) for e in extra), end
    b = rpc.Blobd(binary, datadir)
    assert rpc.load_state(b) == state
    assert os.path.getsize(log) == SPARE_SIZE and not torn_files(meta)
    b.proc.kill()
    b.proc.wait()
    b.sock.close()
    # An entry torn after the end, zeros around it: kept aside, cut.
    with open(log, "r+b") as f:
        f.seek(end + 4096)
        f.write(b"\x07" * 100)
    b = rpc.Blobd(binary, datadir)
    assert rpc.load_state(b) == state
    torn = torn_files(meta)
    assert len(torn) == 1 and os.path.getsize(
        os.path.join(meta, torn[0])) == 4096 + 100, torn
    assert os.path.getsize(log) == end
    assert b.close() == 0
    print("ok entries in a log of zeros after kill -9: kept, zeros free; "
          "a torn entry among them cut")
    # A spare half made, and one holding a log's head (a cut in a move):
    # neither is taken, both are made again.
    with open(os.path.join(meta, "log.spare.tmp"), "wb") as f:
        f.write(b"\0" * 65536)
    with open(os.path.join(meta, "log.spare"), "wb") as f:
        f.write(open(log, "rb").read())
        f.truncate(SPARE_SIZE)
    b = rpc.Blobd(binary, datadir)
    assert rpc.load_state(b) == state
    wait_for(lambda: spare_ready(meta) and not os.path.exists(
        os.path.join(meta, "log.spare.tmp")), "the spare made again")
    with open(os.path.join(meta, "log.spare"), "rb") as f:
        assert f.read(1 << 20) == b"\0" * (1 << 20)
    assert b.close() == 0
    print("ok a spare half made, or holding a log's head, is made again")
    # A roll's spare renamed to the log, its header never on disk: the
    # closed segment keeps every entry.
    segs = sorted(int(n[4:]) for n in os.listdir(meta)
                  if re.fullmatch(r"log\.\d+", n))
    os.rename(log, os.path.join(meta, "log.%d" % ((segs or [0])[-1] + 1)))
    with open(log, "wb") as f:
        f.truncate(SPARE_SIZE)
    b = rpc.Blobd(binary, datadir)
    assert rpc.load_state(b) == state
    append_all(b, [b"after-header"])
    assert b.close() == 0
    b = rpc.Blobd(binary, datadir)
    assert rpc.load_state(b) == state + [b"after-header"]
    assert b.close() == 0
    print("ok a spare renamed to the log without its header: the entries "
          "before it kept")


def check_spare(binary, tmp):
    trace = os.path.join(tmp, "trace-spare")
    datadir, state = spare_workload(binary, tmp, trace)
    calls = parse(trace)
    checker = Checker(calls)
    acks = checker.run()
    renames, problems = check_spare_order(calls)
    for p in checker.problems + problems:
        print("FAIL " + p)
    assert acks >= 15 and renames >= 4, (acks, renames)
    assert not checker.problems and not problems
    bare = [c for c in calls if c.name not in ("fsync", "fdatasync")]
    assert len(check_spare_order(bare)[1]) == renames
    print("ok the log's spares: %d acknowledgements durable, %d renames "
          "after their syncs (none without them)" % (acks, renames))
    check_spare_images(binary, tmp, datadir, state)


def crc32c(data):
    """common/util.c's crc32c(0, data): CRC-32C."""
    crc = 0xffffffff
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff


def resume_trace(binary, tmp):
    """A session's appends under strace; its data directory, the
    session's name and the client's bytes."""
    datadir = os.path.join(tmp, "resume")
    trace = os.path.join(tmp, "trace-resume")
    b = rpc.Blobd(binary, datadir, wrapper=(
        "strace", "-f", "-tt", "-T", "-y", "-xx", "-s", "64", "-o", trace,
        "-e", "trace=" + ",".join(SYSCALLS)))
    uid = rpc.upload_create(b)
    data = b""
    # Small, large (direct writes) and an odd tail.
    for n in (70000, 2 * 1024 * 1024 + 4096, 5001):
        chunk = os.urandom(n)
        assert rpc.status_size(rpc.upload_append(b, uid, chunk,
                                                 len(data))) == \
            len(data) + n
        data += chunk
    assert b.close() == 0
    return datadir, trace, str(uuid.UUID(bytes=uid)), data


def resume_cuts(calls, path):
    """For a cut after each write or sync of path: (the file's length,
    the ranges durable at the cut)."""
    events = [c for c in calls if c.fd_path() == path and
              c.name in ("pwrite64", "pwritev", "fsync", "fdatasync")]
    cuts = []
    for i in range(len(events) + 1):
        at = events[i].start if i < len(events) else float("inf")
        length, durable = 0, []
        for c in events[:i]:
            if c.name not in ("pwrite64", "pwritev"):
                continue
            m = re.search(r",\s*(\d+)\)\s*=\s*(\d+)", c.args)
            off, n = int(m.group(1)), int(m.group(2))
            length = max(length, off + n)
            if any(s.name in ("fsync", "fdatasync") and s.start >= c.end
                   and s.end <= at for s in events[:i]):
                durable.append((off, off + n))
        cuts.append((length, durable))
    return cuts


def resume_check(binary, datadir, name, data, cuts, other_boot):
    """Starts blobd on each cut's image; the problems found."""
    session = os.path.join(datadir, "uploads", name)
    with open(os.path.join(session, "info"), "rb") as f:
        info = f.read()
    body = info[:-20] + (os.urandom(16) if other_boot else info[-20:-4])
    info = body + struct.pack("<I", crc32c(body))
    problems = []
    for k, (length, durable) in enumerate(cuts):
        image = bytearray(length)
        for a, e in durable:
            image[a:e] = data[a:e]
        with open(os.path.join(session, "info"), "wb") as f:
            f.write(info)
        with open(os.path.join(session, "data"), "wb") as f:
            f.write(image)
        b = rpc.Blobd(binary, datadir)
        r = rpc.status_size(b.call(rpc.M.UPLOAD_STAT,
                                   bytes.fromhex(name.replace("-", "")) +
                                   rpc.z(rpc.OWNER, 320)))
        b.close()
        with open(os.path.join(session, "data"), "rb") as f:
            kept = f.read()
        prefix = 0      # the synced bytes from the start
        for a, e in sorted(durable):
            if a <= prefix:
                prefix = max(prefix, e)
        if r > prefix or kept[:r] != data[:r]:
            problems.append("cut %d: offset %d after restart, synced %s"
                            % (k, r, durable))
    return problems


def check_resume(binary, tmp):
    datadir, trace, name, data = resume_trace(binary, tmp)
    path = os.path.realpath(os.path.join(datadir, "uploads", name, "data"))
    cuts = resume_cuts(parse(trace), path)
    assert len(cuts) >= 4, cuts
    problems = resume_check(binary, datadir, name, data, cuts, True)
    for p in problems:
        print("FAIL resumed upload: " + p)
    assert not problems
    print("ok a resumed upload after a power cut at each of %d points "
          "reports only synced bytes" % len(cuts))
    trusting = resume_check(binary, datadir, name, data, cuts, False)
    assert trusting, "a blobd trusting the file's size passed the check"
    print("ok trusting the file's size after a cut fails (%d of %d cuts)"
          % (len(trusting), len(cuts)))


def main():
    binary = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BLOBD")
              or os.path.join(rpc.TOP, "build/blobd/berth-blobd"))
    if shutil.which("strace") is None:
        print("SKIP: no strace")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="fsync-order.")
    try:
        trace = os.path.join(tmp, "trace")
        workload(binary, tmp, trace)
        calls = parse(trace)
        checker = Checker(calls)
        acks = checker.run()
        for p in checker.problems:
            print("FAIL " + p)
        assert acks >= 110, acks
        assert not checker.problems
        print("ok %d acknowledgements, each durable before it left" % acks)
        # The same trace without its syncs must fail the check.
        bare = Checker([c for c in calls
                        if c.name not in ("fsync", "fdatasync")])
        bare.run()
        assert len(bare.problems) >= acks, len(bare.problems)
        print("ok without its syncs the trace fails (%d problems)"
              % len(bare.problems))
        check_resume(binary, tmp)
        check_spare(binary, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("all ok")


if __name__ == "__main__":
    main()
