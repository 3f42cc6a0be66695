"""Replication and signing that survive kill -9 of berthd and of
berth-blobd right after an acknowledged push.

Part of registry.py, which runs these tests on its berthd.
"""

import subprocess

from registry_it import (
    A, B, Berthd, OCI_MANIFEST, blobd_pid, images, oci_image, oci_put, ok,
    policy, settled)


def test_durability():
    """kill -9 right after an acknowledged push, made certain with gdb:
    berth-blobd stops at the append that follows the push's (the first
    replication or signing record) and is killed there, alone or with
    berthd.  What the push set in motion must complete after the restart."""
    b = Berthd()
    try:
        a = b.client()
        a.put_replication_configuration(replicationConfiguration={"rules": [
            {"destinations": [{"region": "sa-east-1", "registryId": A}]}]})
        a.put_signing_configuration(signingConfiguration={"rules": [
            {"signingProfileArn":
             "arn:aws:signer:us-east-1:%s:/signing-profiles/dur" % A}]})
        a.create_repository(repositoryName="dur/app")
        a2 = b.client(A, "sa-east-1")
        for victim in ("blobd", "berthd", "both"):
            d, manifest = oci_image(b, "dur/app", "base-" + victim, victim)
            settled(a, "dur/app", d, "signing")
            # Every image, the signatures too, replicated: nothing else
            # is left to append before the watched push.
            for _, digest in images(a, "dur/app"):
                settled(a, "dur/app", digest)
            pid = blobd_pid(b)
            ok("found berth-blobd", pid is not None)
            cmds = ["break metalog_append", "ignore 1 1", "echo READY\\n",
                    "continue"]
            if victim != "blobd":
                cmds.append("shell kill -9 %d" % b.proc.pid)
            if victim != "berthd":
                cmds.append("kill")
            else:
                # berthd alone dies; blobd follows when its socket closes.
                cmds.append("detach")
            g = subprocess.Popen(
                ["gdb", "-p", str(pid), "-batch", "-nx"] +
                [x for c in cmds for x in ("-ex", c)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            out = ""
            for line in g.stdout:
                out += line
                if "READY" in line:
                    break
            ok("tag pushed while blobd is watched", oci_put(
                b, "/v2/dur/app/manifests/" + victim, manifest,
                OCI_MANIFEST) == 201)
            out += g.communicate(timeout=60)[0]
            ok("blobd stopped at the next append (%s)" % victim,
               "Breakpoint 1," in out, out[-400:])
            if victim != "blobd":
                b.proc.wait()
                b.log.close()
                b.start()
            st = settled(a, "dur/app", d)
            ok("replication completes after kill -9 of %s" % victim,
               st and all(x["status"] == "COMPLETE" for x in st), st)
            ok("the replica has the tag pushed before kill -9 of %s" %
               victim, (victim, d) in (images(a2, "dur/app") or set()))
            st = settled(a, "dur/app", d, "signing")
            ok("signing completes after kill -9 of %s" % victim,
               st and st[0]["status"] == "COMPLETE", st)
        with open(b.dir + ".log") as f:
            ok("the work was resumed from the disk",
               "jobs to finish" in f.read())
        # Everything set survives a restart.
        a.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
        a.create_repository_creation_template(prefix="keep",
                                              appliedFor=["REPLICATION"])
        a.put_registry_policy(policyText=policy(B, ["ecr:ReplicateImage"]))
        b.stop()
        b.start()
        ok("setting kept", a.get_account_setting(name="BLOB_MOUNTING")[
            "value"] == "ENABLED")
        ok("template kept", len(a.describe_repository_creation_templates(
            prefixes=["keep"])["repositoryCreationTemplates"]) == 1)
        ok("policy kept", "ecr:ReplicateImage" in a.get_registry_policy()[
            "policyText"])
        ok("replication kept", a.describe_registry()[
            "replicationConfiguration"]["rules"][0]["destinations"][0][
            "region"] == "sa-east-1")
        ok("signing kept", a.get_signing_configuration()[
            "signingConfiguration"]["rules"][0]["signingProfileArn"].endswith(
            "/dur"))
    finally:
        b.stop()
