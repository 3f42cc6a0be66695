"""
Cases beyond the suite, second half: content negotiation, Docker
schema 2 and lists, tags and catalog pagination, hosts and error codes,
HTTP keep-alive and pipelining, and the ECR API's view of the same store.

Part of oci_conformance.py, which runs the cases in the order the
modules register them.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import urllib.parse

import base
from base import (
    Berthd, CROSS, D, MT_OCI_CONFIG, MT_OCI_LAYER, MT_OCI_MANIFEST, NAME, R,
    Resp, S, Skip, X, assert_blob_response, assert_error,
    assert_manifest_response, assert_range, case, check, descriptor,
    ecr_call, eq, jdump, link_next, loc_path, put_manifest, rand_bytes,
    raw_request_expect, request, setup_image, sha256, sha512, short,
    start_upload, tag_list, v2, with_query)


def oci_tags(r):
    """The tags of OCI-Tag headers (one per header or comma-separated)."""
    return [t.strip() for v in r.hall("OCI-Tag") for t in v.split(",")
            if t.strip()]


@case
def extra_put_by_digest_with_tag_params():
    name = "extra/tagparams"
    m, _, _ = setup_image(name, seed=4)
    r = R("PUT", v2(name, "manifests", sha256(m)) + "?tag=a&tag=b",
          headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), sha256(m), "Docker-Content-Digest")
    eq(loc_path(base.REG, r), v2(name, "manifests", sha256(m)), "Location")
    eq(sorted(oci_tags(r)), ["a", "b"], "OCI-Tag headers")
    for t in ("a", "b"):
        r = R("HEAD", v2(name, "manifests", t))
        assert_manifest_response(r, m, MT_OCI_MANIFEST, head=True)
    r, tags = tag_list(name)
    eq(tags, ["a", "b"], "tags")


@case
def extra_tags_sorted_and_paginated():
    name = "extra/tags"
    m, _, _ = setup_image(name, seed=5)
    tags = ["latest", "v1.0", "v1.0-rc1", "A", "Z9", "_x", "b", "a", "v2",
            "1.0", "a.b", "a-b"]
    for t in tags:
        put_manifest(t, m, name=name)
    r, got = tag_list(name)
    eq(got, sorted(tags), "sorted tags")
    check(r.h("Link") is None, "Link on a complete list")
    # follow Link from n=5 to the end
    path = v2(name, "tags/list") + "?n=5"
    pages = []
    for _ in range(10):
        r = R("GET", path)
        eq(r.status, 200, "page status")
        page = r.json()["tags"]
        check(len(page) <= 5, "a page of %d with n=5" % len(page))
        pages.append(page)
        path = link_next(base.REG, r)
        if path is None:
            break
    eq(sum(pages, []), sorted(tags), "tags over the pages")
    eq([len(p) for p in pages], [5, 5, 2], "page sizes")
    # n=0: an empty list and no Link
    r, got = tag_list(name, "?n=0")
    eq(got, [], "tags with n=0")
    check(r.h("Link") is None, "Link with n=0")
    # last past the end
    r, got = tag_list(name, "?last=zzz")
    eq(got, [], "tags after the last one")


@case
def extra_catalog_paginated():
    r = R("GET", "/v2/_catalog")
    eq(r.status, 200, "status")
    full = r.json().get("repositories")
    check(isinstance(full, list), "repositories is not a list")
    eq(full, sorted(full), "the catalog is sorted")
    for n in (NAME, CROSS, X, "extra/tags", "extra/docker"):
        check(n in full, "%s is not in the catalog" % n)
    check(r.h("Link") is None, "Link on the complete catalog")
    path = "/v2/_catalog?n=2"
    seen = []
    for _ in range(len(full) + 2):
        r = R("GET", path)
        eq(r.status, 200, "page status")
        page = r.json()["repositories"]
        check(len(page) <= 2, "a page of %d with n=2" % len(page))
        seen += page
        path = link_next(base.REG, r)
        if path is None:
            break
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        eq(q.get("n"), ["2"], "n in Link")
        eq(q.get("last"), [page[-1]], "last in Link")
    eq(seen, full, "repositories over the pages")
    r = R("GET", "/v2/_catalog?n=3&last=" + urllib.parse.quote(full[0], ""))
    eq(r.json()["repositories"], full[1:4], "page after last=")


@case
def extra_host_names_an_account_and_region():
    # <account>.dkr.ecr.<region>.localhost addresses another registry: the
    # same repository name there is another repository.
    host = "123456789012.dkr.ecr.eu-west-3.localhost:%d" % base.REG.port
    r = request(base.REG, "GET", "/v2/_catalog", host_header=host)
    eq(r.status, 200, "catalog status")
    eq(r.json().get("repositories"), [], "catalog of the other account")
    r = request(base.REG, "GET", v2(NAME, "tags/list"), host_header=host)
    assert_error(r, 404, "NAME_UNKNOWN")
    blob = rand_bytes(99, D.seed + 24)
    r = request(base.REG, "POST", v2("iso/repo", "blobs/uploads/") + "?digest=" +
                sha256(blob), body=blob, host_header=host)
    eq(r.status, 201, "push under the other account (%s)" % short(r.body))
    r = request(base.REG, "GET", "/v2/_catalog", host_header=host)
    eq(r.json().get("repositories"), ["iso/repo"], "catalog of the other "
       "account")
    r = R("GET", "/v2/_catalog")
    check("iso/repo" not in r.json().get("repositories"), "iso/repo leaks "
          "into the default account's catalog")
    assert_error(R("GET", v2("iso/repo", "blobs", sha256(blob))), 404,
                 "NAME_UNKNOWN")


@case
def extra_error_codes():
    assert_error(R("GET", v2("no/such/repo", "tags/list")), 404,
                 "NAME_UNKNOWN")
    assert_error(R("GET", v2("no/such/repo", "manifests", "latest")), 404,
                 "NAME_UNKNOWN")
    assert_error(R("GET", v2("no/such/repo", "blobs", D.dummy_digest)), 404,
                 "NAME_UNKNOWN")
    assert_error(R("GET", v2("Upper/Case", "tags/list")), 400, "NAME_INVALID")
    assert_error(R("GET", v2("a" * 257, "tags/list")), 400, "NAME_INVALID")
    for bad_tag in ("-bad", "a" * 129):
        doc = assert_error(put_manifest(bad_tag, D.manifests[0], name=X,
                                        status=None), 400)
        check(doc["errors"][0]["code"] in ("TAG_INVALID", "MANIFEST_INVALID"),
              "code for the invalid tag %r: %s" % (bad_tag,
                                                   doc["errors"][0]["code"]))
    assert_error(R("GET", v2(X, "blobs", "sha256:xyz")), 400,
                 "DIGEST_INVALID")
    assert_error(R("GET", v2(X, "referrers", "notadigest")), 400)
    assert_error(R("DELETE", v2(X, "manifests", D.dummy_digest)), 404,
                 "MANIFEST_UNKNOWN")
    assert_error(R("DELETE", v2(X, "manifests", "no-such-tag")), 404,
                 "MANIFEST_UNKNOWN")
    assert_error(R("DELETE", v2(X, "blobs", D.dummy_digest)), 404,
                 "BLOB_UNKNOWN")
    assert_error(R("GET", v2(X, "blobs/uploads",
                             "00000000-0000-0000-0000-000000000000")), 404,
                 "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PATCH", v2(X, "blobs/uploads", "not-a-session"),
                   body=b"x"), 404, "BLOB_UPLOAD_UNKNOWN")


@case
def extra_put_by_digest_tag_limit():
    # spec (main): a registry that supports ?tag= SHOULD accept at least
    # 10 tags per request, MAY answer 414 when there are too many, and
    # MUST list each accepted tag in OCI-Tag.
    name = "extra/tagparams"
    m, _, _ = setup_image(name, seed=6)
    ten = ["t%02d" % i for i in range(10)]
    r = R("PUT", v2(name, "manifests", sha256(m)) + "?" +
          urllib.parse.urlencode([("tag", t) for t in ten]),
          headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
    eq(r.status, 201, "10 tags: status (%s)" % short(r.body))
    eq(sorted(oci_tags(r)), ten, "OCI-Tag for 10 tags")
    many = ["m%02d" % i for i in range(40)]
    r = R("PUT", v2(name, "manifests", sha256(m)) + "?" +
          urllib.parse.urlencode([("tag", t) for t in many]),
          headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
    # Either all accepted, or 414 Request-URI Too Long (the spec's status
    # for too many tags; 413 would say the body is too large, which it
    # is not).
    if r.status == 201:
        eq(sorted(oci_tags(r)), many, "OCI-Tag for 40 tags")
    else:
        eq(r.status, 414, "status for 40 tags (%s)" % short(r.body))
        r, tags = tag_list(name)
        check(not any(t in tags for t in many), "tags of a refused PUT "
              "were created")


@case
def extra_manifest_by_sha512_digest_with_tag():
    # The ?tag= use case the spec names: a manifest pushed by a sha512
    # digest, tagged in the same request; pulled back by tag and digest.
    name = "extra/sha512"
    m, _, _ = setup_image(name, seed=7)
    d = sha512(m)
    r = R("PUT", v2(name, "manifests", d) + "?tag=v512",
          headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(r.h("Docker-Content-Digest"), d, "Docker-Content-Digest")
    eq(loc_path(base.REG, r), v2(name, "manifests", d), "Location")
    eq(oci_tags(r), ["v512"], "OCI-Tag")
    for ref in ("v512", d):
        r = R("GET", v2(name, "manifests", ref))
        eq(r.status, 200, "GET %s (%s)" % (ref, short(r.body)))
        check(r.body == m, "manifest bytes by %s" % ref)
        eq(r.h("Docker-Content-Digest"), d, "Docker-Content-Digest by %s"
           % ref)
    # a sha512 digest of other bytes is refused
    assert_error(put_manifest(sha512(m + b" "), m, name=name, status=None),
                 400, "DIGEST_INVALID")


@case
def extra_upload_session_gone_after_completion():
    blob = rand_bytes(500, D.seed + 26)
    r1 = start_upload(X)
    r2 = start_upload(X)
    check(loc_path(base.REG, r1) != loc_path(base.REG, r2), "two sessions share a "
          "Location")
    loc = loc_path(base.REG, r1)
    r = R("PUT", with_query(loc, digest=sha256(blob)), body=blob)
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    assert_error(R("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PATCH", loc, body=b"more"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(R("PUT", with_query(loc, digest=sha256(blob)), body=blob),
                 404, "BLOB_UPLOAD_UNKNOWN")
    r = R("DELETE", loc_path(base.REG, r2))
    eq(r.status, 204, "cancelling the other session")


@case
def extra_tag_moves_to_another_manifest():
    name = "extra/tagmove"
    m1, _, _ = setup_image(name, "moving", seed=8)
    m2, _, _ = setup_image(name, seed=9)
    put_manifest("moving", m2, name=name)
    r = R("GET", v2(name, "manifests", "moving"))
    assert_manifest_response(r, m2, MT_OCI_MANIFEST)
    r = R("GET", v2(name, "manifests", sha256(m1)))
    assert_manifest_response(r, m1, MT_OCI_MANIFEST)
    r, tags = tag_list(name)
    eq(tags, ["moving"], "tags")


@case
def extra_base_endpoint_head():
    r = R("HEAD", "/v2/", check_head_body=True)
    eq(r.status, 200, "status")
    eq(r.body + r.stray, b"", "HEAD body")
    eq(r.h("Docker-Distribution-API-Version"), "registry/2.0",
       "Docker-Distribution-API-Version")


@case
def extra_expect_100_continue():
    # curl sends Expect: 100-continue with large bodies: the body goes
    # after the 100.  A PATCH to an unknown session is refused; berthd
    # learns that from blobd while the body streams, so a 100 may come
    # first (HTTP allows either).
    blob = rand_bytes(2 * 1024 * 1024, D.seed + 28)
    r = start_upload(X)
    interim, r = raw_request_expect(base.REG, "PATCH", loc_path(base.REG, r),
                                    [("Content-Type",
                                      "application/octet-stream")], blob)
    eq(interim, [100], "interim responses")
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(blob) - 1)
    r = R("PUT", with_query(loc_path(base.REG, r), digest=sha256(blob)))
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    assert_blob_response(R("GET", v2(X, "blobs", sha256(blob))), blob)
    interim, r = raw_request_expect(
        base.REG, "PATCH", v2(X, "blobs/uploads",
                         "00000000-0000-0000-0000-000000000002"), [], blob)
    check(interim in ([], [100]), "interim responses %r" % interim)
    assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")


def read_responses(sock, methods, timeout=60):
    """Reads one response per request method from a raw socket, in order;
    stops early when the server closes.  Returns a list of Resp."""
    sock.settimeout(timeout)
    buf = b""
    out = []

    def fill(n):
        nonlocal buf
        while len(buf) < n:
            d = sock.recv(65536)
            if not d:
                raise EOFError
            buf += d

    for method in methods:
        try:
            while b"\r\n\r\n" not in buf:
                d = sock.recv(65536)
                if not d:
                    raise EOFError
                buf += d
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            hdrs = []
            for line in lines[1:]:
                k, _, v = line.partition(":")
                hdrs.append((k.strip(), v.strip()))
            r = Resp(status, "", hdrs, b"", method)
            n = 0
            if method != "HEAD" and status not in (204, 304) and \
                    status >= 200:
                n = int(r.h("Content-Length") or 0)
            fill(n)
            r.body, buf = buf[:n], buf[n:]
            out.append(r)
            if (r.h("Connection") or "").lower() == "close":
                break
        except (EOFError, socket.timeout):
            break
    return out


@case
def extra_keepalive_pipelined_requests():
    # Several requests on one connection, sent at once, including refusals
    # whose request bodies the server must consume, and a HEAD.
    blob = rand_bytes(300, D.seed + 27)
    h = "%s:%d" % (base.REG.host, base.REG.port)
    bad = b"blablabla"
    reqs = [
        ("GET", "GET /v2/ HTTP/1.1\r\nHost: %s\r\n\r\n" % h, b""),
        ("PUT", "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
         "Content-Length: %d\r\n\r\n" % (v2(X, "manifests", "bad"), h,
                                         MT_OCI_MANIFEST, len(bad)), bad),
        ("HEAD", "HEAD %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
         (v2(X, "blobs", D.dummy_digest), h), b""),
        ("PATCH", "PATCH %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 4"
         "\r\n\r\n" % (v2(X, "blobs/uploads",
                           "00000000-0000-0000-0000-000000000001"), h),
         b"abcd"),
        ("POST", "POST %s?digest=%s HTTP/1.1\r\nHost: %s\r\n"
         "Content-Length: %d\r\n\r\n" % (v2(X, "blobs/uploads/"),
                                         sha256(blob), h, len(blob)), blob),
        ("GET", "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
         (v2(X, "blobs", sha256(blob)), h), b""),
    ]
    s = socket.create_connection((base.REG.host, base.REG.port), timeout=10)
    try:
        s.sendall(b"".join(head.encode() + body for _, head, body in reqs))
        rs = read_responses(s, [m for m, _, _ in reqs])
    finally:
        s.close()
    eq([r.status for r in rs], [200, 400, 404, 404, 201, 200],
       "statuses of the pipelined requests")
    assert_error(rs[1], 400, "MANIFEST_INVALID")
    eq(rs[2].body, b"", "HEAD body")
    assert_error(rs[3], 404, "BLOB_UPLOAD_UNKNOWN")
    eq(rs[4].h("Docker-Content-Digest"), sha256(blob), "Docker-Content-Digest")
    check(rs[5].body == blob, "blob bytes on the kept-alive connection")


@case(needs_berthd=True)
def extra_push_into_missing_repository_name_unknown():
    # ECR: repositories must exist; without --create-on-push a push into a
    # missing one fails with NAME_UNKNOWN naming it.
    strict = Berthd(create_on_push=False, label="berthd (no --create-on-push)")
    strict.start()
    try:
        name = "team/missing-repo"
        blob = rand_bytes(100, D.seed + 25)
        r = request(strict, "POST", v2(name, "blobs/uploads/"))
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        r = request(strict, "POST", v2(name, "blobs/uploads/") + "?digest=" +
                    sha256(blob), body=blob)
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        q = urllib.parse.urlencode([("from", "team/other"),
                                    ("mount", sha256(blob))])
        r = request(strict, "POST", v2(name, "blobs/uploads/") + "?" + q)
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                   "config": descriptor(MT_OCI_CONFIG, blob), "layers": []})
        r = request(strict, "PUT", v2(name, "manifests", "latest"),
                    headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        r = request(strict, "PUT", v2(name, "manifests", sha256(m)),
                    headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
        assert_error(r, 404, "NAME_UNKNOWN", mention=name)
        r = request(strict, "GET", "/v2/_catalog")
        eq(r.status, 200, "catalog status")
        eq(r.json().get("repositories"), [], "catalog after refused pushes")
        S.strict = strict
        strict = None
    finally:
        if strict is not None:
            strict.stop()




def aws_cli():
    for path in ("/usr/bin/aws", shutil.which("aws")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def need_ecr_api(srv):
    """Skips unless this berthd has the ECR API and the AWS CLI is here."""
    aws = aws_cli()
    if aws is None:
        raise Skip("no aws CLI")
    probe = ecr_call(srv, "DescribeRepositories", {})
    if probe.status == 404:
        raise Skip("no ECR API in this berthd yet (DescribeRepositories "
                   "answered 404)")
    return aws


def aws_ecr(srv, *args):
    """Runs aws ecr ARGS against srv with throwaway credentials; returns
    the parsed JSON output (None when there is none)."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDBERTHTEST",
               AWS_SECRET_ACCESS_KEY="berth-test-secret",
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1",
               AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run([aws_cli(), "ecr"] + list(args) + [
        "--endpoint-url", "http://%s:%d" % (srv.host, srv.port),
        "--output", "json"], env=env, stdin=subprocess.DEVNULL,
        capture_output=True, timeout=120)
    eq(p.returncode, 0, "aws ecr %s (%s)" % (args[0],
                                             short(p.stderr + p.stdout)))
    out = p.stdout.decode().strip()
    return json.loads(out) if out else None


