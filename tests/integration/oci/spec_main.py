"""
The cases of the rewritten suite on the spec's main branch: nested and
empty indexes, non-distributable layers, a 0-byte blob, bad digests on
streamed and chunked uploads, three-part and out-of-order chunks, range
requests, and content negotiation by RFC 9110.

Part of oci_conformance.py, which runs the cases in the order the
modules register them.
"""

import json

import base
from base import (
    D, MT_DOCKER_CONFIG, MT_DOCKER_LAYER, MT_DOCKER_MANIFEST, MT_OCI_CONFIG,
    MT_OCI_INDEX, MT_OCI_LAYER, MT_OCI_MANIFEST, R, assert_blob_response,
    assert_error, assert_gone_from, assert_manifest_response, assert_range,
    case, check, delete_ok, descriptor, eq, jdump, loc_path, push_blob,
    put_manifest, rand_bytes, setup_image, sha256, short, start_upload,
    tag_list, v2, with_query)


# === the rewritten suite (distribution-spec main) ============================
#
# The suite on the spec's main branch generates its data and walks more
# shapes of content and upload: nested and empty indexes, non-distributable
# layers, a 0-byte blob, three-part and out-of-order chunked uploads, bad
# digests on every upload style, and range requests.  The cases below ask
# the same of berth, and what RFC 9110 adds where the suite is lenient.

M = "main/data"
MT_OCI_LAYER_ND = "application/vnd.oci.image.layer.nondistributable.v1.tar"
MT_OCI_LAYER_ND_GZ = \
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
MT_DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
ACCEPT_MANIFESTS = [("Accept", MT_OCI_INDEX), ("Accept", MT_OCI_MANIFEST)]


def platform_image(name, arch, seed):
    """An image for one platform pushed by digest; returns its
    descriptor (with the platform, as an index lists it) and bytes."""
    cfg = jdump({"architecture": arch, "os": "linux", "author": "%s-%d" %
                 (name, seed), "rootfs": {"type": "layers",
                                          "diff_ids": []}})
    layer = rand_bytes(120, D.seed + 3000 + seed)
    push_blob(cfg, name)
    push_blob(layer, name)
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, layer)]})
    put_manifest(sha256(m), m, name=name)
    return descriptor(MT_OCI_MANIFEST, m, platform={
        "architecture": arch, "os": "linux"}), m, [cfg, layer]


def assert_manifest_gone(name, ref):
    r = R("HEAD", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
    eq(r.status, 404, "HEAD of deleted manifest %s" % ref)
    assert_error(R("GET", v2(name, "manifests", ref),
                   headers=ACCEPT_MANIFESTS), 404, "MANIFEST_UNKNOWN")


def chunk_size_for(r, total, parts=3):
    """A chunk size that makes parts chunks of total bytes, or the
    registry's OCI-Chunk-Min-Length if that is larger."""
    size = total // parts + 1
    if r.h("OCI-Chunk-Min-Length"):
        size = max(size, int(r.h("OCI-Chunk-Min-Length")))
    return min(size, total)


def send_chunk(loc, blob, start, last, method="PATCH", digest=None):
    path = loc if digest is None else with_query(loc, digest=digest)
    return R(method, path,
             headers=[("Content-Type", "application/octet-stream"),
                      ("Content-Range", "%d-%d" % (start, last))],
             body=blob[start:last + 1])




def assert_upload_gone(loc, *digests):
    assert_gone_from(M, loc, *digests)


@case
def main_nested_index_push_pull_delete():
    name = "main/nested"
    children, blobs, images = [], [], []
    for i in range(2):
        descs = []
        for arch, seed in (("amd64", 2 * i), ("arm64", 2 * i + 1)):
            desc, m, bl = platform_image(name, arch, seed)
            descs.append(desc)
            images.append(m)
            blobs += bl
        child = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                       "manifests": descs})
        children.append(child)
    top = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                 "manifests": [descriptor(MT_OCI_INDEX, c)
                               for c in children]})
    # The top index needs its child indexes, as an index needs its images.
    r = put_manifest("index-of-index", top, mt=MT_OCI_INDEX, name=name,
                     status=None)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")
    for c in children:
        put_manifest(sha256(c), c, mt=MT_OCI_INDEX, name=name)
    put_manifest("index-of-index", top, mt=MT_OCI_INDEX, name=name)
    for ref in ("index-of-index", sha256(top)):
        r = R("GET", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, top, MT_OCI_INDEX)
        r = R("HEAD", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, top, MT_OCI_INDEX, head=True)
    # A client walks down: top index, child index, image, blobs.
    for c in children:
        doc = json.loads(R("GET", v2(name, "manifests", sha256(c)),
                           headers=ACCEPT_MANIFESTS).body)
        for d in doc["manifests"]:
            r = R("GET", v2(name, "manifests", d["digest"]),
                  headers=ACCEPT_MANIFESTS)
            eq(r.status, 200, "GET of image %s" % d["digest"])
            eq(sha256(r.body), d["digest"], "digest of the image's bytes")
    check("index-of-index" in tag_list(name)[1], "the tag is not listed")
    # Deleted as the suite does: the tag, then manifests from the top down.
    r = R("DELETE", v2(name, "manifests", "index-of-index"))
    eq(r.status, 202, "DELETE of the tag (%s)" % short(r.body))
    assert_manifest_gone(name, "index-of-index")
    for m in [top] + children + images:
        delete_ok(v2(name, "manifests", sha256(m)))
        assert_manifest_gone(name, sha256(m))
    for b in blobs:
        delete_ok(v2(name, "blobs", sha256(b)))
        eq(R("HEAD", v2(name, "blobs", sha256(b))).status, 404,
           "HEAD of a deleted blob")


