// The ECR API driven by @aws-sdk/client-ecr (Smithy-based: it reads the
// X-Amzn-ErrorType header and needs epoch-number timestamps) against a real
// berthd from the build tree, including the SDK's paginators, the layer
// and image error cases, tags and policies, lifecycle policies with the
// preview waiter and paginator, signature verification (a second
// berthd with --credentials), and the fakes' PutImage example with and
// without --lenient-images.  BERTHD and BLOBD name the binaries.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ecr from "@aws-sdk/client-ecr";
import * as h from "./harness.mjs";
import { BERTHD, BLOBD, freePort, errorName, caught, answers, startBerthd,
  stopBerthd, manifestOf, sha } from "./harness.mjs";

let proc, dir, endpoint, client, port;

// A client of the berthd every test shares (the harness's for others).
function mkclient(accessKeyId, region, secretAccessKey, at = endpoint) {
  return h.mkclient(accessKeyId, region, secretAccessKey, at);
}

const uploadLayer = (repositoryName, data) =>
  h.uploadLayer(client, repositoryName, data);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-js."));
  port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  proc = spawn(BERTHD, ["--blobd", BLOBD, "--listen", `127.0.0.1:${port}`,
    "--data-dir", join(dir, "data")], { stdio: "ignore" });
  if (!(await answers(endpoint)))
    throw new Error("berthd did not start");
  client = mkclient();
});

after(async () => {
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
});

test("repositories and their paginator", async () => {
  const { repository } = await client.send(new ecr.CreateRepositoryCommand({
    repositoryName: "js/app",
    imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
    imageTagMutabilityExclusionFilters: [
      { filterType: "WILDCARD", filter: "latest" }],
    tags: [{ Key: "k", Value: "v" }] }));
  assert.equal(repository.repositoryArn,
    "arn:aws:ecr:us-east-1:000000000000:repository/js/app");
  assert.equal(repository.repositoryUri, `127.0.0.1:${port}/js/app`);
  assert.ok(repository.createdAt instanceof Date);
  assert.ok(Math.abs(repository.createdAt - Date.now()) < 60000);
  assert.deepEqual(repository.imageTagMutabilityExclusionFilters,
    [{ filterType: "WILDCARD", filter: "latest" }]);
  assert.equal(await errorName(client.send(new ecr.CreateRepositoryCommand(
    { repositoryName: "js/app" }))), "RepositoryAlreadyExistsException");
  assert.equal(await errorName(client.send(new ecr.CreateRepositoryCommand(
    { repositoryName: "JS" }))), "InvalidParameterException");
  for (let i = 0; i < 12; i++)
    await client.send(new ecr.CreateRepositoryCommand({
      repositoryName: `js/page${String(i).padStart(2, "0")}` }));
  const names = [];
  let pages = 0;
  for await (const page of ecr.paginateDescribeRepositories(
    { client, pageSize: 5 }, {})) {
    pages++;
    names.push(...page.repositories.map((r) => r.repositoryName));
  }
  assert.equal(names.length, 13);
  assert.equal(pages, 3);
  assert.deepEqual(names, [...names].sort());
  assert.equal(await errorName(client.send(new ecr.DescribeRepositoriesCommand(
    { repositoryNames: ["nope"] }))), "RepositoryNotFoundException");
  assert.equal(await errorName(client.send(new ecr.DescribeRepositoriesCommand(
    { nextToken: "bm90IGEgdG9rZW4=" }))), "InvalidParameterException");
});