@case(needs_berthd=True)
def extra_push_after_create_repository():
    # The same berthd: once the repository exists (ECR CreateRepository
    # through the AWS CLI), the pushes refused above succeed.
    strict = getattr(S, "strict", None)
    check(strict is not None, "the berthd of the previous case is gone")
    try:
        need_ecr_api(strict)
        name = "team/missing-repo"
        blob = rand_bytes(100, D.seed + 25)
        aws_ecr(strict, "create-repository", "--repository-name", name)
        r = request(strict, "POST", v2(name, "blobs/uploads/") + "?digest=" +
                    sha256(blob), body=blob)
        eq(r.status, 201, "blob push after create-repository (%s)" %
           short(r.body))
        m = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                   "config": descriptor(MT_OCI_CONFIG, blob), "layers": []})
        r = request(strict, "PUT", v2(name, "manifests", "latest"),
                    headers=[("Content-Type", MT_OCI_MANIFEST)], body=m)
        eq(r.status, 201, "manifest push after create-repository (%s)" %
           short(r.body))
        r = request(strict, "GET", "/v2/_catalog")
        eq(r.json().get("repositories"), [name], "catalog")
    finally:
        problems = strict.stop() if strict is not None else []
        S.strict = None
    check(not problems, "the berthd without --create-on-push: %s" %
          "; ".join(problems))


