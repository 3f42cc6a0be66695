// The ECR API driven by @aws-sdk/client-ecr (Smithy-based: it reads the
// X-Amzn-ErrorType header and needs epoch-number timestamps) against a real
// berthd from the build tree, including the SDK's paginators.  BERTHD and
// BLOBD name the binaries.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
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

function mkclient(accessKeyId = "AKIDEXAMPLE", region = "us-east-1") {
  return new ecr.ECRClient({
    endpoint,
    region,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey: "secret" },
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
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(endpoint + "/v2/");
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
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