@case
def main_empty_index():
    name = "main/empty-index"
    idx = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                 "manifests": []})
    put_manifest("index", idx, mt=MT_OCI_INDEX, name=name)
    for ref in ("index", sha256(idx)):
        r = R("GET", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, idx, MT_OCI_INDEX)
        eq(r.json().get("manifests"), [], "manifests of the pulled index")
        r = R("HEAD", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, idx, MT_OCI_INDEX, head=True)
    eq(tag_list(name)[1], ["index"], "tags")
    r = R("DELETE", v2(name, "manifests", "index"))
    eq(r.status, 202, "DELETE of the tag (%s)" % short(r.body))
    assert_manifest_gone(name, "index")
    delete_ok(v2(name, "manifests", sha256(idx)))
    assert_manifest_gone(name, sha256(idx))


@case
def main_non_distributable_layers():
    # The spec lets a registry accept a manifest whose non-distributable
    # layers it does not hold, when their descriptors say where they are
    # (urls); berth does, for OCI non-distributable and Docker foreign
    # layers, and asks every other blob to be there.
    name = "main/nondist"
    foreign = [rand_bytes(256, D.seed + 4000 + i) for i in range(2)]
    layers = [
        descriptor(MT_OCI_LAYER_ND_GZ, foreign[0], size=123456, urls=[
            "https://store.example.com/blobs/sha256/" +
            sha256(foreign[0])[7:]]),
        descriptor(MT_OCI_LAYER_ND, foreign[1], urls=[
            "https://store.example.com/blobs/sha256/" +
            sha256(foreign[1])[7:]])]
    normal = rand_bytes(300, D.seed + 4002)
    cfg = jdump({"architecture": "amd64", "os": "linux",
                 "rootfs": {"type": "layers", "diff_ids": [
                     sha256(foreign[0]), sha256(foreign[1]),
                     sha256(normal)]}})
    push_blob(cfg, name)
    push_blob(normal, name)
    layers.append(descriptor(MT_OCI_LAYER, normal))
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg), "layers": layers})
    put_manifest("non-distributable-image", m, name=name)
    for ref in ("non-distributable-image", sha256(m)):
        r = R("GET", v2(name, "manifests", ref), headers=ACCEPT_MANIFESTS)
        assert_manifest_response(r, m, MT_OCI_MANIFEST)
    # The registry never had those blobs, and does not claim to.
    for f in foreign:
        eq(R("HEAD", v2(name, "blobs", sha256(f))).status, 404,
           "HEAD of a non-distributable layer")
    # Docker's foreign layers likewise.
    dm = jdump({"schemaVersion": 2, "mediaType": MT_DOCKER_MANIFEST,
                "config": descriptor(MT_DOCKER_CONFIG, cfg),
                "layers": [descriptor(MT_DOCKER_FOREIGN, foreign[0], urls=[
                    "https://store.example.com/foreign"]),
                    descriptor(MT_DOCKER_LAYER, normal)]})
    put_manifest("foreign-image", dm, mt=MT_DOCKER_MANIFEST, name=name)
    # Without urls a non-distributable layer is an ordinary missing blob,
    # and urls do not excuse a missing layer of an ordinary type.
    for bad in (descriptor(MT_OCI_LAYER_ND_GZ, foreign[0]),
                descriptor(MT_OCI_LAYER, foreign[0], urls=[
                    "https://store.example.com/blobs/x"])):
        bm = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                    "config": descriptor(MT_OCI_CONFIG, cfg),
                    "layers": [bad]})
        r = put_manifest("refused", bm, name=name, status=None)
        doc = assert_error(r, 400)
        check(doc["errors"][0]["code"] in ("MANIFEST_BLOB_UNKNOWN",
                                           "MANIFEST_INVALID"),
              "error code %s for a missing %s layer" %
              (doc["errors"][0]["code"], bad["mediaType"]))
    assert_manifest_gone(name, "refused")
    for t in ("non-distributable-image", "foreign-image"):
        eq(R("DELETE", v2(name, "manifests", t)).status, 202,
           "DELETE of tag %s" % t)
    for mm in (m, dm):
        delete_ok(v2(name, "manifests", sha256(mm)))
        assert_manifest_gone(name, sha256(mm))