test("layers, images and their paginators", async () => {
  const repositoryName = "js/img";
  await client.send(new ecr.CreateRepositoryCommand({ repositoryName }));
  const cfg = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = Buffer.alloc(5000, 7);
  const cd = await uploadLayer(repositoryName, cfg);
  const ld = await uploadLayer(repositoryName, layer);
  const digests = [];
  for (let i = 0; i < 5; i++) {
    const manifest = manifestOf(cd, cfg, ld, layer, { n: String(i) });
    const { image } = await client.send(new ecr.PutImageCommand({
      repositoryName, imageManifest: manifest, imageTag: `t${i}` }));
    assert.equal(image.imageId.imageDigest, sha(manifest));
    digests.push(image.imageId.imageDigest);
    if (i === 0)
      assert.equal(await errorName(client.send(new ecr.PutImageCommand({
        repositoryName, imageManifest: manifest, imageTag: "t0" }))),
      "ImageAlreadyExistsException");
  }
  const rows = [];
  for await (const page of ecr.paginateListImages(
    { client, pageSize: 2 }, { repositoryName }))
    rows.push(...page.imageIds);
  assert.equal(rows.length, 5);
  const details = [];
  for await (const page of ecr.paginateDescribeImages(
    { client, pageSize: 2 }, { repositoryName }))
    details.push(...page.imageDetails);
  assert.equal(details.length, 5);
  assert.ok(details[0].imagePushedAt instanceof Date);
  assert.equal(details[0].imageSizeInBytes, 5000);
  const got = await client.send(new ecr.BatchGetImageCommand({
    repositoryName, imageIds: [{ imageTag: "t1" }, { imageTag: "nope" }] }));
  assert.equal(got.images[0].imageId.imageDigest, digests[1]);
  assert.equal(got.failures[0].failureCode, "ImageNotFound");
  assert.equal(await errorName(client.send(new ecr.DescribeImagesCommand({
    repositoryName, imageIds: [{ imageTag: "nope" }] }))),
  "ImageNotFoundException");
  const part = await errorName(client.send(new ecr.UploadLayerPartCommand({
    repositoryName, uploadId: "0f3e4d5c-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
    partFirstByte: 0, partLastByte: 0, layerPartBlob: Buffer.from("x") })));
  assert.equal(part, "UploadNotFoundException");
  const del = await client.send(new ecr.BatchDeleteImageCommand({
    repositoryName, imageIds: [{ imageDigest: digests[4] }] }));
  assert.deepEqual(del.imageIds, [{ imageDigest: digests[4],
    imageTag: "t4" }]);
  assert.equal(await errorName(client.send(new ecr.DeleteRepositoryCommand(
    { repositoryName }))), "RepositoryNotEmptyException");
  await client.send(new ecr.DeleteRepositoryCommand({ repositoryName,
    force: true }));
});

test("auth token, tags, policies, registry, errors", async () => {
  const { authorizationData } = await client.send(
    new ecr.GetAuthorizationTokenCommand({}));
  const token = Buffer.from(authorizationData[0].authorizationToken,
    "base64").toString();
  assert.ok(token.startsWith("AWS:"));
  assert.ok(Math.abs(authorizationData[0].expiresAt - Date.now() -
    12 * 3600 * 1000) < 120000);
  const r = await fetch(endpoint + "/v2/", { headers: {
    Authorization: "Basic " + authorizationData[0].authorizationToken } });
  assert.equal(r.status, 200);
  const resourceArn = "arn:aws:ecr:us-east-1:000000000000:repository/js/app";
  await client.send(new ecr.TagResourceCommand({ resourceArn,
    tags: [{ Key: "a", Value: "b" }] }));
  const { tags } = await client.send(new ecr.ListTagsForResourceCommand(
    { resourceArn }));
  assert.deepEqual(tags, [{ Key: "k", Value: "v" }, { Key: "a", Value: "b" }]);
  assert.equal(await errorName(client.send(new ecr.TagResourceCommand({
    resourceArn, tags: [{ Key: "aws:no", Value: "b" }] }))),
  "InvalidTagParameterException");
  assert.equal(await errorName(client.send(new ecr.GetRepositoryPolicyCommand(
    { repositoryName: "js/app" }))), "RepositoryPolicyNotFoundException");
  const policyText = JSON.stringify({ Version: "2012-10-17", Statement: [{
    Effect: "Allow", Principal: "*", Action: "ecr:*" }] });
  const set = await client.send(new ecr.SetRepositoryPolicyCommand({
    repositoryName: "js/app", policyText }));
  assert.equal(set.policyText, policyText);
  const reg = await client.send(new ecr.DescribeRegistryCommand({}));
  assert.equal(reg.registryId, "000000000000");
  // A target the model does not have (a command whose X-Amz-Target is
  // rewritten before signing): UnknownOperationException, as AWS answers.
  const unknown = mkclient();
  unknown.middlewareStack.add((next) => (args) => {
    args.request.headers["x-amz-target"] =
      "AmazonEC2ContainerRegistry_V20150921.BerthNoSuchOperation";
    return next(args);
  }, { step: "build" });
  const e = await caught(unknown.send(new ecr.DescribeRegistryCommand({})));
  assert.equal(e?.name, "UnknownOperationException");
  assert.equal(e.$metadata.httpStatusCode, 400);
  const other = mkclient("444444444444", "ap-south-1");
  const o = await other.send(new ecr.CreateRepositoryCommand(
    { repositoryName: "js/app" }));
  assert.equal(o.repository.repositoryArn,
    "arn:aws:ecr:ap-south-1:444444444444:repository/js/app");
});

