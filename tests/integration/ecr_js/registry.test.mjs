// The registry-wide ECR operations driven by @aws-sdk/client-ecr against a
// real berthd: account settings, the registry policy, replication to
// another region and another account (with and without its policy) and
// its status, the repository creation templates with the SDK's paginator,
// create on push, and managed signing with its status.  Images are pushed
// through the OCI API with fetch.  BERTHD and BLOBD name the binaries.
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
const A = "111111111111";
const B = "222222222222";
const OCI = "application/vnd.oci.image.manifest.v1+json";

let proc, dir, endpoint;

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

function client(account, region = "us-east-1") {
  return new ecr.ECRClient({
    endpoint, region, maxAttempts: 1,
    credentials: { accessKeyId: account, secretAccessKey: "secret" },
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

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-js-registry."));
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  proc = spawn(BERTHD, ["--blobd", BLOBD, "--listen", `127.0.0.1:${port}`,
    "--data-dir", join(dir, "data")], { stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(endpoint + "/v2/");
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("berthd did not start");
});

after(() => {
  proc.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b) => "sha256:" + createHash("sha256").update(b).digest("hex");

// Pushes a one-layer image as account/region; resolves to its digest.
async function push(account, region, repo, tag, seed) {
  const auth = await client(account, region).send(
    new ecr.GetAuthorizationTokenCommand({}));
  const h = { Authorization: "Basic " +
    auth.authorizationData[0].authorizationToken };
  const layer = Buffer.from(`layer ${seed}`);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64",
    os: "linux", seed }));
  for (const blob of [layer, config]) {
    const r = await fetch(`${endpoint}/v2/${repo}/blobs/uploads/?digest=` +
      sha256(blob), { method: "POST", headers: h, body: blob });
    assert.equal(r.status, 201);
  }
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2,
    mediaType: OCI,
    config: { mediaType: "application/vnd.oci.image.config.v1+json",
      digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: sha256(layer), size: layer.length }] }));
  const r = await fetch(`${endpoint}/v2/${repo}/manifests/${tag}`, {
    method: "PUT", headers: { ...h, "Content-Type": OCI }, body: manifest });
  assert.equal(r.status, 201);
  return sha256(manifest);
}

