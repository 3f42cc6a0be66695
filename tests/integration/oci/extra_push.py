"""
Cases beyond the suite, first half: ranges, streamed and
containerd-style uploads, sha512, mounts, chunk edge cases and manifest
limits and validation.

Part of oci_conformance.py, which runs the cases in the order the
modules register them.
"""

import socket
import urllib.parse

import base
from base import (
    D, External, MANIFEST_LIMIT, MT_DOCKER_CONFIG, MT_DOCKER_LAYER,
    MT_DOCKER_LIST, MT_DOCKER_MANIFEST, MT_OCI_CONFIG, MT_OCI_INDEX,
    MT_OCI_LAYER, MT_OCI_MANIFEST, MT_SCHEMA1, MT_SCHEMA1_SIGNED, R, S, X,
    assert_blob_response, assert_error, assert_gone_from,
    assert_manifest_response, assert_range, case, check, delete_ok,
    descriptor, ecr_call, eq, jdump, loc_path, push_blob, put_manifest,
    rand_bytes, raw_request_expect, setup_image, sha256, sha512, short,
    start_upload, v2, with_query)


# === beyond the suite ==========================================================





@case
def extra_base_endpoint_200():
    r = R("GET", "/v2/")
    eq(r.status, 200, "status")
    eq(r.h("Docker-Distribution-API-Version"), "registry/2.0",
       "Docker-Distribution-API-Version")


@case
def extra_blob_range_get_206():
    blob = rand_bytes(1000, D.seed + 7)
    push_blob(blob, X)
    path = v2(X, "blobs", sha256(blob))
    for spec, lo, hi in (("bytes=0-0", 0, 0), ("bytes=100-199", 100, 199),
                         ("bytes=900-", 900, 999), ("bytes=-10", 990, 999),
                         ("bytes=990-5000", 990, 999)):
        r = R("GET", path, headers=[("Range", spec)])
        eq(r.status, 206, "status for %s" % spec)
        eq(r.h("Content-Range"), "bytes %d-%d/1000" % (lo, hi),
           "Content-Range for %s" % spec)
        eq(r.h("Content-Length"), str(hi - lo + 1),
           "Content-Length for %s" % spec)
        check(r.body == blob[lo:hi + 1], "wrong bytes for %s" % spec)
        eq(r.h("Docker-Content-Digest"), sha256(blob),
           "Docker-Content-Digest for %s" % spec)


@case
def extra_blob_range_unsatisfiable_416():
    blob = rand_bytes(1000, D.seed + 7)
    path = v2(X, "blobs", sha256(blob))
    for spec in ("bytes=1000-", "bytes=5000-6000"):
        r = R("GET", path, headers=[("Range", spec)])
        eq(r.status, 416, "status for %s (%s)" % (spec, short(r.body)))
        eq(r.h("Content-Range"), "bytes */1000", "Content-Range for %s" %
           spec)


