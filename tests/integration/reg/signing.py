"""Managed signing: the Notary Project signature a signing rule attaches to
a pushed image, verified with Debian's python3-cryptography against the
certificate the admin API publishes, and a key given by --signing-key
(reread on SIGHUP, the old one kept on error).

Part of registry.py, which runs these tests on its berthd.
"""

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request

from berth_it import err
from registry_it import (
    A, BERTHD, BLOBD, Berthd, NOTARY, OCI_MANIFEST, TMP, free_port, ok,
    push, settled, statuses, wait_until)


# --- managed signing ----------------------------------------------------------

VERIFY = r'''
import base64, hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import ExtendedKeyUsageOID

def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

env = json.load(open(sys.argv[1]))
manifest = json.load(open(sys.argv[2]))
trusted = x509.load_pem_x509_certificate(open(sys.argv[3], "rb").read())
target = sys.argv[4]
chain = [x509.load_der_x509_certificate(base64.b64decode(c))
         for c in env["header"]["x5c"]]
leaf, root = chain[0], chain[-1]
assert root == trusted, "the chain does not end in the published certificate"
prot = json.loads(b64u(env["protected"]))
payload = json.loads(b64u(env["payload"]))
assert prot["cty"] == "application/vnd.cncf.notary.payload.v1+json"
assert prot["io.cncf.notary.signingScheme"] == "notary.x509"
assert "io.cncf.notary.signingScheme" in prot["crit"]
assert payload["targetArtifact"]["digest"] == target
data = (env["protected"] + "." + env["payload"]).encode()
sig = b64u(env["signature"])
alg = prot["alg"]
pub = leaf.public_key()
hashes_of = {"256": hashes.SHA256(), "384": hashes.SHA384(),
             "512": hashes.SHA512()}
h = hashes_of[alg[2:]]
if alg.startswith("ES"):
    n = len(sig) // 2
    pub.verify(utils.encode_dss_signature(int.from_bytes(sig[:n], "big"),
               int.from_bytes(sig[n:], "big")), data, ec.ECDSA(h))
else:
    pub.verify(sig, data, padding.PSS(mgf=padding.MGF1(h),
               salt_length=h.digest_size), h)
ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
assert ku.critical and ku.value.digital_signature
eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
assert ExtendedKeyUsageOID.CODE_SIGNING in eku.value
thumbs = json.loads(manifest["annotations"][
    "io.cncf.notary.x509chain.thumbprint#S256"])
from cryptography.hazmat.primitives.serialization import Encoding
assert thumbs == [hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest()
                  .upper() for c in chain]
# The root signs itself (or the leaf is its own root).
root.public_key().verify(root.signature, root.tbs_certificate_bytes,
    ec.ECDSA(root.signature_hash_algorithm)
    if isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    else padding.PKCS1v15(), *([] if isinstance(root.public_key(),
    ec.EllipticCurvePublicKey) else [root.signature_hash_algorithm]))
print("verified", alg)
'''


def verify_signature(b, account, region, repo, digest, cert_pem):
    """The signatures of digest in repo, each verified independently."""
    refs = json.loads(b.get("/v2/%s/referrers/%s" % (repo, digest), account,
                            region))["manifests"]
    sigs = [r for r in refs if r.get("artifactType") == NOTARY]
    results = []
    for s in sigs:
        m = json.loads(b.get("/v2/%s/manifests/%s" % (repo, s["digest"]),
                             account, region, OCI_MANIFEST))
        env = b.get("/v2/%s/blobs/%s" % (repo, m["layers"][0]["digest"]),
                    account, region)
        paths = []
        for name, data in (("env", env), ("manifest", json.dumps(m).encode()),
                           ("cert", cert_pem)):
            p = os.path.join(TMP, "%s-%s" % (name, s["digest"][7:19]))
            with open(p, "wb") as f:
                f.write(data)
            paths.append(p)
        r = subprocess.run(["/usr/bin/python3", "-c", VERIFY] + paths +
                           [digest], capture_output=True, text=True)
        results.append((r.returncode == 0 and m["subject"]["digest"] ==
                        digest and m["config"]["mediaType"] == NOTARY and
                        m["layers"][0]["mediaType"] ==
                        "application/jose+json", r.stdout + r.stderr, m))
    return results