test("layer uploads: errors, availability, download URLs", async () => {
  const repositoryName = "js/layers";
  await client.send(new ecr.CreateRepositoryCommand({ repositoryName }));
  const data = Buffer.from("0123456789abcdefghijABCDEFGHIJ");
  const { uploadId } = await client.send(
    new ecr.InitiateLayerUploadCommand({ repositoryName }));
  const part = await client.send(new ecr.UploadLayerPartCommand({
    repositoryName, uploadId, partFirstByte: 0, partLastByte: 9,
    layerPartBlob: data.subarray(0, 10) }));
  assert.equal(part.lastByteReceived, 9);
  assert.equal(part.uploadId, uploadId);
  assert.equal(part.registryId, "000000000000");
  const gap = await caught(client.send(new ecr.UploadLayerPartCommand({
    repositoryName, uploadId, partFirstByte: 20, partLastByte: 29,
    layerPartBlob: data.subarray(20) })));
  assert.equal(gap?.name, "InvalidLayerPartException");
  assert.equal(gap.lastValidByteReceived, 9);
  assert.equal(gap.uploadId, uploadId);
  assert.equal(gap.repositoryName, repositoryName);
  assert.equal(gap.$metadata.httpStatusCode, 400);
  assert.equal(await errorName(client.send(new ecr.UploadLayerPartCommand({
    repositoryName, uploadId, partFirstByte: 10, partLastByte: 14,
    layerPartBlob: data.subarray(10, 20) }))), "InvalidLayerPartException");
  await client.send(new ecr.UploadLayerPartCommand({
    repositoryName, uploadId, partFirstByte: 10, partLastByte: 29,
    layerPartBlob: data.subarray(10) }));
  assert.equal(await errorName(client.send(new ecr.CompleteLayerUploadCommand(
    { repositoryName, uploadId, layerDigests: [sha("other")] }))),
  "InvalidLayerException");
  const done = await client.send(new ecr.CompleteLayerUploadCommand({
    repositoryName, uploadId, layerDigests: [sha(data)] }));
  assert.equal(done.layerDigest, sha(data));
  const again = await client.send(
    new ecr.InitiateLayerUploadCommand({ repositoryName }));
  await client.send(new ecr.UploadLayerPartCommand({
    repositoryName, uploadId: again.uploadId, partFirstByte: 0,
    partLastByte: data.length - 1, layerPartBlob: data }));
  assert.equal(await errorName(client.send(new ecr.CompleteLayerUploadCommand(
    { repositoryName, uploadId: again.uploadId, layerDigests: [sha(data)] }))),
  "LayerAlreadyExistsException");
  const empty = await client.send(
    new ecr.InitiateLayerUploadCommand({ repositoryName }));
  assert.equal(await errorName(client.send(new ecr.CompleteLayerUploadCommand(
    { repositoryName, uploadId: empty.uploadId, layerDigests: [sha("")] }))),
  "EmptyUploadException");

  const chk = await client.send(new ecr.BatchCheckLayerAvailabilityCommand({
    repositoryName, layerDigests: [sha(data), sha("missing"), "sha256:zz"] }));
  assert.deepEqual(chk.layers.map((l) => [l.layerDigest,
    l.layerAvailability]), [[sha(data), "AVAILABLE"],
    [sha("missing"), "UNAVAILABLE"]]);
  assert.equal(chk.layers[0].layerSize, data.length);
  assert.deepEqual(chk.failures.map((f) => [f.layerDigest, f.failureCode]),
    [["sha256:zz", "InvalidLayerDigest"]]);
  assert.equal(await errorName(client.send(
    new ecr.GetDownloadUrlForLayerCommand({ repositoryName,
      layerDigest: sha(data) }))), "LayerInaccessibleException");
  assert.equal(await errorName(client.send(
    new ecr.GetDownloadUrlForLayerCommand({ repositoryName,
      layerDigest: sha("missing") }))), "LayersNotFoundException");
});