@case
def extra_patch_chunked_transfer_encoding_no_content_range():
    # podman: one PATCH with Transfer-Encoding: chunked, no Content-Length
    # and no Content-Range, then PUT ?digest= with no body.
    blob = rand_bytes(300 * 1024 + 17, D.seed + 8)
    pieces = [blob[i:i + 32768] for i in range(0, len(blob), 32768)]
    r = start_upload(X)
    r = R("PATCH", loc_path(base.REG, r),
          headers=[("Content-Type", "application/octet-stream")],
          chunks=pieces)
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(blob) - 1)
    r = R("PUT", with_query(loc_path(base.REG, r), digest=sha256(blob)))
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    eq(loc_path(base.REG, r), v2(X, "blobs", sha256(blob)), "Location")
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_patch_chunked_with_extensions_and_trailer():
    # Chunk extensions and a trailer section are legal HTTP/1.1.
    blob = rand_bytes(5000, D.seed + 9)
    r = start_upload(X)
    loc = loc_path(base.REG, r)
    s = socket.create_connection((base.REG.host, base.REG.port), timeout=30)
    try:
        wire = ("PATCH %s HTTP/1.1\r\nHost: %s:%d\r\n"
                "Content-Type: application/octet-stream\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" %
                (loc, base.REG.host, base.REG.port)).encode()
        wire += b"%x;name=value\r\n%s\r\n" % (3000, blob[:3000])
        wire += b"%X\r\n%s\r\n" % (2000, blob[3000:])
        wire += b"0\r\nX-Trailer: yes\r\n\r\n"
        s.sendall(wire)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    finally:
        s.close()
    status_line = buf.split(b"\r\n", 1)[0]
    check(status_line.startswith(b"HTTP/1.1 202"), "PATCH answered %r" %
          short(buf))
    check(b"\r\nRange: 0-4999\r\n" in buf or b"\r\nrange: 0-4999\r\n" in
          buf.lower(), "no Range: 0-4999 in %r" % short(buf))
    r = R("GET", loc)
    eq(r.status, 204, "status GET")
    assert_range(r, len(blob) - 1)
    r = R("PUT", with_query(loc_path(base.REG, r), digest=sha256(blob)))
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_put_whole_body_after_post_containerd():
    # containerd: POST, then one PUT with the whole body; it needs the
    # Docker-Content-Digest of the 201.
    blob = rand_bytes(2 * 1024 * 1024 + 3, D.seed + 10)
    r = start_upload(X)
    r = R("PUT", with_query(loc_path(base.REG, r), digest=sha256(blob)),
          headers=[("Content-Type", "application/octet-stream")], body=blob)
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    eq(loc_path(base.REG, r), v2(X, "blobs", sha256(blob)), "Location")
    assert_blob_response(R("HEAD", v2(X, "blobs", sha256(blob))), blob,
                         head=True)
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_monolithic_post_digest_small_and_large():
    for n in (0, 1000, 3 * 1024 * 1024 + 5):
        blob = rand_bytes(n, D.seed + 11 + n)
        r = R("POST", v2(X, "blobs/uploads/") + "?digest=" + sha256(blob),
              headers=[("Content-Type", "application/octet-stream")],
              body=blob)
        eq(r.status, 201, "status for %d bytes (%s)" % (n, short(r.body)))
        eq(loc_path(base.REG, r), v2(X, "blobs", sha256(blob)), "Location")
        eq(r.h("Docker-Content-Digest"), sha256(blob),
           "Docker-Content-Digest")
        assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_monolithic_post_wrong_digest_400():
    blob = rand_bytes(100, D.seed + 12)
    r = R("POST", v2(X, "blobs/uploads/") + "?digest=" + D.dummy_digest,
          headers=[("Content-Type", "application/octet-stream")], body=blob)
    assert_error(r, 400, "DIGEST_INVALID")
    eq(R("HEAD", v2(X, "blobs", D.dummy_digest)).status, 404,
       "HEAD of the refused digest")
    eq(R("HEAD", v2(X, "blobs", sha256(blob))).status, 404,
       "HEAD of the content's real digest")


@case
def extra_upload_put_wrong_or_missing_digest_400():
    blob = rand_bytes(100, D.seed + 13)
    r = start_upload(X)
    r = R("PATCH", loc_path(base.REG, r), body=blob)
    eq(r.status, 202, "PATCH status")
    loc = loc_path(base.REG, r)
    assert_error(R("PUT", loc), 400, "DIGEST_INVALID")
    assert_error(R("PUT", with_query(loc, digest=D.dummy_digest)), 400,
                 "DIGEST_INVALID")
    assert_error(R("PUT", with_query(loc, digest="sha256:nothex")), 400,
                 "DIGEST_INVALID")
    eq(R("HEAD", v2(X, "blobs", D.dummy_digest)).status, 404,
       "HEAD of the refused digest")