@case
def main_zero_byte_blob():
    empty = sha256(b"")
    path = v2(M, "blobs", empty)
    # monolithic POST ?digest= with an empty body
    r = R("POST", with_query(v2(M, "blobs/uploads/"), digest=empty),
          headers=[("Content-Type", "application/octet-stream")], body=b"")
    eq(r.status, 201, "monolithic POST status (%s)" % short(r.body))
    eq(loc_path(base.REG, r), path, "Location")
    eq(r.h("Docker-Content-Digest"), empty, "Docker-Content-Digest")
    assert_blob_response(R("GET", path), b"")
    assert_blob_response(R("HEAD", path), b"", head=True)
    delete_ok(path)
    eq(R("HEAD", path).status, 404, "HEAD after DELETE")
    # POST, then PUT ?digest= with an empty body
    r = start_upload(M)
    r = R("PUT", with_query(loc_path(base.REG, r), digest=empty),
          headers=[("Content-Type", "application/octet-stream")], body=b"")
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    eq(loc_path(base.REG, r), path, "Location")
    eq(r.h("Docker-Content-Digest"), empty, "Docker-Content-Digest")
    assert_blob_response(R("GET", path), b"")
    # No byte range of nothing can be served (RFC 9110 14.1.1); a suffix
    # range is satisfiable but no 206 can say so, so the whole (empty)
    # blob comes back.
    r = R("GET", path, headers=[("Range", "bytes=0-")])
    eq(r.status, 416, "status for bytes=0- (%s)" % short(r.body))
    eq(r.h("Content-Range"), "bytes */0", "Content-Range of the 416")
    assert_blob_response(R("GET", path, headers=[("Range", "bytes=-1")]),
                         b"")
    delete_ok(path)


@case
def main_bad_digest_streamed_400():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4100)
    sent = blob + b"oh no"
    r = start_upload(M)
    r = R("PATCH", loc_path(base.REG, r),
          headers=[("Content-Type", "application/octet-stream")],
          chunks=[sent[i:i + 1000] for i in range(0, len(sent), 1000)])
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(sent) - 1)
    loc = loc_path(base.REG, r)
    r = R("PUT", with_query(loc, digest=sha256(blob)),
          headers=[("Content-Type", "application/octet-stream")])
    assert_error(r, 400, "DIGEST_INVALID")
    assert_upload_gone(loc, sha256(blob), sha256(sent))


@case
def main_bad_digest_content_range_chunks_400():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4101)
    sent = blob + b"oh no"
    for put_last in (False, True):
        r = start_upload(M)
        size = chunk_size_for(r, len(sent))
        loc = loc_path(base.REG, r)
        start = 0
        while start < len(sent):
            last = min(start + size, len(sent)) - 1
            if put_last and last == len(sent) - 1:
                r = send_chunk(loc, sent, start, last, "PUT", sha256(blob))
                break
            r = send_chunk(loc, sent, start, last)
            eq(r.status, 202, "PATCH %d-%d (%s)" % (start, last,
                                                     short(r.body)))
            assert_range(r, last)
            loc = loc_path(base.REG, r)
            start = last + 1
        if not put_last:
            r = R("PUT", with_query(loc, digest=sha256(blob)),
                  headers=[("Content-Type", "application/octet-stream")])
        assert_error(r, 400, "DIGEST_INVALID")
        assert_upload_gone(loc, sha256(blob), sha256(sent))