test("images: put errors, batch failures, download URL", async () => {
  const repositoryName = "js/images";
  await client.send(new ecr.CreateRepositoryCommand({ repositoryName }));
  const mut = await client.send(new ecr.PutImageTagMutabilityCommand({
    repositoryName, imageTagMutability: "IMMUTABLE" }));
  assert.deepEqual([mut.repositoryName, mut.registryId,
    mut.imageTagMutability], [repositoryName, "000000000000", "IMMUTABLE"]);
  const scan = await client.send(new ecr.PutImageScanningConfigurationCommand({
    repositoryName, imageScanningConfiguration: { scanOnPush: true } }));
  assert.equal(scan.repositoryName, repositoryName);
  assert.deepEqual(scan.imageScanningConfiguration, { scanOnPush: true });
  const { repositories } = await client.send(
    new ecr.DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
  assert.equal(repositories[0].imageTagMutability, "IMMUTABLE");
  assert.deepEqual(repositories[0].imageScanningConfiguration,
    { scanOnPush: true });

  const cfg = Buffer.from('{"architecture":"arm64","os":"linux"}');
  const layer = Buffer.alloc(7000, 3);
  const cd = await uploadLayer(repositoryName, cfg);
  const ld = await uploadLayer(repositoryName, layer);
  const a = manifestOf(cd, cfg, ld, layer, { n: "a" });
  const b = manifestOf(cd, cfg, ld, layer, { n: "b" });
  await client.send(new ecr.PutImageCommand({ repositoryName,
    imageManifest: a, imageTag: "v1" }));
  assert.equal(await errorName(client.send(new ecr.PutImageCommand({
    repositoryName, imageManifest: b, imageTag: "v1" }))),
  "ImageTagAlreadyExistsException");
  assert.equal(await errorName(client.send(new ecr.PutImageCommand({
    repositoryName, imageManifest: b, imageTag: "v2",
    imageDigest: sha(a) }))), "ImageDigestDoesNotMatchException");
  const missing = manifestOf(cd, cfg, sha("no such layer"), layer, {});
  assert.equal(await errorName(client.send(new ecr.PutImageCommand({
    repositoryName, imageManifest: missing, imageTag: "v3" }))),
  "LayersNotFoundException");
  const index = (digest) => JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest, size: a.length,
      platform: { architecture: "arm64", os: "linux" } }] });
  assert.equal(await errorName(client.send(new ecr.PutImageCommand({
    repositoryName, imageManifest: index(sha("no such image")),
    imageTag: "idx" }))), "ReferencedImagesNotFoundException");
  const put = await client.send(new ecr.PutImageCommand({ repositoryName,
    imageManifest: b, imageTag: "v2", imageDigest: sha(b) }));
  assert.equal(put.image.imageId.imageDigest, sha(b));
  const idx = await client.send(new ecr.PutImageCommand({ repositoryName,
    imageManifest: index(sha(a)), imageTag: "idx" }));
  assert.equal(idx.image.imageManifestMediaType,
    "application/vnd.oci.image.index.v1+json");

  const got = await client.send(new ecr.BatchGetImageCommand({
    repositoryName, imageIds: [{ imageTag: "v1", imageDigest: sha(b) },
      { imageTag: "v2", imageDigest: sha(b) }] }));
  assert.deepEqual(got.images.map((i) => i.imageId),
    [{ imageTag: "v2", imageDigest: sha(b) }]);
  assert.deepEqual(got.failures.map((f) => [f.imageId, f.failureCode]),
    [[{ imageTag: "v1", imageDigest: sha(b) }, "ImageTagDoesNotMatchDigest"]]);
  const del = await client.send(new ecr.BatchDeleteImageCommand({
    repositoryName, imageIds: [{ imageTag: "v1", imageDigest: sha(b) },
      { imageDigest: "sha256:zz" }] }));
  assert.deepEqual(del.imageIds, []);
  assert.deepEqual(del.failures.map((f) => f.failureCode).sort(),
    ["ImageTagDoesNotMatchDigest", "InvalidImageDigest"]);
  const { imageIds } = await client.send(new ecr.ListImagesCommand(
    { repositoryName }));
  assert.deepEqual(imageIds.map((i) => i.imageTag).sort(),
    ["idx", "v1", "v2"]);

  const url = await client.send(new ecr.GetDownloadUrlForLayerCommand({
    repositoryName, layerDigest: ld }));
  assert.equal(url.layerDigest, ld);
  assert.equal(new URL(url.downloadUrl).pathname,
    `/v2/${repositoryName}/blobs/${ld}`);
  const blob = await fetch(url.downloadUrl);
  assert.equal(blob.status, 200);
  assert.equal(sha(Buffer.from(await blob.arrayBuffer())), ld);
});

