"""
The four workflows of the official conformance suite
(opencontainers/distribution-spec, conformance/): pull, push, content
discovery with the referrers cases, and content management.

Part of oci_conformance.py, which runs the cases in the order the
modules register them.
"""

import urllib.parse

import base
from base import (
    CROSS, D, External, MT_OCI_INDEX, MT_OCI_MANIFEST, NAME, R, S,
    assert_blob_response, assert_error, assert_manifest_response,
    assert_range, case, check, delete_ok, ecr_call, eq, link_next, loc_path,
    push_blob, put_manifest, sha256, short, start_upload, tag_list, v2,
    with_query)


# === 01 pull ===================================================================

@case
def pull_setup_push_config0():
    push_blob(D.configs[0])


@case
def pull_setup_push_config1():
    push_blob(D.configs[1])


@case
def pull_setup_push_layer():
    push_blob(D.layer)


@case
def pull_setup_push_manifest0_by_tag():
    put_manifest("tagtest0", D.manifests[0])


@case
def pull_setup_push_manifest1_by_digest():
    put_manifest(sha256(D.manifests[1]), D.manifests[1])


@case
def pull_head_nonexistent_blob_404():
    r = R("HEAD", v2(NAME, "blobs", D.dummy_digest))
    eq(r.status, 404, "status")
    eq(r.body, b"", "HEAD body")


@case
def pull_head_existing_blob_200():
    r = R("HEAD", v2(NAME, "blobs", sha256(D.configs[0])))
    assert_blob_response(r, D.configs[0], head=True)


@case
def pull_get_nonexistent_blob_404():
    r = R("GET", v2(NAME, "blobs", D.dummy_digest))
    assert_error(r, 404, "BLOB_UNKNOWN")


@case
def pull_get_existing_blob_200():
    r = R("GET", v2(NAME, "blobs", sha256(D.configs[0])))
    assert_blob_response(r, D.configs[0])


@case
def pull_head_nonexistent_manifest_404():
    r = R("HEAD", v2(NAME, "manifests", D.nonexistent_manifest))
    eq(r.status, 404, "status")
    eq(r.body, b"", "HEAD body")


@case
def pull_head_manifest0_by_digest_200():
    r = R("HEAD", v2(NAME, "manifests", sha256(D.manifests[0])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[0], MT_OCI_MANIFEST, head=True)


@case
def pull_head_manifest1_by_digest_200():
    r = R("HEAD", v2(NAME, "manifests", sha256(D.manifests[1])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[1], MT_OCI_MANIFEST, head=True)


@case
def pull_head_manifest_by_tag_200():
    r = R("HEAD", v2(NAME, "manifests", "tagtest0"),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[0], MT_OCI_MANIFEST, head=True)


@case
def pull_get_nonexistent_manifest_404():
    r = R("GET", v2(NAME, "manifests", D.nonexistent_manifest))
    assert_error(r, 404, "MANIFEST_UNKNOWN")


@case
def pull_get_manifest0_by_digest_200():
    r = R("GET", v2(NAME, "manifests", sha256(D.manifests[0])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[0], MT_OCI_MANIFEST)


@case
def pull_get_manifest1_by_digest_200():
    r = R("GET", v2(NAME, "manifests", sha256(D.manifests[1])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[1], MT_OCI_MANIFEST)


@case
def pull_get_manifest_by_tag_200():
    r = R("GET", v2(NAME, "manifests", "tagtest0"),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[0], MT_OCI_MANIFEST)


@case
def pull_error_body_is_oci_json():
    # The suite sends this GET with a body and accepts 400 or 404; either
    # way the body must be an error in the spec's shape.
    r = R("GET", v2(NAME, "manifests", "sha256:totallywrong"),
          headers=[("Content-Type", MT_OCI_MANIFEST)],
          body=D.invalid_manifest)
    doc = assert_error(r, (400, 404))
    if r.status == 400:
        eq(doc["errors"][0]["code"], "DIGEST_INVALID", "error code")


@case
def pull_teardown_delete_manifest0():
    delete_ok(v2(NAME, "manifests", sha256(D.manifests[0])))


@case
def pull_teardown_delete_manifest1():
    delete_ok(v2(NAME, "manifests", sha256(D.manifests[1])))


@case
def pull_teardown_delete_config0_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[0])))


@case
def pull_teardown_delete_config1_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[1])))


@case
def pull_teardown_delete_layer_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.layer)))


# === 02 push ===================================================================