@case
def extra_crossmount_201_and_202_fallback():
    src, dst = "extra/mount-src", "extra/mount-dst"
    blob = rand_bytes(4096, D.seed + 14)
    push_blob(blob, src)
    q = urllib.parse.urlencode([("from", src), ("mount", sha256(blob))])
    r = R("POST", v2(dst, "blobs/uploads/") + "?" + q)
    eq(r.status, 201, "mount status (%s)" % short(r.body))
    eq(loc_path(base.REG, r), v2(dst, "blobs", sha256(blob)), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(dst, "blobs", sha256(blob))), blob)
    # The mounted blob is the destination's own: deleting it from the
    # source leaves it there.
    delete_ok(v2(src, "blobs", sha256(blob)))
    assert_blob_response(R("GET", v2(dst, "blobs", sha256(blob))), blob)
    eq(R("HEAD", v2(src, "blobs", sha256(blob))).status, 404,
       "HEAD in the source after its deletion")
    # The source does not have this one: 202, a session that works.
    other = rand_bytes(4096, D.seed + 15)
    q = urllib.parse.urlencode([("from", src), ("mount", sha256(other))])
    r = R("POST", v2(dst, "blobs/uploads/") + "?" + q)
    eq(r.status, 202, "fallback status (%s)" % short(r.body))
    loc = loc_path(base.REG, r)
    check(loc.startswith(v2(dst, "blobs/uploads/")), "fallback Location %s"
          % loc)
    r = R("PUT", with_query(loc, digest=sha256(other)), body=other)
    eq(r.status, 201, "PUT into the fallback session (%s)" % short(r.body))
    assert_blob_response(R("GET", v2(dst, "blobs", sha256(other))), other)
    # Nor does a repository that does not exist.
    q = urllib.parse.urlencode([("from", "extra/no-such-repo"),
                                ("mount", sha256(blob))])
    r = R("POST", v2("extra/mount-dst2", "blobs/uploads/") + "?" + q)
    eq(r.status, 202, "mount from a missing repository")
    if isinstance(base.REG, External):
        return
    # Nor between repositories encrypted differently (blob-mounting.html:
    # identical encryption type and key).
    for name, enc in (("extra/mount-kms", {"encryptionType": "KMS"}),
                      ("extra/mount-key", {"encryptionType": "KMS",
                                           "kmsKey": "arn:aws:kms:us-east-1:"
                                           "000000000000:key/other"})):
        r = ecr_call(base.REG, "CreateRepository", {
            "repositoryName": name, "encryptionConfiguration": enc})
        eq(r.status, 200, "CreateRepository %s (%s)" % (name, short(r.body)))
    q = urllib.parse.urlencode([("from", dst), ("mount", sha256(blob))])
    r = R("POST", v2("extra/mount-kms", "blobs/uploads/") + "?" + q)
    eq(r.status, 202, "mount from AES256 into KMS (%s)" % short(r.body))
    push_blob(blob, "extra/mount-kms")
    q = urllib.parse.urlencode([("from", "extra/mount-kms"),
                                ("mount", sha256(blob))])
    r = R("POST", v2("extra/mount-key", "blobs/uploads/") + "?" + q)
    eq(r.status, 202, "mount between two KMS keys (%s)" % short(r.body))
    # Turning mounting off keeps what was mounted, and mounts no more.
    r = ecr_call(base.REG, "PutAccountSetting", {"name": "BLOB_MOUNTING",
                                            "value": "DISABLED"})
    eq(r.status, 200, "PutAccountSetting DISABLED (%s)" % short(r.body))
    assert_blob_response(R("GET", v2(dst, "blobs", sha256(blob))), blob)
    q = urllib.parse.urlencode([("from", dst), ("mount", sha256(blob))])
    r = R("POST", v2("extra/mount-dst3", "blobs/uploads/") + "?" + q)
    eq(r.status, 202, "mount after DISABLED (%s)" % short(r.body))
    r = ecr_call(base.REG, "PutAccountSetting", {"name": "BLOB_MOUNTING",
                                            "value": "ENABLED"})
    eq(r.status, 200, "PutAccountSetting ENABLED again (%s)" % short(r.body))


@case
def extra_sha512_upload():
    blob = rand_bytes(70000, D.seed + 16)
    d512 = sha512(blob)
    r = R("POST", v2(X, "blobs/uploads/") + "?digest-algorithm=sha512")
    eq(r.status, 202, "POST status (%s)" % short(r.body))
    r = R("PATCH", loc_path(base.REG, r), body=blob)
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(blob) - 1)
    r = R("PUT", with_query(loc_path(base.REG, r), digest=d512))
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), d512, "Docker-Content-Digest")
    eq(loc_path(base.REG, r), v2(X, "blobs", d512), "Location")
    assert_blob_response(R("GET", v2(X, "blobs", d512)), blob, digest=d512)
    assert_blob_response(R("HEAD", v2(X, "blobs", d512)), blob, digest=d512,
                         head=True)


@case
def extra_sha512_monolithic_and_mismatch():
    blob = rand_bytes(3000, D.seed + 17)
    d512 = sha512(blob)
    r = R("POST", v2(X, "blobs/uploads/") + "?digest=" + d512, body=blob)
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), d512, "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(X, "blobs", d512)), blob, digest=d512)
    r = R("POST", v2(X, "blobs/uploads/") + "?digest-algorithm=sha512")
    eq(r.status, 202, "POST status")
    r = R("PUT", with_query(loc_path(base.REG, r), digest=sha512(b"other")),
          body=blob)
    assert_error(r, 400, "DIGEST_INVALID")