test("tags and policies: untag, limits, get and delete", async () => {
  const repositoryName = "js/policy";
  const { repository } = await client.send(new ecr.CreateRepositoryCommand({
    repositoryName, tags: [{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }] }));
  const resourceArn = repository.repositoryArn;
  await client.send(new ecr.UntagResourceCommand({ resourceArn,
    tagKeys: ["a", "nope"] }));
  let { tags } = await client.send(new ecr.ListTagsForResourceCommand(
    { resourceArn }));
  assert.deepEqual(tags, [{ Key: "b", Value: "2" }]);
  const more = Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`,
    Value: "v" }));
  await client.send(new ecr.TagResourceCommand({ resourceArn, tags: more }));
  assert.equal(await errorName(client.send(new ecr.TagResourceCommand({
    resourceArn, tags: [{ Key: "one", Value: "more" }] }))),
  "TooManyTagsException");
  ({ tags } = await client.send(new ecr.ListTagsForResourceCommand(
    { resourceArn })));
  assert.equal(tags.length, 50);
  assert.ok(!tags.some((t) => t.Key === "one"));
  assert.equal(await errorName(client.send(new ecr.CreateRepositoryCommand({
    repositoryName: "js/toomany", tags: [...more, { Key: "x", Value: "1" },
      { Key: "y", Value: "2" }] }))), "TooManyTagsException");

  const policyText = JSON.stringify({ Version: "2012-10-17", Statement: [{
    Sid: "pull", Effect: "Allow", Principal: { AWS: "*" },
    Action: ["ecr:BatchGetImage"] }] });
  for (const bad of ["nope", "{}", JSON.stringify({ Statement: [{
    Effect: "Maybe", Principal: "*", Action: "ecr:*" }] })])
    assert.equal(await errorName(client.send(new ecr.SetRepositoryPolicyCommand(
      { repositoryName, policyText: bad }))), "InvalidParameterException",
    bad);
  assert.equal(await errorName(client.send(new ecr.GetRepositoryPolicyCommand(
    { repositoryName }))), "RepositoryPolicyNotFoundException");
  await client.send(new ecr.SetRepositoryPolicyCommand({ repositoryName,
    policyText }));
  const got = await client.send(new ecr.GetRepositoryPolicyCommand(
    { repositoryName }));
  assert.deepEqual([got.repositoryName, got.registryId, got.policyText],
    [repositoryName, "000000000000", policyText]);
  const gone = await client.send(new ecr.DeleteRepositoryPolicyCommand(
    { repositoryName }));
  assert.deepEqual([gone.repositoryName, gone.registryId, gone.policyText],
    [repositoryName, "000000000000", policyText]);
  assert.equal(await errorName(client.send(new ecr.GetRepositoryPolicyCommand(
    { repositoryName }))), "RepositoryPolicyNotFoundException");
  assert.equal(await errorName(client.send(
    new ecr.DeleteRepositoryPolicyCommand({ repositoryName }))),
  "RepositoryPolicyNotFoundException");
});

test("signature verification with --credentials", async () => {
  const d = mkdtempSync(join(tmpdir(), "berth-js-creds."));
  const creds = join(d, "credentials");
  writeFileSync(creds, "# test keys\nAKIDGOOD goodsecret\n" +
    "AKIDACCT acctsecret 333333333333\n");
  const b = await startBerthd(["--credentials", creds]);
  try {
    const good = mkclient("AKIDGOOD", "us-east-1", "goodsecret", b.endpoint);
    const r = await good.send(new ecr.DescribeRepositoriesCommand({}));
    assert.deepEqual(r.repositories, []);
    const acct = mkclient("AKIDACCT", "us-east-1", "acctsecret", b.endpoint);
    const made = await acct.send(new ecr.CreateRepositoryCommand({
      repositoryName: "js/signed" }));
    assert.equal(made.repository.registryId, "333333333333");
    const bad = mkclient("AKIDGOOD", "us-east-1", "badsecret", b.endpoint);
    const e = await caught(bad.send(new ecr.DescribeRepositoriesCommand({})));
    assert.equal(e?.name, "InvalidSignatureException");
    assert.match(e.message, /^The request signature we calculated does not match/);
    assert.equal(await errorName(bad.send(new ecr.CreateRepositoryCommand({
      repositoryName: "js/refused" }))), "InvalidSignatureException");
    const nobody = mkclient("AKIDNOBODY", "us-east-1", "goodsecret",
      b.endpoint);
    const u = await caught(nobody.send(new ecr.DescribeRepositoriesCommand({})));
    assert.equal(u?.name, "UnrecognizedClientException");
    assert.match(u.message, /security token included in the request is invalid/);
    assert.deepEqual((await good.send(new ecr.DescribeRepositoriesCommand({})))
      .repositories, []);
  } finally {
    await stopBerthd(b);
    rmSync(d, { recursive: true, force: true });
  }
});

test("lifecycle: policy, preview waiter and paginator, run, archive",
  async () => {
    const repositoryName = "js/life";
    await client.send(new ecr.CreateRepositoryCommand({ repositoryName }));
    const cfg = Buffer.from('{"architecture":"arm64","os":"linux"}');
    const layer = Buffer.alloc(3000, 9);
    const cd = await uploadLayer(repositoryName, cfg);
    const ld = await uploadLayer(repositoryName, layer);
    const admin = async (path, body) => {
      const r = await fetch(`${endpoint}/_berth/${path}`, { method: "POST",
        body: body === undefined ? undefined : JSON.stringify(body) });
      assert.equal(r.status, 200);
      return r.json();
    };
    const digests = [];
    for (let i = 0; i < 7; i++) {
      const { image } = await client.send(new ecr.PutImageCommand({
        repositoryName, imageTag: `build-${i}`,
        imageManifest: JSON.stringify({ schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json",
            digest: cd, size: cfg.length },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar",
            digest: ld, size: layer.length }],
          annotations: { n: String(i) } }) }));
      digests.push(image.imageId.imageDigest);
      await admin("clock", { advance_seconds: 3600 });
    }
    const lifecyclePolicyText = JSON.stringify({ rules: [
      { rulePriority: 1, selection: { tagStatus: "tagged",
        tagPrefixList: ["build-"], countType: "imageCountMoreThan",
        countNumber: 2 }, action: { type: "expire" } }] });
    assert.equal(await errorName(client.send(
      new ecr.GetLifecyclePolicyCommand({ repositoryName }))),
    "LifecyclePolicyNotFoundException");
    assert.equal(await errorName(client.send(
      new ecr.PutLifecyclePolicyCommand({ repositoryName,
        lifecyclePolicyText: '{"rules":"no"}' + " ".repeat(90) }))),
    "InvalidParameterException");
    await client.send(new ecr.PutLifecyclePolicyCommand(
      { repositoryName, lifecyclePolicyText }));
    await client.send(new ecr.StartLifecyclePolicyPreviewCommand(
      { repositoryName }));
    const w = await ecr.waitUntilLifecyclePolicyPreviewComplete(
      { client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
      { repositoryName });
    assert.equal(w.state, "SUCCESS");
    const previewed = [];
    let pages = 0;
    for await (const page of ecr.paginateGetLifecyclePolicyPreview(
      { client, pageSize: 2 }, { repositoryName })) {
      pages++;
      previewed.push(...page.previewResults.map((x) => x.imageDigest));
      assert.equal(page.summary.expiringImageTotalCount, 5);
    }
    assert.equal(pages, 3);
    assert.deepEqual(previewed.sort(), digests.slice(0, 5).sort());
    const run = await admin("lifecycle/run?repository=js/life");
    assert.equal(run.expired, 5);
    const left = await client.send(new ecr.DescribeImagesCommand(
      { repositoryName }));
    assert.deepEqual(left.imageDetails.map((d) => d.imageDigest).sort(),
      digests.slice(5).sort());
    const got = await client.send(new ecr.GetLifecyclePolicyCommand(
      { repositoryName }));
    assert.ok(got.lastEvaluatedAt instanceof Date);
    const arc = await client.send(new ecr.UpdateImageStorageClassCommand({
      repositoryName, imageId: { imageTag: "build-5" },
      targetStorageClass: "ARCHIVE" }));
    assert.equal(arc.imageStatus, "ARCHIVED");
    const archived = await client.send(new ecr.ListImagesCommand(
      { repositoryName, filter: { imageStatus: "ARCHIVED" } }));
    assert.deepEqual(archived.imageIds.map((x) => x.imageTag), ["build-5"]);
    await admin("clock", { reset: true });
  });

// The in-process fakes' own example.  berth refuses it as ECR does, and
// accepts it with --lenient-images: the digest of the exact bytes, the media
// type a fake assumes, and AWS's answers for the rest.
test("the fakes' PutImage example: refused, and kept with --lenient-images",
  async () => {
    const example = { repositoryName: "my-app",
      imageManifest: '{"schemaVersion":2}', imageTag: "v1" };
    await client.send(new ecr.CreateRepositoryCommand(
      { repositoryName: "my-app" }));
    const e = await caught(client.send(new ecr.PutImageCommand(example)));
    assert.equal(e?.name, "InvalidParameterException");
    const b = await startBerthd(["--lenient-images"]);
    try {
      const lenient = mkclient("AKIDEXAMPLE", "us-east-1", "secret",
        b.endpoint);
      await lenient.send(new ecr.CreateRepositoryCommand(
        { repositoryName: "my-app" }));
      const { image } = await lenient.send(new ecr.PutImageCommand(example));
      assert.deepEqual(image.imageId, { imageTag: "v1",
        imageDigest: sha(example.imageManifest) });
      assert.equal(image.imageManifest, example.imageManifest);
      assert.equal(image.imageManifestMediaType,
        "application/vnd.docker.distribution.manifest.v2+json");
      const got = await lenient.send(new ecr.BatchGetImageCommand({
        repositoryName: "my-app", imageIds: [{ imageTag: "v1" }] }));
      assert.deepEqual(got.images.map((i) => i.imageManifest),
        [example.imageManifest]);
      assert.equal(await errorName(lenient.send(
        new ecr.PutImageCommand(example))), "ImageAlreadyExistsException");
    } finally {
      await stopBerthd(b);
    }
  });