@case(needs_berthd=True)
def extra_one_store_for_oci_and_ecr():
    # What /v2/ pushes the ECR API reads (with push and pull times), and
    # what the ECR API writes /v2/ serves, byte for byte.
    need_ecr_api(base.REG)
    name = "extra/ecr-shared"
    m, cfg, layers = setup_image(name, "v1", nlayers=2, seed=10)
    r = R("GET", v2(name, "manifests", "v1"))
    assert_manifest_response(r, m, MT_OCI_MANIFEST)
    out = aws_ecr(base.REG, "describe-images", "--repository-name", name)
    details = out.get("imageDetails", [])
    eq(len(details), 1, "images described")
    d = details[0]
    eq(d.get("imageDigest"), sha256(m), "imageDigest")
    eq(d.get("imageTags"), ["v1"], "imageTags")
    eq(d.get("imageManifestMediaType"), MT_OCI_MANIFEST,
       "imageManifestMediaType")
    eq(d.get("imageSizeInBytes"), sum(len(l) for l in layers),
       "imageSizeInBytes (the layers)")
    check(d.get("imagePushedAt") is not None, "no imagePushedAt")
    check(d.get("lastRecordedPullTime") is not None,
          "no lastRecordedPullTime after a pull: %s" % d)
    out = aws_ecr(base.REG, "batch-get-image", "--repository-name", name,
                  "--image-ids", "imageTag=v1")
    eq(len(out.get("images", [])), 1, "images got")
    check(out["images"][0].get("imageManifest", "").encode() == m,
          "BatchGetImage's manifest differs from the bytes pushed")
    # ECR PutImage, then /v2/
    m2 = jdump({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                "config": descriptor(MT_OCI_CONFIG, cfg),
                "layers": [descriptor(MT_OCI_LAYER, layers[0])],
                "annotations": {"via": "ecr"}})
    aws_ecr(base.REG, "put-image", "--repository-name", name, "--image-tag",
            "v2", "--image-manifest", m2.decode(),
            "--image-manifest-media-type", MT_OCI_MANIFEST)
    r = R("GET", v2(name, "manifests", "v2"))
    assert_manifest_response(r, m2, MT_OCI_MANIFEST)
    r, tags = tag_list(name)
    eq(tags, ["v1", "v2"], "tags")
    # ECR BatchDeleteImage, then /v2/
    aws_ecr(base.REG, "batch-delete-image", "--repository-name", name,
            "--image-ids", "imageTag=v2")
    assert_error(R("GET", v2(name, "manifests", "v2")), 404,
                 "MANIFEST_UNKNOWN")


