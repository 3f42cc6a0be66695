// The lifecycle operations added after the first ones, driven by
// @aws-sdk/client-ecr against berthds of their own: pull time update
// exclusions (with --credentials naming each key's principal) and their
// effect on lastRecordedPullTime, and ListImageReferrers over artifacts
// pushed through the registry API.  BERTHD and BLOBD name the binaries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ecr from "@aws-sdk/client-ecr";
import { mkclient, errorName, startBerthd, stopBerthd, manifestOf,
  uploadLayer, sha } from "./harness.mjs";

const ACCOUNT = "111122223333";
const SCANNER = `arn:aws:iam::${ACCOUNT}:role/scanner`;

// Pushes one image by PutImage; resolves to its digest.
async function pushImage(client, repositoryName, name) {
  const cfg = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = Buffer.from("a layer\n");
  const cd = await uploadLayer(client, repositoryName, cfg);
  const ld = await uploadLayer(client, repositoryName, layer);
  const out = await client.send(new ecr.PutImageCommand({ repositoryName,
    imageManifest: manifestOf(cd, cfg, ld, layer, { name }) }));
  return out.image.imageId.imageDigest;
}

test("pull time update exclusions", async () => {
  const keys = mkdtempSync(join(tmpdir(), "berth-js-keys."));
  const creds = join(keys, "credentials");
  writeFileSync(creds, `AKIDSCANNER s1 ${SCANNER}\n` +
    `AKIDDEV s2 ${ACCOUNT} arn:aws:iam::${ACCOUNT}:user/dev\n`);
  const c = await startBerthd(["--credentials", creds]);
  try {
    const scanner = mkclient("AKIDSCANNER", "us-east-1", "s1", c.endpoint);
    const dev = mkclient("AKIDDEV", "us-east-1", "s2", c.endpoint);
    assert.equal(await errorName(dev.send(
      new ecr.RegisterPullTimeUpdateExclusionCommand({
        principalArn: `arn:aws:iam::${ACCOUNT}:root` }))),
    "ValidationException");
    const reg = await dev.send(new ecr.RegisterPullTimeUpdateExclusionCommand(
      { principalArn: SCANNER }));
    assert.equal(reg.principalArn, SCANNER);
    assert.ok(reg.createdAt instanceof Date);
    assert.equal(await errorName(dev.send(
      new ecr.RegisterPullTimeUpdateExclusionCommand(
        { principalArn: SCANNER }))), "ExclusionAlreadyExistsException");
    for (let i = 0; i < 4; i++)
      await dev.send(new ecr.RegisterPullTimeUpdateExclusionCommand(
        { principalArn: `arn:aws:iam::${ACCOUNT}:role/r${i}` }));
    // Pages of two, followed by hand (the SDK has no paginator for it).
    const all = [];
    let nextToken, pages = 0;
    do {
      const page = await dev.send(new ecr.ListPullTimeUpdateExclusionsCommand(
        { maxResults: 2, nextToken }));
      all.push(...page.pullTimeUpdateExclusions);
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    assert.equal(pages, 3);
    assert.deepEqual(all, [...all].sort());
    assert.equal(all.length, 5);
    for (let i = 0; i < 4; i++)
      await dev.send(new ecr.DeregisterPullTimeUpdateExclusionCommand(
        { principalArn: `arn:aws:iam::${ACCOUNT}:role/r${i}` }));
    assert.equal(await errorName(dev.send(
      new ecr.DeregisterPullTimeUpdateExclusionCommand(
        { principalArn: `arn:aws:iam::${ACCOUNT}:role/r0` }))),
    "ExclusionNotFoundException");

    // The scanner's pull leaves the pull time alone, the developer's not.
    const repositoryName = "pulls";
    await dev.send(new ecr.CreateRepositoryCommand({ repositoryName }));
    const imageDigest = await pushImage(dev, repositoryName, "one");
    const pulled = async () => (await dev.send(new ecr.DescribeImagesCommand(
      { repositoryName, imageIds: [{ imageDigest }] })))
      .imageDetails[0].lastRecordedPullTime;
    await scanner.send(new ecr.BatchGetImageCommand(
      { repositoryName, imageIds: [{ imageDigest }] }));
    assert.equal(await pulled(), undefined);
    await dev.send(new ecr.BatchGetImageCommand(
      { repositoryName, imageIds: [{ imageDigest }] }));
    assert.ok((await pulled()) instanceof Date);
  } finally {
    await stopBerthd(c);
    rmSync(keys, { recursive: true, force: true });
  }
});

// Pushes an artifact naming subject through /v2/ (a monolithic blob
// upload, then the manifest); resolves to its digest.
async function pushArtifact(at, repo, subject, artifactType, note) {
  const blob = Buffer.from(`${artifactType} ${note} of ${subject.digest}`);
  const start = await fetch(`${at}/v2/${repo}/blobs/uploads/`,
    { method: "POST" });
  const loc = new URL(start.headers.get("location"), at);
  loc.searchParams.set("digest", sha(blob));
  assert.equal((await fetch(loc, { method: "PUT", body: blob })).status, 201);
  const m = Buffer.from(JSON.stringify({ schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType,
    config: { mediaType: "application/vnd.oci.empty.v1+json",
      digest: sha(blob), size: blob.length },
    layers: [{ mediaType: "text/plain", digest: sha(blob),
      size: blob.length }], subject }));
  const put = await fetch(`${at}/v2/${repo}/manifests/${sha(m)}`, {
    method: "PUT", body: m,
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(put.status, 201);
  return sha(m);
}

test("ListImageReferrers", async () => {
  const b = await startBerthd([]);
  try {
    const client = mkclient("AKIDEXAMPLE", "us-east-1", "secret", b.endpoint);
    const repositoryName = "refs";
    await client.send(new ecr.CreateRepositoryCommand({ repositoryName }));
    const imageDigest = await pushImage(client, repositoryName, "app");
    const image = (await client.send(new ecr.BatchGetImageCommand({
      repositoryName, imageIds: [{ imageDigest }] }))).images[0];
    const subject = { mediaType: image.imageManifestMediaType,
      digest: imageDigest, size: Buffer.byteLength(image.imageManifest) };
    const digests = [];
    for (const t of ["application/vnd.example.sbom",
      "application/vnd.example.sig", "application/vnd.example.sbom"])
      digests.push(await pushArtifact(b.endpoint, repositoryName, subject, t,
        `#${digests.length}`));
    const list = (extra) => client.send(new ecr.ListImageReferrersCommand({
      repositoryName, subjectId: { imageDigest }, ...extra }));
    const all = await list({});
    assert.deepEqual(all.referrers.map((r) => r.digest), [...digests].sort());
    assert.ok(all.referrers.every((r) => r.artifactStatus === "ACTIVE" &&
      typeof r.size === "number"));
    const sigs = await list({ filter: {
      artifactTypes: ["application/vnd.example.sig"] } });
    assert.equal(sigs.referrers.length, 1);
    const seen = [];
    let nextToken;
    do {
      const page = await list({ maxResults: 1, nextToken });
      seen.push(...page.referrers.map((r) => r.digest));
      nextToken = page.nextToken;
    } while (nextToken);
    assert.deepEqual(seen, all.referrers.map((r) => r.digest));
    assert.equal(await errorName(client.send(
      new ecr.ListImageReferrersCommand({ repositoryName: "nope",
        subjectId: { imageDigest } }))), "RepositoryNotFoundException");
    assert.equal(await errorName(list({ maxResults: 51 })),
      "ValidationException");
  } finally {
    await stopBerthd(b);
  }
});