def chunked_upload(blob, out_of_order=False, put_last=False):
    """The suite's chunked push: three Content-Range chunks.  With
    out_of_order, each is preceded by one that skips ahead (or back to
    the start), which must get 416 and leave the session as it was, as
    GET on it shows; with put_last, the final chunk goes in the PUT.
    Returns the response that completed the upload."""
    r = start_upload(M)
    size = chunk_size_for(r, len(blob))
    loc = loc_path(base.REG, r)
    last = -1
    while last < len(blob) - 1:
        if out_of_order:
            bad = last + 1 + size
            if bad >= len(blob):
                bad = 0
            bad_last = min(bad + size, len(blob)) - 1
            final = put_last and bad_last == len(blob) - 1
            r = send_chunk(loc, blob, bad, bad_last,
                           "PUT" if final else "PATCH",
                           sha256(blob) if final else None)
            eq(r.status, 416, "out-of-order %s %d-%d at %d (%s)" % (
                "PUT" if final else "PATCH", bad, bad_last, last + 1,
                short(r.body)))
            r = R("GET", loc)
            eq(r.status, 204, "GET of the session after the 416")
            assert_range(r, max(last, 0))
            loc = loc_path(base.REG, r)
        start = last + 1
        last = min(start + size, len(blob)) - 1
        if put_last and last == len(blob) - 1:
            return send_chunk(loc, blob, start, last, "PUT", sha256(blob))
        r = send_chunk(loc, blob, start, last)
        eq(r.status, 202, "PATCH %d-%d (%s)" % (start, last, short(r.body)))
        assert_range(r, last)
        loc = loc_path(base.REG, r)
    return R("PUT", with_query(loc, digest=sha256(blob)),
             headers=[("Content-Type", "application/octet-stream")])


def assert_chunked_result(r, blob):
    eq(r.status, 201, "status of the final PUT (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    eq(loc_path(base.REG, r), v2(M, "blobs", sha256(blob)), "Location")
    assert_blob_response(R("GET", v2(M, "blobs", sha256(blob))), blob)
    assert_blob_response(R("HEAD", v2(M, "blobs", sha256(blob))), blob,
                         head=True)
    delete_ok(v2(M, "blobs", sha256(blob)))


@case
def main_chunked_three_parts():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4200)
    assert_chunked_result(chunked_upload(blob), blob)


@case
def main_chunked_three_parts_final_chunk_in_put():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4201)
    assert_chunked_result(chunked_upload(blob, put_last=True), blob)


@case
def main_chunked_out_of_order_then_retry():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4202)
    assert_chunked_result(chunked_upload(blob, out_of_order=True), blob)


@case
def main_chunked_out_of_order_final_chunk_in_put():
    blob = rand_bytes(3 * 1024 - 5, D.seed + 4203)
    assert_chunked_result(chunked_upload(blob, out_of_order=True,
                                         put_last=True), blob)