// The statuses once none is IN_PROGRESS.
async function settled(c, repositoryName, imageDigest, signing = false) {
  let out = [];
  for (let i = 0; i < 400; i++) {
    out = signing
      ? (await c.send(new ecr.DescribeImageSigningStatusCommand({
        repositoryName, imageId: { imageDigest } }))).signingStatuses
      : (await c.send(new ecr.DescribeImageReplicationStatusCommand({
        repositoryName, imageId: { imageDigest } }))).replicationStatuses;
    if (out.length > 0 && out.every((s) => s.status !== "IN_PROGRESS"))
      break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return out;
}

test("account settings", async () => {
  const c = client(A);
  const got = await c.send(new ecr.GetAccountSettingCommand(
    { name: "REGISTRY_POLICY_SCOPE" }));
  assert.deepEqual([got.name, got.value], ["REGISTRY_POLICY_SCOPE", "V2"]);
  const put = await c.send(new ecr.PutAccountSettingCommand(
    { name: "REGISTRY_POLICY_SCOPE", value: "V1" }));
  assert.equal(put.value, "V1");
  assert.equal(await errorName(c.send(new ecr.PutAccountSettingCommand(
    { name: "NOPE", value: "x" }))), "InvalidParameterException");
  assert.equal(await errorName(c.send(new ecr.PutRegistryPolicyCommand({
    policyText: JSON.stringify({ Version: "2012-10-17", Statement: [{
      Effect: "Allow", Principal: { AWS: B }, Action: "ecr:PutImage" }] }),
  }))), "InvalidParameterException");
  await c.send(new ecr.PutAccountSettingCommand(
    { name: "REGISTRY_POLICY_SCOPE", value: "V2" }));
});

test("registry policy and replication", async () => {
  const a = client(A), b = client(B);
  assert.equal(await errorName(b.send(new ecr.GetRegistryPolicyCommand({}))),
    "RegistryPolicyNotFoundException");
  const policyText = JSON.stringify({ Version: "2012-10-17", Statement: [{
    Effect: "Allow", Principal: { AWS: `arn:aws:iam::${A}:root` },
    Action: ["ecr:ReplicateImage", "ecr:CreateRepository"],
    Resource: `arn:aws:ecr:us-east-1:${B}:repository/*` }] });
  const put = await b.send(new ecr.PutRegistryPolicyCommand({ policyText }));
  assert.equal(put.registryId, B);
  assert.equal((await b.send(new ecr.GetRegistryPolicyCommand({})))
    .policyText, policyText);
  assert.equal(await errorName(a.send(new ecr.PutReplicationConfigurationCommand({
    replicationConfiguration: { rules: [{ destinations: [
      { region: "us-east-1", registryId: A }] }] } }))),
  "InvalidParameterException");
  const rules = [{ destinations: [{ region: "ap-northeast-1", registryId: A },
    { region: "us-east-1", registryId: B }],
  repositoryFilters: [{ filter: "js", filterType: "PREFIX_MATCH" }] }];
  await a.send(new ecr.PutReplicationConfigurationCommand(
    { replicationConfiguration: { rules } }));
  const reg = await a.send(new ecr.DescribeRegistryCommand({}));
  assert.deepEqual(reg.replicationConfiguration.rules, rules);
  await a.send(new ecr.CreateRepositoryCommand({ repositoryName: "js/app" }));
  const d = await push(A, "us-east-1", "js/app", "v1", "one");
  const st = await settled(a, "js/app", d);
  assert.deepEqual(st.map((s) => [s.registryId, s.region, s.status]).sort(),
    [[A, "ap-northeast-1", "COMPLETE"], [B, "us-east-1", "COMPLETE"]]);
  const replica = await client(A, "ap-northeast-1").send(
    new ecr.ListImagesCommand({ repositoryName: "js/app" }));
  assert.deepEqual(replica.imageIds, [{ imageDigest: d, imageTag: "v1" }]);
  await b.send(new ecr.DeleteRegistryPolicyCommand({}));
  const d2 = await push(A, "us-east-1", "js/app", "v2", "two");
  const failed = (await settled(a, "js/app", d2)).find(
    (s) => s.registryId === B);
  assert.deepEqual([failed.status, failed.failureCode],
    ["FAILED", "ACCESS_DENIED"]);
});

test("repository creation templates", async () => {
  const c = client(A, "eu-north-1");
  const made = await c.send(new ecr.CreateRepositoryCreationTemplateCommand({
    prefix: "made", appliedFor: ["CREATE_ON_PUSH"],
    imageTagMutability: "IMMUTABLE", description: "by js" }));
  assert.equal(made.repositoryCreationTemplate.prefix, "made");
  assert.ok(made.repositoryCreationTemplate.createdAt instanceof Date);
  assert.equal(await errorName(c.send(
    new ecr.CreateRepositoryCreationTemplateCommand({ prefix: "made",
      appliedFor: ["REPLICATION"] }))), "TemplateAlreadyExistsException");
  assert.equal(await errorName(c.send(
    new ecr.DeleteRepositoryCreationTemplateCommand({ prefix: "none" }))),
  "TemplateNotFoundException");
  for (const prefix of ["t1", "t2", "t3"])
    await c.send(new ecr.CreateRepositoryCreationTemplateCommand({
      prefix, appliedFor: ["REPLICATION"] }));
  const seen = [];
  for await (const page of ecr.paginateDescribeRepositoryCreationTemplates(
    { client: c, pageSize: 2 }, {}))
    seen.push(...page.repositoryCreationTemplates.map((t) => t.prefix));
  assert.deepEqual(seen, ["made", "t1", "t2", "t3"]);
  const upd = await c.send(new ecr.UpdateRepositoryCreationTemplateCommand({
    prefix: "t1", imageTagMutability: "IMMUTABLE" }));
  assert.equal(upd.repositoryCreationTemplate.imageTagMutability,
    "IMMUTABLE");
  await push(A, "eu-north-1", "made/app", "v1", "made");
  const repo = await c.send(new ecr.DescribeRepositoriesCommand(
    { repositoryNames: ["made/app"] }));
  assert.equal(repo.repositories[0].imageTagMutability, "IMMUTABLE");
});

test("managed signing", async () => {
  const c = client(B, "us-west-1");
  assert.equal(await errorName(c.send(
    new ecr.GetSigningConfigurationCommand({}))),
  "SigningConfigurationNotFoundException");
  const signingProfileArn =
    `arn:aws:signer:us-west-1:${B}:/signing-profiles/js_profile`;
  await c.send(new ecr.PutSigningConfigurationCommand({
    signingConfiguration: { rules: [{ signingProfileArn }] } }));
  const got = await c.send(new ecr.GetSigningConfigurationCommand({}));
  assert.equal(got.signingConfiguration.rules[0].signingProfileArn,
    signingProfileArn);
  await c.send(new ecr.CreateRepositoryCommand({ repositoryName: "js/signed" }));
  const d = await push(B, "us-west-1", "js/signed", "v1", "signed");
  assert.deepEqual(await settled(c, "js/signed", d, true),
    [{ signingProfileArn, status: "COMPLETE" }]);
  const desc = await c.send(new ecr.DescribeImagesCommand(
    { repositoryName: "js/signed" }));
  const sig = desc.imageDetails.find((i) => i.imageDigest !== d);
  assert.equal(sig.subjectManifestDigest, d);
  const del = await c.send(new ecr.DeleteSigningConfigurationCommand({}));
  assert.equal(del.signingConfiguration.rules.length, 1);
});