def admin_cert(b, account, region):
    try:
        with urllib.request.urlopen(
                b.endpoint + "/_berth/signing-certificate?account=%s&"
                "region=%s" % (account, region)) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_signing(b):
    c = b.client(A, "eu-west-3")
    ok("get without configuration", err(c.get_signing_configuration) ==
       "SigningConfigurationNotFoundException")
    ok("delete without configuration", err(c.delete_signing_configuration) ==
       "SigningConfigurationNotFoundException")
    p1 = "arn:aws:signer:eu-west-3:%s:/signing-profiles/first" % A
    p2 = "arn:aws:signer:eu-west-3:%s:/signing-profiles/second" % A
    ok("profile in another region", err(
        c.put_signing_configuration, signingConfiguration={"rules": [
            {"signingProfileArn": p1.replace("eu-west-3", "us-east-1")}]}) ==
        "InvalidParameterException")
    ok("bad profile ARN", err(
        c.put_signing_configuration, signingConfiguration={"rules": [
            {"signingProfileArn": "arn:aws:s3:::bucket"}]}) is not None)
    ok("11 rules", err(c.put_signing_configuration, signingConfiguration={
        "rules": [{"signingProfileArn": p1}] * 11}) is not None)
    ok("bad filter type", err(
        c.put_signing_configuration, signingConfiguration={"rules": [
            {"signingProfileArn": p1, "repositoryFilters": [
                {"filter": "x", "filterType": "PREFIX_MATCH"}]}]}) is not None)
    conf = {"rules": [
        {"signingProfileArn": p1},
        {"signingProfileArn": p2, "repositoryFilters": [
            {"filter": "*prod*", "filterType": "WILDCARD_MATCH"}]}]}
    ok("put", c.put_signing_configuration(signingConfiguration=conf)[
        "signingConfiguration"] == conf)
    ok("get", c.get_signing_configuration()["signingConfiguration"] == conf)
    code, _ = admin_cert(b, A, "eu-west-3")
    ok("no certificate before the first signature", code == 404)

    c.create_repository(repositoryName="svc/prod-api")
    d = push(b, "svc/prod-api", "v1", A, "eu-west-3")
    st = settled(c, "svc/prod-api", d, "signing")
    ok("one status per matching profile", sorted(
        (s["signingProfileArn"], s["status"]) for s in st) ==
        [(p1, "COMPLETE"), (p2, "COMPLETE")], st)
    code, cert = admin_cert(b, A, "eu-west-3")
    ok("certificate published", code == 200 and cert.startswith(
        b"-----BEGIN CERTIFICATE-----"), cert[:60])
    res = verify_signature(b, A, "eu-west-3", "svc/prod-api", d, cert)
    ok("two signatures, verified independently", len(res) == 2 and
       all(r[0] for r in res), [r[1] for r in res])
    ok("profiles named on the signatures", sorted(
        r[2]["annotations"].get("dev.berth.signing-profile-arn", "")
        for r in res) == [p1, p2])
    refs = c.list_images(repositoryName="svc/prod-api")["imageIds"]
    sig_digests = [r["imageDigest"] for r in refs if r["imageDigest"] != d]
    ok("signatures are not signed", all(
        statuses(c, "svc/prod-api", s, "signing") == [] for s in
        sig_digests), sig_digests)

    c.create_repository(repositoryName="svc/dev")
    d2 = push(b, "svc/dev", "v1", A, "eu-west-3")
    st = settled(c, "svc/dev", d2, "signing")
    ok("filters choose the profiles", [s["signingProfileArn"] for s in st] ==
       [p1], st)
    out = c.delete_signing_configuration()
    ok("delete returns it", out["signingConfiguration"] == conf)
    ok("signatures stay", len(verify_signature(
        b, A, "eu-west-3", "svc/dev", d2, cert)) == 1)
    d3 = push(b, "svc/dev", "v2", A, "eu-west-3", seed="unsigned")
    ok("nothing signed without a configuration", statuses(
        c, "svc/dev", d3, "signing") == [])
    ok("status of a missing image", err(
        c.describe_image_signing_status, repositoryName="svc/dev",
        imageId={"imageTag": "none"}) == "ImageNotFoundException")
    ok("status in a missing repository", err(
        c.describe_image_signing_status, repositoryName="svc/none",
        imageId={"imageTag": "v1"}) == "RepositoryNotFoundException")