@case
def main_blob_range_requests():
    blob = rand_bytes(2048, D.seed + 4300)
    push_blob(blob, M)
    path = v2(M, "blobs", sha256(blob))
    n = len(blob)
    for spec, lo, hi in (
            ("bytes=500-1499", 500, 1499), ("bytes=500-", 500, n - 1),
            ("bytes=-500", n - 500, n - 1), ("bytes=2000-5000", 2000, n - 1),
            ("bytes=-5000", 0, n - 1), ("Bytes=0-9", 0, 9),
            ("bytes= 10-19 ", 10, 19), ("bytes=00010-0019", 10, 19),
            ("bytes=2047-99999999999999999999999", 2047, 2047)):
        r = R("GET", path, headers=[("Range", spec)])
        eq(r.status, 206, "status for %s" % spec)
        eq(r.h("Content-Range"), "bytes %d-%d/%d" % (lo, hi, n),
           "Content-Range for %s" % spec)
        eq(r.h("Content-Length"), str(hi - lo + 1),
           "Content-Length for %s" % spec)
        check(r.body == blob[lo:hi + 1], "wrong bytes for %s" % spec)
    # Unsatisfiable, and bytes ranges that are not valid syntax: RFC 9110
    # 14.2 lets the server answer 416 to both; the suite asks it for
    # bytes=500-0 (last before first).
    for spec in ("bytes=500-0", "bytes=5000-10000", "bytes=2048-",
                 "bytes=-0", "bytes=abc", "bytes=1 -2", "bytes=", "bytes=-",
                 "bytes=1-2-3", "bytes=+1-2", "bytes 0-1",
                 "bytes=99999999999999999999999-"):
        r = R("GET", path, headers=[("Range", spec)])
        assert_error(r, 416)
        eq(r.h("Content-Range"), "bytes */%d" % n,
           "Content-Range of the 416 for %r" % spec)
    # A unit other than bytes is ignored (RFC 9110 14.2), and so are
    # several ranges, which berth does not serve as multipart.
    for spec in ("items=0-1", "bytes=0-1,3-4", "bytes=0-1, 2000-"):
        r = R("GET", path, headers=[("Range", spec)])
        assert_blob_response(r, blob)
        check(r.h("Content-Range") is None, "Content-Range %s for %r" %
              (r.h("Content-Range"), spec))
    delete_ok(path)


@case
def main_accept_q_zero_not_acceptable():
    name = "main/accept"
    m, _, _ = setup_image(name, "q", seed=50)
    path = v2(name, "manifests", "q")
    oci = MT_OCI_MANIFEST
    # RFC 9110 12.5.1: "not acceptable" is q=0, and the most specific
    # range that matches decides.
    for accept in ([oci + ";q=0"], [oci + "; q=0.000"], [oci + ";Q=0"],
                   ["*/*", oci + ";q=0"], ["*/*, %s;q=0" % oci],
                   ["application/*;q=0"], ["application/*;q=0, */*"],
                   ['%s;foo="a, */*";q=0' % oci]):
        r = R("GET", path, headers=[("Accept", a) for a in accept])
        assert_error(r, 404, "MANIFEST_UNKNOWN")
        r = R("HEAD", path, headers=[("Accept", a) for a in accept])
        eq(r.status, 404, "HEAD with Accept %r" % accept)
    for accept in ([oci + ";q=0.001"], [oci + ";q=1"], ["*/*;q=0", oci],
                   ["application/*;q=0", oci], [oci + ";q=0", oci],
                   ["*;q=0, application/*"]):
        r = R("GET", path, headers=[("Accept", a) for a in accept])
        assert_manifest_response(r, m, oci)
    # By digest the bytes are what was asked for, whatever Accept says.
    r = R("GET", v2(name, "manifests", sha256(m)),
          headers=[("Accept", oci + ";q=0")])
    assert_manifest_response(r, m, oci)


@case
def main_accept_application_wildcard():
    name = "main/accept"
    m, _, _ = setup_image(name, "wild", seed=51)
    path = v2(name, "manifests", "wild")
    for accept in ("application/*", "APPLICATION/*",
                   "text/plain, application/*;q=0.5"):
        r = R("GET", path, headers=[("Accept", accept)])
        assert_manifest_response(r, m, MT_OCI_MANIFEST)
        r = R("HEAD", path, headers=[("Accept", accept)])
        assert_manifest_response(r, m, MT_OCI_MANIFEST, head=True)
    for accept in ("text/*", "application/vnd.oci.image.*",
                   "application/json"):
        r = R("GET", path, headers=[("Accept", accept)])
        assert_error(r, 404, "MANIFEST_UNKNOWN")


@case
def main_accept_many_lines():
    name = "main/accept"
    m, _, _ = setup_image(name, "many", seed=52)
    path = v2(name, "manifests", "many")
    others = [("Accept", "application/vnd.example.t%d+json" % i)
              for i in range(89)]
    # Every line counts, the 90th as the first.
    r = R("GET", path, headers=others + [("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    r = R("GET", path, headers=others + [("Accept", MT_OCI_MANIFEST +
                                          ";q=0"), ("Accept", "*/*")])
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    r = R("GET", path, headers=others)
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    # The limit is the HTTP layer's, on header lines: 100 in all.
    r = R("GET", path, headers=others * 2)
    eq(r.status, 431, "status with %d header lines" % (len(others) * 2 + 1))
