"""Repository creation templates: validation, pagination, templates applied
to repositories created by CreateRepository, by create on push (from
--create-on-push or a CREATE_ON_PUSH template, through /v2/ and the ECR
API, by skopeo and podman) and by replication.

Part of registry.py, which runs these tests on its berthd.
"""

import hashlib
import json

from berth_it import err
from registry_it import (
    A, C, oci_layout, ok, podman_push, push, skopeo_push)


# --- repository creation templates ------------------------------------------

def test_templates(b):
    c = b.client(C, "eu-central-1")
    t = c.create_repository_creation_template(
        prefix="team", description="team repos",
        appliedFor=["CREATE_ON_PUSH", "REPLICATION"],
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[
            {"filterType": "WILDCARD", "filter": "latest*"}],
        encryptionConfiguration={"encryptionType": "KMS"},
        resourceTags=[{"Key": "team", "Value": "a"}],
        customRoleArn="arn:aws:iam::%s:role/ecr-templates" % C)
    tpl = t["repositoryCreationTemplate"]
    ok("create returns it", t["registryId"] == C and tpl["prefix"] ==
       "team" and tpl["appliedFor"] == ["CREATE_ON_PUSH", "REPLICATION"] and
       tpl["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION" and
       "createdAt" in tpl and "updatedAt" in tpl, tpl)
    ok("duplicate", err(c.create_repository_creation_template, prefix="team",
                        appliedFor=["REPLICATION"]) ==
       "TemplateAlreadyExistsException")
    bad = [dict(prefix="Bad", appliedFor=["REPLICATION"]),
           dict(prefix="x", appliedFor=["SOMETIMES"]),
           dict(prefix="x", appliedFor=[]),
           dict(prefix="x", appliedFor=["REPLICATION"],
                imageTagMutability="MUTABLE",
                imageTagMutabilityExclusionFilters=[
                    {"filterType": "WILDCARD", "filter": "a"}]),
           dict(prefix="x", appliedFor=["REPLICATION"],
                imageTagMutability="MUTABLE_WITH_EXCLUSION"),
           dict(prefix="x", appliedFor=["REPLICATION"],
                encryptionConfiguration={"encryptionType": "AES256",
                                         "kmsKey": "arn:aws:kms:eu-central-1:"
                                         "333333333333:key/abc"}),
           dict(prefix="x", appliedFor=["REPLICATION"],
                repositoryPolicy="{not json"),
           dict(prefix="x", appliedFor=["REPLICATION"],
                lifecyclePolicy="{}"),
           dict(prefix="x", appliedFor=["REPLICATION"],
                resourceTags=[{"Key": "aws:x", "Value": "y"}]),
           dict(prefix="x", appliedFor=["REPLICATION"],
                customRoleArn="arn:aws:iam::%s:role/other" % A),
           dict(prefix="x", appliedFor=["REPLICATION"],
                description="d" * 257)]
    for kw in bad:
        e = err(c.create_repository_creation_template, **kw)
        ok("invalid template %s" % list(kw.items())[-1][0],
           e in ("InvalidParameterException", "ValidationException",
                 "InvalidTagParameterException", "ParamValidationError"), e)
    ok("ROOT", c.create_repository_creation_template(
        prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])[
        "repositoryCreationTemplate"]["prefix"] == "ROOT")
    for p in ["a1", "a2", "a3", "team/special"]:
        c.create_repository_creation_template(prefix=p,
                                              appliedFor=["REPLICATION"])
    pages = list(c.get_paginator(
        "describe_repository_creation_templates").paginate(
        PaginationConfig={"PageSize": 2}))
    got = [t["prefix"] for p in pages for t in p[
        "repositoryCreationTemplates"]]
    ok("paginated in prefix order", got == sorted(got) and len(got) == 6 and
       len(pages) == 3, got)
    ok("by prefix, unknown ones return nothing",
       [t["prefix"] for t in c.describe_repository_creation_templates(
           prefixes=["a2", "zz"])["repositoryCreationTemplates"]] == ["a2"])
    u = c.update_repository_creation_template(
        prefix="a1", imageTagMutability="IMMUTABLE")[
        "repositoryCreationTemplate"]
    ok("update changes what it names", u["imageTagMutability"] ==
       "IMMUTABLE" and u["appliedFor"] == ["REPLICATION"], u)
    ok("update missing", err(c.update_repository_creation_template,
                             prefix="zz", imageTagMutability="MUTABLE") ==
       "TemplateNotFoundException")
    ok("delete missing", err(c.delete_repository_creation_template,
                             prefix="zz") == "TemplateNotFoundException")
    ok("delete returns it", c.delete_repository_creation_template(
        prefix="a3")["repositoryCreationTemplate"]["prefix"] == "a3")
    ok("deleted", c.describe_repository_creation_templates(
        prefixes=["a3"])["repositoryCreationTemplates"] == [])
    ok("not applied to CreateRepository", c.create_repository(
        repositoryName="team/manual")["repository"][
        "imageTagMutability"] == "MUTABLE")
    # ECR assumes a '/' after every prefix: "slashed/" and "slashed" are one
    # template, stored and reported without the slash.
    t = c.create_repository_creation_template(
        prefix="slashed/", appliedFor=["CREATE_ON_PUSH"],
        imageTagMutability="IMMUTABLE")["repositoryCreationTemplate"]
    ok("a trailing slash is dropped", t["prefix"] == "slashed", t)
    ok("... so the prefix without it exists already", err(
        c.create_repository_creation_template, prefix="slashed",
        appliedFor=["REPLICATION"]) == "TemplateAlreadyExistsException")
    ok("... and the other way round", c.create_repository_creation_template(
        prefix="plain", appliedFor=["REPLICATION"]) and err(
        c.create_repository_creation_template, prefix="plain/",
        appliedFor=["REPLICATION"]) == "TemplateAlreadyExistsException")
    ok("described by either form", [
        [x["prefix"] for x in c.describe_repository_creation_templates(
            prefixes=[p])["repositoryCreationTemplates"]]
        for p in ("slashed", "slashed/")] == [["slashed"], ["slashed"]])
    ok("updated by either form", c.update_repository_creation_template(
        prefix="slashed", description="either")[
        "repositoryCreationTemplate"]["description"] == "either")
    c.initiate_layer_upload(repositoryName="slashed/app")
    ok("applied to the names under it", c.describe_repositories(
        repositoryNames=["slashed/app"])["repositories"][0][
        "imageTagMutability"] == "IMMUTABLE")
    ok("deleted by either form", c.delete_repository_creation_template(
        prefix="plain/")["repositoryCreationTemplate"]["prefix"] == "plain")


