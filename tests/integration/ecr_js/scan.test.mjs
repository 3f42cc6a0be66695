// Image scanning driven by @aws-sdk/client-ecr: an image built here (an
// Alpine os-release and apk database in a gzip tar layer, written by a
// small ustar writer), an OSV advisory written here for --vuln-db, then
// StartImageScan, the SDK's waitUntilImageScanComplete, the exact
// findings, the SDK's paginator, and the errors the SDK turns into its
// exception classes.  BERTHD, BLOBD and SCAND name the binaries.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as ecr from "@aws-sdk/client-ecr";
import { startBerthd, stopBerthd, mkclient, uploadLayer, sha }
  from "./harness.mjs";

const top = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const SCAND = process.env.SCAND || join(top, "build/daemon/berth-scand");

let b, db, client;

// One ustar archive of regular files: [path, Buffer].
function tar(files) {
  const parts = [];
  for (const [path, data] of files) {
    const h = Buffer.alloc(512);
    h.write(path, 0);
    h.write("0000644\0", 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
    h.write("00000000000\0", 136);
    h.write("        ", 148);
    h.write("0", 156);
    h.write("ustar\0", 257);
    h.write("00", 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const APK = `P:musl
V:1.2.4_git20230717-r4
A:x86_64
o:musl

P:libcrypto3
V:3.1.4-r0
A:x86_64
o:openssl

P:libssl3
V:3.1.4-r0
A:x86_64
o:openssl

`;

const upload = (repositoryName, data) =>
  uploadLayer(client, repositoryName, data);

async function pushImage(repositoryName, imageTag) {
  const layer = gzipSync(tar([
    ["etc/os-release", Buffer.from("ID=alpine\nVERSION_ID=3.19.1\n")],
    ["lib/apk/db/installed", Buffer.from(APK)]]));
  const cfg = Buffer.from(JSON.stringify({ architecture: "amd64",
    os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json",
      digest: await upload(repositoryName, cfg), size: cfg.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: await upload(repositoryName, layer), size: layer.length }] });
  await client.send(new ecr.PutImageCommand({ repositoryName, imageTag,
    imageManifest: manifest }));
  return sha(Buffer.from(manifest));
}

before(async () => {
  db = mkdtempSync(join(tmpdir(), "berth-js-osv."));
  writeFileSync(join(db, "ALPINE-CVE-2023-5678.json"), JSON.stringify({
    schema_version: "1.6.0", id: "ALPINE-CVE-2023-5678",
    aliases: ["CVE-2023-5678"], modified: "2026-01-15T08:00:00Z",
    details: "Excessive time spent in DH checks.",
    references: [{ type: "ADVISORY",
      url: "https://security.alpinelinux.org/vuln/CVE-2023-5678" }],
    affected: [{ package: { ecosystem: "Alpine:v3.19", name: "openssl" },
      ranges: [{ type: "ECOSYSTEM",
        events: [{ introduced: "0" }, { fixed: "3.1.4-r1" }] }] }],
    database_specific: { severity: "medium" } }));
  b = await startBerthd(["--scand", SCAND, "--vuln-db", db]);
  // Up once the health says the scanner is.
  const deadline = Date.now() + 60000;
  for (;;) {
    try {
      const h = await (await fetch(b.endpoint + "/_berth/health")).json();
      if (h.scanner === "up")
        break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline)
      throw new Error("berthd did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  client = mkclient(undefined, undefined, undefined, b.endpoint);
});

after(async () => {
  await stopBerthd(b);
  rmSync(db, { recursive: true, force: true });
});

test("StartImageScan, the waiter and the exact findings", async () => {
  await client.send(new ecr.CreateRepositoryCommand({
    repositoryName: "js/alpine" }));
  const digest = await pushImage("js/alpine", "3.19");
  const imageId = { imageTag: "3.19" };
  const started = await client.send(new ecr.StartImageScanCommand({
    repositoryName: "js/alpine", imageId }));
  assert.equal(started.imageScanStatus.status, "IN_PROGRESS");
  assert.equal(started.imageId.imageDigest, digest);
  const w = await ecr.waitUntilImageScanComplete(
    { client, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
    { repositoryName: "js/alpine", imageId });
  assert.equal(w.state, "SUCCESS");
  const r = await client.send(new ecr.DescribeImageScanFindingsCommand({
    repositoryName: "js/alpine", imageId }));
  assert.deepEqual(r.imageScanStatus, { status: "COMPLETE",
    description: "The scan was completed successfully." });
  const f = r.imageScanFindings;
  assert.deepEqual(f.findingSeverityCounts, { MEDIUM: 2 });
  assert.equal(f.vulnerabilitySourceUpdatedAt.toISOString(),
    "2026-01-15T08:00:00.000Z");
  assert.ok(f.imageScanCompletedAt instanceof Date);
  assert.deepEqual(f.findings.map((x) => x.attributes[1].value).sort(),
    ["libcrypto3", "libssl3"]);
  assert.deepEqual(f.findings[0], {
    name: "CVE-2023-5678",
    description: "Excessive time spent in DH checks.",
    uri: "https://security.alpinelinux.org/vuln/CVE-2023-5678",
    severity: "MEDIUM",
    attributes: [{ key: "package_version", value: "3.1.4-r0" },
      { key: "package_name", value: f.findings[0].attributes[1].value }] });

  // The SDK's paginator, a finding a page.
  const seen = [];
  for await (const page of ecr.paginateDescribeImageScanFindings(
    { client, pageSize: 1 }, { repositoryName: "js/alpine", imageId }))
    seen.push(...page.imageScanFindings.findings);
  assert.deepEqual(seen, f.findings);

  // DescribeImages carries the summary.
  const d = await client.send(new ecr.DescribeImagesCommand({
    repositoryName: "js/alpine" }));
  assert.equal(d.imageDetails[0].imageScanStatus.status, "COMPLETE");
  assert.deepEqual(
    d.imageDetails[0].imageScanFindingsSummary.findingSeverityCounts,
    { MEDIUM: 2 });
});

test("the SDK's exception classes", async () => {
  await client.send(new ecr.CreateRepositoryCommand({
    repositoryName: "js/other" }));
  await pushImage("js/other", "v1");
  await assert.rejects(client.send(new ecr.DescribeImageScanFindingsCommand({
    repositoryName: "js/other", imageId: { imageTag: "v1" } })),
  ecr.ScanNotFoundException);
  await assert.rejects(client.send(new ecr.StartImageScanCommand({
    repositoryName: "js/other", imageId: { imageTag: "nope" } })),
  ecr.ImageNotFoundException);
  await client.send(new ecr.StartImageScanCommand({
    repositoryName: "js/other", imageId: { imageTag: "v1" } }));
  await assert.rejects(client.send(new ecr.StartImageScanCommand({
    repositoryName: "js/other", imageId: { imageTag: "v1" } })),
  ecr.LimitExceededException);
  const c = await client.send(
    new ecr.GetRegistryScanningConfigurationCommand({}));
  assert.deepEqual(c.scanningConfiguration, { scanType: "BASIC", rules: [] });
});