@case
def push_streamed_patch_202():
    r = start_upload()
    loc = loc_path(base.REG, r)
    r = R("PATCH", loc, headers=[("Content-Type", "application/octet-stream")],
          body=D.blob_a)
    eq(r.status, 202, "PATCH status (%s)" % short(r.body))
    assert_range(r, len(D.blob_a) - 1)
    S.streamed = r


@case
def push_streamed_put_digest_201():
    loc = loc_path(base.REG, S.streamed)
    r = R("PUT", with_query(loc, digest=sha256(D.blob_a)),
          headers=[("Content-Type", "application/octet-stream")])
    eq(r.status, 201, "PUT status (%s)" % short(r.body))
    eq(loc_path(base.REG, r), v2(NAME, "blobs", sha256(D.blob_a)), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.blob_a),
       "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(NAME, "blobs", sha256(D.blob_a))),
                         D.blob_a)


@case
def push_monolithic_get_nonexistent_blob_404():
    r = R("GET", v2(NAME, "blobs", D.dummy_digest))
    assert_error(r, 404, "BLOB_UNKNOWN")


@case
def push_monolithic_post_with_digest_201():
    # The spec allows 202 (registry without monolithic POST); berth
    # implements it, so 201 with the blob's Location.
    r = R("POST", v2(NAME, "blobs/uploads/") + "?digest=" +
          sha256(D.configs[1]),
          headers=[("Content-Type", "application/octet-stream")],
          body=D.configs[1])
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(loc_path(base.REG, r), v2(NAME, "blobs", sha256(D.configs[1])), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.configs[1]),
       "Docker-Content-Digest")
    S.monolithic = r


@case
def push_monolithic_get_blob_from_prior_request():
    r = R("GET", v2(NAME, "blobs", sha256(D.configs[1])))
    if S.monolithic.status == 202:
        eq(r.status, 404, "status")
    else:
        assert_blob_response(r, D.configs[1])


@case
def push_monolithic_post_yields_session():
    r = start_upload()
    loc = loc_path(base.REG, r)
    check(loc.startswith(v2(NAME, "blobs/uploads/")),
          "session Location %s is not under %s" % (loc,
                                                   v2(NAME, "blobs/uploads/")))
    S.session = r


@case
def push_monolithic_put_blob_201():
    r = R("PUT", with_query(loc_path(base.REG, S.session),
                            digest=sha256(D.configs[1])),
          headers=[("Content-Type", "application/octet-stream")],
          body=D.configs[1])
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(loc_path(base.REG, r), v2(NAME, "blobs", sha256(D.configs[1])), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.configs[1]),
       "Docker-Content-Digest")


@case
def push_monolithic_get_existing_blob_200():
    assert_blob_response(R("GET", v2(NAME, "blobs", sha256(D.configs[1]))),
                         D.configs[1])


@case
def push_monolithic_put_layer_201():
    push_blob(D.layer)


@case
def push_monolithic_get_existing_layer_200():
    assert_blob_response(R("GET", v2(NAME, "blobs", sha256(D.layer))),
                         D.layer)


@case
def push_chunked_out_of_order_416():
    r = R("POST", v2(NAME, "blobs/uploads/"),
          headers=[("Content-Length", "0")])
    eq(r.status, 202, "POST status")
    check(r.h("OCI-Chunk-Min-Length") is None or
          int(r.h("OCI-Chunk-Min-Length")) <= len(D.blob_b_chunk1),
          "OCI-Chunk-Min-Length %s is above this test's chunk size" %
          r.h("OCI-Chunk-Min-Length"))
    r = R("PATCH", loc_path(base.REG, r),
          headers=[("Content-Type", "application/octet-stream"),
                   ("Content-Range", D.blob_b_chunk2_range)],
          body=D.blob_b_chunk2)
    eq(r.status, 416, "status (%s)" % short(r.body))
    # The 416 tells where the upload stands, so that the client can resume.
    assert_range(r, 0)
    loc_path(base.REG, r)


@case
def push_chunked_first_chunk_202():
    r = R("POST", v2(NAME, "blobs/uploads/"),
          headers=[("Content-Length", "0")])
    eq(r.status, 202, "POST status")
    assert_range(r, 0)  # customary: an empty session is 0-0
    S.prev = r
    r = R("PATCH", loc_path(base.REG, r),
          headers=[("Content-Type", "application/octet-stream"),
                   ("Content-Range", D.blob_b_chunk1_range)],
          body=D.blob_b_chunk1)
    eq(r.status, 202, "status (%s)" % short(r.body))
    eq(r.h("Range"), D.blob_b_chunk1_range, "Range")
    loc_path(base.REG, r)
    S.last = r