@case
def extra_upload_cancel_then_unknown_404():
    r = start_upload(X)
    r = R("PATCH", loc_path(base.REG, r), body=b"some bytes")
    eq(r.status, 202, "PATCH status")
    loc = loc_path(base.REG, r)
    r = R("DELETE", loc)
    eq(r.status, 204, "DELETE status (%s)" % short(r.body))
    assert_error(R("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PATCH", loc, body=b"more"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PUT", with_query(loc, digest=sha256(b"some bytes"))),
                 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("DELETE", loc), 404, "BLOB_UPLOAD_UNKNOWN")


@case
def extra_upload_session_belongs_to_its_repository():
    r = start_upload("extra/owner-a")
    loc = loc_path(base.REG, r)
    uuid = loc.split("?")[0].rstrip("/").rsplit("/", 1)[1]
    start_upload("extra/owner-b")       # make sure the repository exists
    other = v2("extra/owner-b", "blobs/uploads", uuid)
    assert_error(R("PATCH", other, body=b"x"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("GET", other), 404, "BLOB_UPLOAD_UNKNOWN")
    r = R("GET", loc)
    eq(r.status, 204, "the session in its own repository")
    assert_range(r, 0)


@case
def extra_final_chunk_out_of_order_416():
    blob = rand_bytes(30, D.seed + 18)
    r = start_upload(X)
    r = R("PATCH", loc_path(base.REG, r), headers=[("Content-Range", "0-9")],
          body=blob[:10])
    eq(r.status, 202, "PATCH status")
    r = R("PUT", with_query(loc_path(base.REG, r), digest=sha256(blob)),
          headers=[("Content-Range", "20-29")], body=blob[20:])
    eq(r.status, 416, "status (%s)" % short(r.body))


@case
def extra_put_final_chunk_with_content_range_201():
    blob = rand_bytes(30, D.seed + 19)
    r = start_upload(X)
    r = R("PATCH", loc_path(base.REG, r), headers=[("Content-Range", "0-9")],
          body=blob[:10])
    eq(r.status, 202, "PATCH status")
    assert_range(r, 9)
    r = R("PUT", with_query(loc_path(base.REG, r), digest=sha256(blob)),
          headers=[("Content-Range", "10-29")], body=blob[10:])
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)


@case
def extra_put_final_chunk_without_content_range():
    # The PUT's body, with no Content-Range, goes after what the session
    # holds (berthd sends it with the commit, guessing the session empty,
    # and must fall back when it is not); a wrong digest ends the session.
    blob = rand_bytes(3000, D.seed + 20)
    for digest in (sha256(blob + b"x"), sha256(blob)):
        r = start_upload(X)
        r = R("PATCH", loc_path(base.REG, r), body=blob[:1000],
              headers=[("Content-Type", "application/octet-stream")])
        eq(r.status, 202, "PATCH status")
        loc = loc_path(base.REG, r)
        r = R("PUT", with_query(loc, digest=digest), body=blob[1000:],
              headers=[("Content-Type", "application/octet-stream")])
        if digest != sha256(blob):
            assert_error(r, 400, "DIGEST_INVALID")
            assert_gone_from(X, loc, digest, sha256(blob))
            continue
        eq(r.status, 201, "status (%s)" % short(r.body))
        assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)
    # The whole blob in the PUT, with a wrong digest: refused, the
    # session gone, nothing stored.
    r = start_upload(X)
    loc = loc_path(base.REG, r)
    other = rand_bytes(500, D.seed + 21)
    r = R("PUT", with_query(loc, digest=sha256(other + b"x")), body=other,
          headers=[("Content-Type", "application/octet-stream")])
    assert_error(r, 400, "DIGEST_INVALID")
    assert_gone_from(X, loc, sha256(other + b"x"), sha256(other))


def manifest_of_size(cfg, size):
    """An OCI manifest of exactly size bytes (padded by an annotation)."""
    base = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
            "config": descriptor(MT_OCI_CONFIG, cfg), "layers": [],
            "annotations": {"pad": ""}}
    empty = len(jdump(base))
    check(size >= empty, "size too small")
    base["annotations"]["pad"] = "x" * (size - empty)
    m = jdump(base)
    eq(len(m), size, "padded manifest size")
    return m


@case
def extra_manifest_of_4_mib_accepted():
    cfg = jdump({"architecture": "amd64", "os": "linux", "big": True,
                 "rootfs": {"type": "layers", "diff_ids": []}})
    push_blob(cfg, X)
    S.big_cfg = cfg
    m = manifest_of_size(cfg, MANIFEST_LIMIT)
    put_manifest("four-mib", m, name=X)
    r = R("GET", v2(X, "manifests", "four-mib"))
    assert_manifest_response(r, m, MT_OCI_MANIFEST)


