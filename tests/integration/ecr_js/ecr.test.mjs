// The ECR API driven by @aws-sdk/client-ecr (Smithy-based: it reads the
// X-Amzn-ErrorType header and needs epoch-number timestamps) against a real
// berthd from the build tree, including the SDK's paginators, the layer
// and image error cases, tags and policies, and signature verification
// (a second berthd with --credentials).  BERTHD and BLOBD name the binaries.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as ecr from "@aws-sdk/client-ecr";

const top = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const BERTHD = process.env.BERTHD || join(top, "build/daemon/berthd");
const BLOBD = process.env.BLOBD || join(top, "build/blobd/berth-blobd");

let proc, dir, endpoint, client, port;

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

function mkclient(accessKeyId = "AKIDEXAMPLE", region = "us-east-1",
  secretAccessKey = "secret", at = endpoint) {
  return new ecr.ECRClient({
    endpoint: at,
    region,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey },
  });
}

async function errorName(promise) {
  try {
    await promise;
  } catch (e) {
    return e.name;
  }
  return null;
}

// The exception a call raises (null when it succeeds), for its members.
async function caught(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  return null;
}

// Starts a berthd of its own (args added); resolves when it answers.
async function startBerthd(args) {
  const d = mkdtempSync(join(tmpdir(), "berth-js."));
  const p = await freePort();
  const child = spawn(BERTHD, ["--blobd", BLOBD, "--listen",
    `127.0.0.1:${p}`, "--data-dir", join(d, "data"), ...args],
  { stdio: "ignore" });
  const at = `http://127.0.0.1:${p}`;
  if (await answers(at))
    return { proc: child, dir: d, endpoint: at };
  child.kill("SIGKILL");
  throw new Error("berthd did not start");
}

// Whether berthd answers at `at` within 30 s (however loaded the machine).
async function answers(at) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    try {
      await fetch(at + "/v2/");
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

async function stopBerthd(b) {
  const exited = new Promise((r) => b.proc.once("exit", r));
  b.proc.kill("SIGTERM");
  await exited;
  rmSync(b.dir, { recursive: true, force: true });
}

function manifestOf(cd, cfg, ld, layer, annotations) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json",
      digest: cd, size: cfg.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: ld, size: layer.length }],
    annotations });
}

const sha = (b) => "sha256:" + createHash("sha256").update(b).digest("hex");

async function uploadLayer(repositoryName, data) {
  const { uploadId, partSize } = await client.send(
    new ecr.InitiateLayerUploadCommand({ repositoryName }));
  assert.equal(partSize, 10485760);
  await client.send(new ecr.UploadLayerPartCommand({
    repositoryName, uploadId, partFirstByte: 0,
    partLastByte: data.length - 1, layerPartBlob: data }));
  const done = await client.send(new ecr.CompleteLayerUploadCommand({
    repositoryName, uploadId, layerDigests: [sha(data)] }));
  assert.equal(done.layerDigest, sha(data));
  return sha(data);
}

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
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json",
        digest: cd, size: cfg.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar",
        digest: ld, size: layer.length }],
      annotations: { n: String(i) } });
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
  assert.equal(await errorName(client.send(new ecr.GetLifecyclePolicyCommand(
    { repositoryName: "js/app" }))), "UnknownOperationException");
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