@case
def push_chunked_retry_previous_chunk_416():
    r = R("PATCH", loc_path(base.REG, S.prev),
          headers=[("Content-Type", "application/octet-stream"),
                   ("Content-Range", D.blob_b_chunk1_range)],
          body=D.blob_b_chunk1)
    eq(r.status, 416, "status (%s)" % short(r.body))
    eq(r.h("Range"), D.blob_b_chunk1_range, "Range of the 416")
    loc_path(base.REG, r)


@case
def push_chunked_get_stale_upload_204():
    r = R("GET", loc_path(base.REG, S.prev))
    eq(r.status, 204, "status (%s)" % short(r.body))
    loc_path(base.REG, r)
    eq(r.h("Range"), D.blob_b_chunk1_range, "Range")
    eq(r.body, b"", "body")
    S.last = r


@case
def push_chunked_second_chunk_202():
    r = R("PATCH", loc_path(base.REG, S.last),
          headers=[("Content-Type", "application/octet-stream"),
                   ("Content-Range", D.blob_b_chunk2_range)],
          body=D.blob_b_chunk2)
    eq(r.status, 202, "status (%s)" % short(r.body))
    loc_path(base.REG, r)
    assert_range(r, len(D.blob_b) - 1)
    S.last = r


@case
def push_chunked_put_digest_201():
    r = R("PUT", with_query(loc_path(base.REG, S.last), digest=sha256(D.blob_b)),
          headers=[("Content-Length", "0"),
                   ("Content-Type", "application/octet-stream")])
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(loc_path(base.REG, r), v2(NAME, "blobs", sha256(D.blob_b)), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.blob_b),
       "Docker-Content-Digest")
    assert_blob_response(R("GET", v2(NAME, "blobs", sha256(D.blob_b))),
                         D.blob_b)


@case
def push_crossmount_without_from_yields_session():
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?mount=" + D.dummy_digest)
    eq(r.status, 202, "status (%s)" % short(r.body))
    check(loc_path(base.REG, r).startswith(v2(CROSS, "blobs/uploads/")),
          "Location is not a session of %s" % CROSS)


@case(needs_berthd=True)
def push_crossmount_disabled_202_then_enabled():
    # ECR mounts only when the registry's BLOB_MOUNTING account setting is
    # ENABLED (DISABLED by default): until then a mount is an upload.
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?" + urllib.parse.urlencode(
        [("mount", sha256(D.blob_a)), ("from", NAME)]))
    eq(r.status, 202, "mount with BLOB_MOUNTING DISABLED (%s)" %
       short(r.body))
    loc = loc_path(base.REG, r)
    check(loc.startswith(v2(CROSS, "blobs/uploads/")),
          "Location %s is not a session of %s" % (loc, CROSS))
    eq(R("DELETE", loc).status, 204, "cancel of the session")
    eq(R("HEAD", v2(CROSS, "blobs", sha256(D.blob_a))).status, 404,
       "HEAD in %s: nothing was mounted" % CROSS)
    r = ecr_call(base.REG, "PutAccountSetting", {"name": "BLOB_MOUNTING",
                                            "value": "ENABLED"})
    eq(r.status, 200, "PutAccountSetting BLOB_MOUNTING (%s)" % short(r.body))


@case
def push_crossmount_from_other_repo_201():
    # 202 would be allowed by the suite; berth mounts (BLOB_MOUNTING is
    # ENABLED now), so 201.  An external berth is asked to enable it here
    # (the case that checks the default needs a berthd of its own).
    if isinstance(base.REG, External):
        ecr_call(base.REG, "PutAccountSetting", {"name": "BLOB_MOUNTING",
                                            "value": "ENABLED"})
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?" + urllib.parse.urlencode(
        [("mount", sha256(D.blob_a)), ("from", NAME)]))
    eq(r.status, 201, "status (%s)" % short(r.body))
    eq(loc_path(base.REG, r), v2(CROSS, "blobs", sha256(D.blob_a)), "Location")
    eq(r.h("Docker-Content-Digest"), sha256(D.blob_a),
       "Docker-Content-Digest")
    S.mounted = r


@case
def push_crossmount_get_mounted_blob_200():
    r = R("GET", loc_path(base.REG, S.mounted))
    assert_blob_response(r, D.blob_a)


