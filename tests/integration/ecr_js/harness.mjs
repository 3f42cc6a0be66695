// What the JS SDK tests share: a berthd of their own on a free port, a
// client for it, the exception a call raises, and images pushed through
// the ECR layer API.  BERTHD and BLOBD name the binaries.
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
export const BERTHD = process.env.BERTHD || join(top, "build/daemon/berthd");
export const BLOBD = process.env.BLOBD ||
  join(top, "build/blobd/berth-blobd");

export function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

export function mkclient(accessKeyId = "AKIDEXAMPLE", region = "us-east-1",
  secretAccessKey = "secret", at) {
  return new ecr.ECRClient({
    endpoint: at,
    region,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey },
  });
}

export async function errorName(promise) {
  try {
    await promise;
  } catch (e) {
    return e.name;
  }
  return null;
}

// The exception a call raises (null when it succeeds), for its members.
export async function caught(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  return null;
}

// Starts a berthd of its own (args added); resolves when it answers.
export async function startBerthd(args) {
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
export async function answers(at) {
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

export async function stopBerthd(b) {
  const exited = new Promise((r) => b.proc.once("exit", r));
  b.proc.kill("SIGTERM");
  await exited;
  rmSync(b.dir, { recursive: true, force: true });
}

export function manifestOf(cd, cfg, ld, layer, annotations) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json",
      digest: cd, size: cfg.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: ld, size: layer.length }],
    annotations });
}

export const sha = (b) => "sha256:" + createHash("sha256").update(b).digest("hex");

export async function uploadLayer(client, repositoryName, data) {
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