def test_create_on_push(b):
    c = b.client(A, "ap-south-1")
    good, why = skopeo_push(b, oci_layout("cop")[0], "nope/app", "v1", A,
                            "ap-south-1")
    ok("no template: push refused", not good and "NAME_UNKNOWN" in why or
       "not found" in why.lower() or "unknown" in why.lower(), why)
    c.create_repository_creation_template(
        prefix="team", appliedFor=["CREATE_ON_PUSH"],
        imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "owner", "Value": "team"}])
    c.create_repository_creation_template(
        prefix="team/special", appliedFor=["CREATE_ON_PUSH"],
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[
            {"filterType": "WILDCARD", "filter": "release-*"}])
    c.create_repository_creation_template(prefix="repl",
                                          appliedFor=["REPLICATION"])
    push(b, "team/app", "v1", A, "ap-south-1")
    repo = c.describe_repositories(repositoryNames=["team/app"])[
        "repositories"][0]
    ok("created on push from the template",
       repo["imageTagMutability"] == "IMMUTABLE", repo)
    ok("with the template's tags", c.list_tags_for_resource(
        resourceArn=repo["repositoryArn"])["tags"] ==
        [{"Key": "owner", "Value": "team"}])
    push(b, "team/special/x", "v1", A, "ap-south-1")
    ok("the longest prefix wins", c.describe_repositories(
        repositoryNames=["team/special/x"])["repositories"][0][
        "imageTagMutability"] == "MUTABLE_WITH_EXCLUSION")
    good, why = skopeo_push(b, oci_layout("cop2")[0], "teams/app", "v1", A,
                            "ap-south-1")
    ok("a prefix stands for itself and a slash", not good, why)
    good, why = skopeo_push(b, oci_layout("cop3")[0], "repl/app", "v1", A,
                            "ap-south-1")
    ok("only for the uses appliedFor names", not good, why)
    # Through the ECR API (boto3): InitiateLayerUpload, the first write of
    # a push, creates the repository; PutImage then completes the push.
    def api_upload(repo, data):
        up = c.initiate_layer_upload(repositoryName=repo)
        c.upload_layer_part(repositoryName=repo, uploadId=up["uploadId"],
                            partFirstByte=0, partLastByte=len(data) - 1,
                            layerPartBlob=data)
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        c.complete_layer_upload(repositoryName=repo, uploadId=up["uploadId"],
                                layerDigests=[d])
        return {"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": d, "size": len(data)}
    layer = api_upload("team/api", b"an API layer")
    config = api_upload("team/api", b"{}")
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": [layer]})
    put = c.put_image(repositoryName="team/api", imageTag="v1",
                      imageManifest=manifest)
    ok("ECR API push into a missing repository", put["image"]["imageId"][
        "imageTag"] == "v1", put)
    ok("InitiateLayerUpload created it from the template",
       c.describe_repositories(repositoryNames=["team/api"])[
           "repositories"][0]["imageTagMutability"] == "IMMUTABLE")
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": []})
    c.put_image(repositoryName="team/index", imageTag="v1",
                imageManifest=index)
    ok("PutImage creates it too", c.describe_repositories(
        repositoryNames=["team/index"])["repositories"][0][
        "imageTagMutability"] == "IMMUTABLE")
    ok("PutImage refused before the repository is created", err(
        c.put_image, repositoryName="team/bad", imageTag="v1",
        imageManifest="{not json") == "InvalidParameterException" and err(
        c.describe_repositories, repositoryNames=["team/bad"]) ==
        "RepositoryNotFoundException")
    # BatchCheckLayerAvailability only reads: AWS documents no creation by
    # it, so a covered but missing repository stays missing.
    ok("BatchCheckLayerAvailability does not create", err(
        c.batch_check_layer_availability, repositoryName="team/check",
        layerDigests=["sha256:" + "0" * 64]) ==
        "RepositoryNotFoundException" and err(
        c.describe_repositories, repositoryNames=["team/check"]) ==
        "RepositoryNotFoundException")
    ok("InitiateLayerUpload without a template", err(
        c.initiate_layer_upload, repositoryName="nope/api") ==
        "RepositoryNotFoundException")
    ok("PutImage without a template", err(
        c.put_image, repositoryName="nope/index", imageTag="v1",
        imageManifest=index) == "RepositoryNotFoundException")
    ok("a REPLICATION template does not create on push", err(
        c.initiate_layer_upload, repositoryName="repl/api") ==
        "RepositoryNotFoundException")
    # podman too, into a name only ROOT covers.
    c.create_repository_creation_template(prefix="ROOT",
                                          appliedFor=["CREATE_ON_PUSH"])
    ok("podman push creates", *podman_push(b, "anything/else", A,
                                           "ap-south-1"))
    ok("ROOT created it", c.describe_repositories(
        repositoryNames=["anything/else"])["repositories"][0][
        "imageTagMutability"] == "MUTABLE")