@case
def push_crossmount_nonexistent_blob_yields_session():
    # The suite checks this when the mount fell back to an upload; here
    # the fallback is forced: the source does not have the blob.
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?" + urllib.parse.urlencode(
        [("mount", D.dummy_digest), ("from", NAME)]))
    eq(r.status, 202, "status (%s)" % short(r.body))
    check(loc_path(base.REG, r).startswith(v2(CROSS, "blobs/uploads/")),
          "Location %s is not a session of %s" % (r.h("Location"), CROSS))


@case
def push_crossmount_without_from_no_automatic_mount_202():
    # berth does not mount automatically without from= (the suite's
    # OCI_AUTOMATIC_CROSSMOUNT=false case).
    r = R("POST", v2(CROSS, "blobs/uploads/") + "?mount=" + sha256(D.blob_b))
    eq(r.status, 202, "status (%s)" % short(r.body))
    check(loc_path(base.REG, r).startswith(v2(CROSS, "blobs/uploads/")),
          "Location is not a session of %s" % CROSS)


@case
def push_manifest_get_nonexistent_404():
    assert_error(R("GET", v2(NAME, "manifests", D.nonexistent_manifest)),
                 404, "MANIFEST_UNKNOWN")


@case
def push_manifest_put_accepted():
    for i in range(4):
        put_manifest("test%d" % i, D.manifests[1])


@case
def push_manifest_with_no_layers_accepted():
    r = put_manifest("emptylayer", D.empty_layer_manifest)
    S.empty_layer_ref = loc_path(base.REG, r)
    # No mediaType in the body: the Content-Type of the PUT names it.
    r = R("GET", v2(NAME, "manifests", "emptylayer"))
    assert_manifest_response(r, D.empty_layer_manifest, MT_OCI_MANIFEST)


@case
def push_manifest_get_by_digest_200():
    r = R("GET", v2(NAME, "manifests", sha256(D.manifests[1])),
          headers=[("Accept", MT_OCI_MANIFEST)])
    assert_manifest_response(r, D.manifests[1], MT_OCI_MANIFEST)


@case
def push_teardown_delete_manifests():
    delete_ok(v2(NAME, "manifests", sha256(D.manifests[1])))
    delete_ok(v2(NAME, "manifests", sha256(D.empty_layer_manifest)))


@case
def push_teardown_delete_config_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[1])))


@case
def push_teardown_delete_layer_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.layer)))


# === 03 content discovery ====================================================

@case
def discovery_setup_push_config2():
    push_blob(D.configs[2])


@case
def discovery_setup_push_layer():
    push_blob(D.layer)


@case
def discovery_setup_push_tags():
    for i in range(4):
        put_manifest("test%d" % i, D.manifests[2])


@case
def discovery_references_setup_empty_json_blob():
    eq(D.empty_desc["digest"], "sha256:44136fa355b3678a1146ad16f7e8649e94fb"
       "4fc21fe77e8310c060f61caaff8a", "the empty JSON descriptor's digest")
    push_blob(D.empty_json)


@case
def discovery_references_setup_ref_blob_a():
    push_blob(D.ref_blob_a)


def put_referrer(content, subject, mt=MT_OCI_MANIFEST):
    r = put_manifest(sha256(content), content, mt=mt)
    eq(r.h("OCI-Subject"), sha256(subject), "OCI-Subject")


@case
def discovery_references_setup_a_config_artifact():
    # Its subject (manifests[4]) is not pushed yet: still accepted.
    put_referrer(D.refs_a_config, D.manifests[4])


@case
def discovery_references_setup_a_layer_artifact():
    put_referrer(D.refs_a_layer, D.manifests[4])


@case
def discovery_references_setup_index_artifact():
    put_referrer(D.refs_index, D.manifests[4], mt=MT_OCI_INDEX)


@case
def discovery_references_setup_subject_config_and_layer():
    push_blob(D.configs[4])
    push_blob(D.layer)


@case
def discovery_references_setup_subject_manifest():
    put_manifest("tagtest0", D.manifests[4])


@case
def discovery_references_setup_ref_blob_b():
    push_blob(D.ref_blob_b)


@case
def discovery_references_setup_b_config_artifact():
    put_referrer(D.refs_b_config, D.manifests[4])


@case
def discovery_references_setup_b_layer_artifact():
    put_referrer(D.refs_b_layer, D.manifests[4])