@case(needs_berthd=True)
def extra_login_token_names_an_account_and_region():
    # A login token (ECR GetAuthorizationToken) addresses its own account
    # and region; one for another registry than the host names is denied,
    # a bad one is challenged the way ECR does.
    need_ecr_api(base.REG)
    env_region = "eu-west-1"
    aws = aws_cli()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDBERTHTEST",
               AWS_SECRET_ACCESS_KEY="berth-test-secret",
               AWS_REGION=env_region, AWS_DEFAULT_REGION=env_region,
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1",
               AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run([aws, "ecr", "get-login-password", "--endpoint-url",
                        "http://%s:%d" % (base.REG.host, base.REG.port)], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    eq(p.returncode, 0, "aws ecr get-login-password (%s)" % short(p.stderr))
    token = p.stdout.decode().strip()
    basic = "Basic " + base64.b64encode(("AWS:" + token).encode()).decode()
    blob = rand_bytes(64, D.seed + 29)
    r = R("POST", v2("tok/repo", "blobs/uploads/") + "?digest=" +
          sha256(blob), headers=[("Authorization", basic)], body=blob)
    eq(r.status, 201, "push with the token (%s)" % short(r.body))
    r = R("GET", "/v2/_catalog", headers=[("Authorization", basic)])
    eq(r.json().get("repositories"), ["tok/repo"], "catalog with the token")
    r = R("GET", "/v2/_catalog")
    check("tok/repo" not in r.json().get("repositories"),
          "the token's repository shows in the default registry")
    acct = "000000000000"
    r = request(base.REG, "GET", v2("tok/repo", "blobs", sha256(blob)),
                host_header="%s.dkr.ecr.%s.localhost:%d" % (acct, env_region,
                                                            base.REG.port))
    eq(r.status, 200, "the same registry by host name (%s)" % short(r.body))
    r = request(base.REG, "GET", "/v2/_catalog", headers=[("Authorization",
                                                       basic)],
                host_header="111111111111.dkr.ecr.%s.localhost:%d" %
                (env_region, base.REG.port))
    assert_error(r, 403, "DENIED")
    bad = "Basic " + base64.b64encode(b"AWS:not-a-token").decode()
    r = R("GET", "/v2/_catalog", headers=[("Authorization", bad)])
    assert_error(r, 401, "UNAUTHORIZED")
    chal = r.h("WWW-Authenticate") or ""
    check(chal.startswith("Basic realm=") and
          'service="ecr.amazonaws.com"' in chal,
          "challenge %r is not ECR's" % chal)