def make_signing_key(name, curve, cn):
    """A key and a code-signing certificate: (key path, cert path)."""
    key = os.path.join(TMP, name + ".pem")
    cert = os.path.join(TMP, name + ".crt")
    ext = os.path.join(TMP, "ext.cnf")
    with open(ext, "w") as f:
        f.write("[v3]\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=codeSigning\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:" + curve, "-nodes",
                    "-keyout", key, "-out", cert, "-days", "30",
                    "-subj", "/O=test/CN=" + cn, "-config", "/dev/null",
                    "-extensions", "v3", "-addext",
                    "keyUsage=critical,digitalSignature"],
                   check=False, capture_output=True)
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:" + curve, "-nodes",
                        "-keyout", key, "-out", cert, "-days", "30",
                        "-subj", "/O=test/CN=" + cn,
                        "-addext", "basicConstraints=critical,CA:FALSE",
                        "-addext", "keyUsage=critical,digitalSignature",
                        "-addext", "extendedKeyUsage=codeSigning"],
                       check=True, capture_output=True)
    return key, cert


def write_atomically(path, data):
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.rename(path + ".new", path)


def test_signing_key_flag():
    key, cert = make_signing_key("signing", "P-384", "given key")
    both = os.path.join(TMP, "both.pem")
    write_atomically(both, open(key, "rb").read() + open(cert, "rb").read())
    bad = os.path.join(TMP, "bad.pem")
    with open(bad, "w") as f:
        f.write("not a key\n")
    r = subprocess.run([BERTHD, "--blobd", BLOBD, "--listen",
                        "127.0.0.1:%d" % free_port(), "--data-dir",
                        os.path.join(TMP, "badkey"), "--signing-key", bad],
                       capture_output=True, text=True, timeout=20)
    ok("a bad --signing-key stops berthd", r.returncode != 0 and
       "signing-key" in r.stderr, r.stderr[-200:])
    b = Berthd("--signing-key", both)
    try:
        c = b.client()
        c.put_signing_configuration(signingConfiguration={"rules": [
            {"signingProfileArn":
             "arn:aws:signer:us-east-1:%s:/signing-profiles/given" % A}]})
        c.create_repository(repositoryName="given/app")
        d = push(b, "given/app", "v1")
        st = settled(c, "given/app", d, "signing")
        ok("signed with the given key", st and st[0]["status"] ==
           "COMPLETE", st)
        pem = open(cert, "rb").read()
        code, published = admin_cert(b, A, "us-east-1")
        ok("the given chain is published", code == 200 and
           published.strip() == pem.strip())
        res = verify_signature(b, A, "us-east-1", "given/app", d, pem)
        ok("verified against the given certificate (ES384)", len(res) == 1
           and res[0][0] and "ES384" in res[0][1], res and res[0][1])

        # SIGHUP rereads the file (through the spawner: berthd itself has
        # no filesystem): a new key signs from then on.
        key2, cert2 = make_signing_key("signing2", "P-256", "second key")
        pem2 = open(cert2, "rb").read()
        write_atomically(both, open(key2, "rb").read() + pem2)
        b.proc.send_signal(signal.SIGHUP)
        ok("SIGHUP: the new chain is published", wait_until(
            lambda: admin_cert(b, A, "us-east-1")[1].strip() ==
            pem2.strip()))
        d2 = push(b, "given/app", "v2", seed="after-hup")
        st = settled(c, "given/app", d2, "signing")
        ok("signed after SIGHUP", st and st[0]["status"] == "COMPLETE", st)
        res = verify_signature(b, A, "us-east-1", "given/app", d2, pem2)
        ok("verified against the new certificate (ES256)", len(res) == 1
           and res[0][0] and "ES256" in res[0][1], res and res[0][1])
        # A file that no longer holds a key: the one loaded stays.
        write_atomically(both, b"not a key\n")
        b.proc.send_signal(signal.SIGHUP)

        def kept():
            with open(b.dir + ".log") as f:
                return "keeping the signing key loaded before" in f.read()
        ok("SIGHUP with a bad file: logged", wait_until(kept))
        ok("... and the key loaded before stays", admin_cert(
            b, A, "us-east-1")[1].strip() == pem2.strip())
        d3 = push(b, "given/app", "v3", seed="after-bad-hup")
        settled(c, "given/app", d3, "signing")
        res = verify_signature(b, A, "us-east-1", "given/app", d3, pem2)
        ok("... and still signs", len(res) == 1 and res[0][0],
           res and res[0][1])
    finally:
        b.stop()