@case
def discovery_references_setup_c_layer_artifact_missing_subject():
    put_referrer(D.refs_c_layer, D.manifests[3])






@case
def discovery_list_tags_200():
    r, tags = tag_list()
    eq(tags, ["tagtest0", "test0", "test1", "test2", "test3"], "tags")
    check(r.h("Link") is None, "Link on a complete list: %s" % r.h("Link"))
    S.tags = tags


@case
def discovery_list_tags_limited_by_n():
    n = len(S.tags) // 2
    r, tags = tag_list(query="?n=%d" % n)
    eq(tags, S.tags[:n], "tags")
    nxt = link_next(base.REG, r)
    check(nxt is not None, "no Link rel=\"next\" though tags remain")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)
    eq(q.get("n"), [str(n)], "n in Link")
    eq(q.get("last"), [S.tags[n - 1]], "last in Link")


@case
def discovery_list_tags_start_set_by_last():
    n = len(S.tags) // 2
    r, tags = tag_list(query="?n=%d&last=%s" % (n, S.tags[n - 1]))
    eq(tags, S.tags[n:2 * n], "tags")


def referrers(digest, query=""):
    r = R("GET", v2(NAME, "referrers", digest) + query)
    eq(r.status, 200, "referrers status (%s)" % short(r.body))
    eq(r.h("Content-Type"), MT_OCI_INDEX, "referrers Content-Type")
    doc = r.json()
    eq(doc.get("schemaVersion"), 2, "schemaVersion")
    eq(doc.get("mediaType"), MT_OCI_INDEX, "mediaType")
    check(isinstance(doc.get("manifests"), list), "manifests is not a list")
    return r, doc["manifests"]


CONTENT_BY_DIGEST = {}


def check_referrer_descriptor(d):
    dg = d.get("digest")
    content = CONTENT_BY_DIGEST.get(dg)
    check(content is not None, "unexpected referrer %s" % dg)
    eq(d.get("size"), len(content), "size of referrer %s" % dg)
    expected_mt = MT_OCI_INDEX if content == D.refs_index else MT_OCI_MANIFEST
    eq(d.get("mediaType"), expected_mt, "mediaType of referrer %s" % dg)
    eq(d.get("artifactType"), D.ref_type[dg], "artifactType of %s" % dg)
    if dg in D.ann:
        eq(d.get("annotations"), {D.ann_key: D.ann[dg]},
           "annotations of %s" % dg)


@case
def referrers_nonexistent_subject_empty_200():
    r, manifests = referrers(D.dummy_digest)
    eq(manifests, [], "manifests")


@case
def referrers_existing_subject_200():
    for c in (D.refs_a_config, D.refs_a_layer, D.refs_index,
              D.refs_b_config, D.refs_b_layer, D.refs_c_layer):
        CONTENT_BY_DIGEST[sha256(c)] = c
    r, manifests = referrers(sha256(D.manifests[4]))
    got = sorted(d.get("digest") for d in manifests)
    want = sorted(sha256(c) for c in (D.refs_a_config, D.refs_a_layer,
                                      D.refs_index, D.refs_b_config,
                                      D.refs_b_layer))
    eq(got, want, "referrer digests")
    for d in manifests:
        check_referrer_descriptor(d)
    check(r.h("OCI-Filters-Applied") is None,
          "OCI-Filters-Applied without a filter")


@case
def referrers_filtered_by_artifact_type_200():
    r, manifests = referrers(sha256(D.manifests[4]),
                             "?artifactType=" + urllib.parse.quote(D.type_a))
    eq(r.h("OCI-Filters-Applied"), "artifactType", "OCI-Filters-Applied")
    got = sorted(d.get("digest") for d in manifests)
    eq(got, sorted([sha256(D.refs_a_config), sha256(D.refs_a_layer)]),
       "filtered referrers")
    for d in manifests:
        check_referrer_descriptor(d)
    # the other types, and one nothing has
    for t, want in ((D.type_b, [D.refs_b_config, D.refs_b_layer]),
                    (D.type_index, [D.refs_index]),
                    ("application/vnd.example.none", [])):
        r, manifests = referrers(sha256(D.manifests[4]),
                                 "?artifactType=" + urllib.parse.quote(t))
        eq(r.h("OCI-Filters-Applied"), "artifactType",
           "OCI-Filters-Applied for %s" % t)
        eq(sorted(d.get("digest") for d in manifests),
           sorted(sha256(c) for c in want), "referrers of type %s" % t)