@case
def extra_manifest_over_4_mib_413():
    m = manifest_of_size(S.big_cfg, MANIFEST_LIMIT + 1)
    interim, r = raw_request_expect(base.REG, "PUT", v2(X, "manifests", "too-big"),
                                    [("Content-Type", MT_OCI_MANIFEST)], m)
    eq(r.status, 413, "status (%s)" % short(r.body))
    if r.body:
        assert_error(r, 413)
    assert_error(R("GET", v2(X, "manifests", "too-big")), 404,
                 "MANIFEST_UNKNOWN")


@case
def extra_manifest_blob_unknown():
    cfg = jdump({"architecture": "amd64", "os": "linux", "missing": 1,
                 "rootfs": {"type": "layers", "diff_ids": []}})
    layer = rand_bytes(64, D.seed + 20)
    # config missing
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, layer)]})
    push_blob(layer, X)
    assert_error(put_manifest("missing-config", m, name=X, status=None), 400,
                 "MANIFEST_BLOB_UNKNOWN")
    # layer missing
    push_blob(cfg, X)
    layer2 = rand_bytes(64, D.seed + 21)
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, layer),
                          descriptor(MT_OCI_LAYER, layer2)]})
    assert_error(put_manifest("missing-layer", m, name=X, status=None), 400,
                 "MANIFEST_BLOB_UNKNOWN")
    # a blob of another repository is not in this one
    other = rand_bytes(64, D.seed + 22)
    push_blob(other, "extra/elsewhere")
    m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
               "config": descriptor(MT_OCI_CONFIG, cfg),
               "layers": [descriptor(MT_OCI_LAYER, other)]})
    assert_error(put_manifest("other-repo-layer", m, name=X, status=None),
                 400, "MANIFEST_BLOB_UNKNOWN")
    # an index whose child is missing
    idx = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                 "manifests": [descriptor(MT_OCI_MANIFEST, m)]})
    assert_error(put_manifest("missing-child", idx, mt=MT_OCI_INDEX, name=X,
                              status=None), 400, "MANIFEST_BLOB_UNKNOWN")
    for t in ("missing-config", "missing-layer", "other-repo-layer",
              "missing-child"):
        assert_error(R("GET", v2(X, "manifests", t)), 404,
                     "MANIFEST_UNKNOWN")


@case
def extra_manifest_digest_mismatch_400():
    m, _, _ = setup_image(X, seed=1)
    other = D.dummy_digest
    assert_error(put_manifest(other, m, name=X, status=None), 400,
                 "DIGEST_INVALID")
    assert_error(R("GET", v2(X, "manifests", other)), 404,
                 "MANIFEST_UNKNOWN")
    assert_error(R("GET", v2(X, "manifests", sha256(m))), 404,
                 "MANIFEST_UNKNOWN")


@case
def extra_manifest_invalid_400():
    for body in (D.invalid_manifest, b"{}", b'{"schemaVersion": 2}',
                 b"[1, 2]", D.manifests[0][:-1]):
        assert_error(put_manifest("invalid", body, name=X, status=None), 400,
                     "MANIFEST_INVALID")
    # not a schema berth knows: Docker schema 1, an unknown media type
    s1 = jdump({"schemaVersion": 1, "name": X, "tag": "invalid",
                "architecture": "amd64", "fsLayers": [], "history": []})
    assert_error(put_manifest("invalid", s1, mt=MT_SCHEMA1, name=X,
                              status=None), 400, "MANIFEST_INVALID")
    odd = jdump({"schemaVersion": 2,
                 "mediaType": "application/vnd.example.unknown+json",
                 "config": descriptor(MT_OCI_CONFIG, D.configs[0]),
                 "layers": []})
    assert_error(put_manifest("invalid", odd,
                              mt="application/vnd.example.unknown+json",
                              name=X, status=None), 400, "MANIFEST_INVALID")
    # a descriptor without its size
    nosize = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                    "config": {"mediaType": MT_OCI_CONFIG,
                               "digest": sha256(D.configs[0])},
                    "layers": []})
    assert_error(put_manifest("invalid", nosize, name=X, status=None), 400,
                 "MANIFEST_INVALID")
    assert_error(R("GET", v2(X, "manifests", "invalid")), 404,
                 "MANIFEST_UNKNOWN")