@case
def referrers_missing_subject_200():
    r, manifests = referrers(sha256(D.manifests[3]))
    eq([d.get("digest") for d in manifests], [sha256(D.refs_c_layer)],
       "referrers of the missing subject")
    check_referrer_descriptor(manifests[0])


@case
def discovery_teardown_delete_manifests_and_tags():
    # By digest: each exists, so 202.  "tagtest0" pointed at manifests[4],
    # deleted just before: 202 if the tag outlived it, else 404.
    refs = [sha256(D.refs_index), sha256(D.manifests[2]),
            sha256(D.manifests[4]), sha256(D.refs_a_config),
            sha256(D.refs_a_layer), "tagtest0", sha256(D.refs_b_config),
            sha256(D.refs_b_layer), sha256(D.refs_c_layer)]
    for ref in refs:
        r = R("DELETE", v2(NAME, "manifests", ref))
        if ref == "tagtest0":
            check(r.status in (202, 404), "DELETE tagtest0: %d" % r.status)
            if r.status == 404:
                assert_error(r, 404, "MANIFEST_UNKNOWN")
        else:
            eq(r.status, 202, "DELETE %s (%s)" % (ref, short(r.body)))
    r, tags = tag_list()
    eq(tags, [], "tags left after deleting every manifest")


@case
def discovery_teardown_delete_config_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[2])))


@case
def discovery_teardown_delete_layer_blob():
    delete_ok(v2(NAME, "blobs", sha256(D.layer)))


@case
def discovery_references_teardown():
    for ref in (sha256(D.refs_index), sha256(D.refs_a_config),
                sha256(D.refs_a_layer), sha256(D.manifests[4]),
                sha256(D.refs_b_config), sha256(D.refs_b_layer)):
        assert_error(R("DELETE", v2(NAME, "manifests", ref)), 404,
                     "MANIFEST_UNKNOWN")
    for b in (D.configs[4], D.ref_blob_a, D.ref_blob_b, D.empty_json):
        delete_ok(v2(NAME, "blobs", sha256(b)))
    assert_error(R("GET", v2(NAME, "blobs", sha256(D.ref_blob_a))), 404,
                 "BLOB_UNKNOWN")
    # the deleted referrers are no longer listed
    for subject in (D.manifests[4], D.manifests[3]):
        r, manifests = referrers(sha256(subject))
        eq(manifests, [], "referrers after their deletion")


# === 04 content management ===================================================

@case
def management_setup_push_config3():
    push_blob(D.configs[3])


@case
def management_setup_push_layer():
    push_blob(D.layer)


@case
def management_setup_push_tag():
    put_manifest("tagtest0", D.manifests[3])


@case
def management_setup_count_tags():
    r, tags = tag_list()
    check("tagtest0" in tags, "tagtest0 is not listed: %r" % tags)
    S.num_tags = len(tags)


@case
def management_delete_manifest_by_tag_202():
    r = R("DELETE", v2(NAME, "manifests", "tagtest0"))
    eq(r.status, 202, "status (%s)" % short(r.body))
    assert_error(R("GET", v2(NAME, "manifests", "tagtest0")), 404,
                 "MANIFEST_UNKNOWN")


@case
def management_delete_manifest_by_digest_202():
    # Deleting the tag removed the tag only: the manifest is still there.
    r = R("DELETE", v2(NAME, "manifests", sha256(D.manifests[3])))
    eq(r.status, 202, "status (%s)" % short(r.body))


@case
def management_get_deleted_manifest_404():
    assert_error(R("GET", v2(NAME, "manifests", sha256(D.manifests[3]))),
                 404, "MANIFEST_UNKNOWN")


@case
def management_tags_list_reflects_deletion():
    r, tags = tag_list()
    check(len(tags) < S.num_tags, "%d tags, not fewer than %d" %
          (len(tags), S.num_tags))
    check("tagtest0" not in tags, "tagtest0 is still listed")


@case
def management_delete_blobs_202():
    delete_ok(v2(NAME, "blobs", sha256(D.configs[3])))
    delete_ok(v2(NAME, "blobs", sha256(D.layer)))


@case
def management_get_deleted_blob_404():
    assert_error(R("GET", v2(NAME, "blobs", sha256(D.configs[3]))), 404,
                 "BLOB_UNKNOWN")
    r = R("HEAD", v2(NAME, "blobs", sha256(D.layer)))
    eq(r.status, 404, "HEAD of the deleted layer")