@case
def extra_accept_negotiation():
    m, _, _ = setup_image(X, "negotiate", seed=2)
    path = v2(X, "manifests", "negotiate")
    # skopeo/podman: six Accept lines, the OCI type last.
    lines = [MT_DOCKER_MANIFEST, MT_SCHEMA1_SIGNED, MT_SCHEMA1,
             MT_DOCKER_LIST, MT_OCI_INDEX, MT_OCI_MANIFEST]
    r = R("GET", path, headers=[("Accept", a) for a in lines])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    # containerd: one comma-separated line ending in "*"; only "*" admits
    # the OCI manifest here.
    r = R("GET", path, headers=[("Accept", "%s, %s, *" % (
        MT_DOCKER_MANIFEST, MT_DOCKER_LIST))])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    # q-values and */*
    r = R("GET", path, headers=[("Accept", MT_DOCKER_MANIFEST + ";q=0.9, " +
                                 MT_OCI_MANIFEST + ";q=0.5")])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    r = R("GET", path, headers=[("Accept", "*/*")])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    # An Accept that excludes the type: 404 by tag ...
    for accept in ([MT_DOCKER_MANIFEST], [MT_DOCKER_MANIFEST, MT_DOCKER_LIST],
                   ["application/json"]):
        r = R("GET", path, headers=[("Accept", a) for a in accept])
        assert_error(r, 404, "MANIFEST_UNKNOWN")
        r = R("HEAD", path, headers=[("Accept", a) for a in accept])
        eq(r.status, 404, "HEAD with Accept %r" % accept)
    # ... but served by digest, unchanged.
    r = R("GET", v2(X, "manifests", sha256(m)),
          headers=[("Accept", MT_DOCKER_MANIFEST)])
    assert_manifest_response(r, m, MT_OCI_MANIFEST)


@case
def extra_head_manifest_equals_get_without_body():
    m, _, _ = setup_image(X, "headcheck", seed=3)
    for ref in ("headcheck", sha256(m)):
        g = R("GET", v2(X, "manifests", ref))
        h = R("HEAD", v2(X, "manifests", ref), check_head_body=True)
        assert_manifest_response(g, m, MT_OCI_MANIFEST)
        assert_manifest_response(h, m, MT_OCI_MANIFEST, head=True)
        eq(h.stray, b"", "bytes after a HEAD response")
        for k in ("Content-Type", "Content-Length", "Docker-Content-Digest"):
            eq(h.h(k), g.h(k), "%s of HEAD vs GET" % k)


@case
def extra_docker_schema2_and_manifest_list():
    name = "extra/docker"
    cfg = jdump({"architecture": "amd64", "os": "linux",
                 "rootfs": {"type": "layers", "diff_ids": []}})
    layer = rand_bytes(200, D.seed + 23)
    push_blob(cfg, name)
    push_blob(layer, name)
    m = jdump({"schemaVersion": 2, "mediaType": MT_DOCKER_MANIFEST,
               "config": descriptor(MT_DOCKER_CONFIG, cfg),
               "layers": [descriptor(MT_DOCKER_LAYER, layer)]})
    put_manifest(sha256(m), m, mt=MT_DOCKER_MANIFEST, name=name)
    lst = jdump({"schemaVersion": 2, "mediaType": MT_DOCKER_LIST,
                 "manifests": [descriptor(MT_DOCKER_MANIFEST, m, platform={
                     "architecture": "amd64", "os": "linux"})]})
    put_manifest("list", lst, mt=MT_DOCKER_LIST, name=name)
    r = R("GET", v2(name, "manifests", "list"),
          headers=[("Accept", MT_DOCKER_LIST), ("Accept", MT_DOCKER_MANIFEST)])
    assert_manifest_response(r, lst, MT_DOCKER_LIST)
    r = R("GET", v2(name, "manifests", sha256(m)),
          headers=[("Accept", MT_DOCKER_MANIFEST)])
    assert_manifest_response(r, m, MT_DOCKER_MANIFEST)
    # OCI index over the same child, pushed by tag
    idx = jdump({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                 "manifests": [descriptor(MT_DOCKER_MANIFEST, m)]})
    put_manifest("index", idx, mt=MT_OCI_INDEX, name=name)
    r = R("HEAD", v2(name, "manifests", "index"),
          headers=[("Accept", MT_OCI_INDEX)])
    assert_manifest_response(r, idx, MT_OCI_INDEX, head=True)
