/**
 * Objects of the stand-in Pantahub (spec pantahub-api.md §4): per-owner object
 * records, the 200/409 registration decision with `Pantahub-Object-Type`, autolinks to
 * public objects, signed blob URLs (HS256 JWTs, §4.4) and the `/local-s3/` blob
 * endpoint with Range support.
 *
 * @module
 */

import { z } from "zod";
import { createSha256 } from "../../../core/store/hash.ts";
import { appError, goTime, HubError, jsonResponse, readPlainJson } from "./http.ts";
import { authStatusHandler } from "./auth.ts";
import { type App, type Ctx, type HubCore, ownerOf, requirePrincipal, SCOPES } from "./router.ts";
import { type ObjectRecord, storageIdFor } from "./store.ts";

/** The header telling an object from a link (§1.6). */
export const OBJECT_TYPE_HEADER = "Pantahub-Object-Type";

const SHA_RE = /^[0-9a-fA-F]{64}$/;

/** True for a 64-hex sha256. */
export function isSha(s: unknown): s is string {
  return typeof s === "string" && SHA_RE.test(s);
}

/** `link` for a link record, else `object`. */
export function objectType(rec: ObjectRecord): "object" | "link" {
  return rec.linkedObject === undefined ? "object" : "link";
}

/** The signed blob URLs of a record for a subject (§4.4). */
export async function signedUrls(
  core: HubCore,
  rec: ObjectRecord,
  subject: string,
  issuer: string,
  withPut: boolean,
): Promise<{ put: string; get: string }> {
  const iat = core.tokens.nowSec();
  const common = {
    iss: issuer,
    sub: subject,
    iat,
    exp: iat + core.config.signedUrlTtlSec,
    DispositionName: rec.objectname,
    Size: rec.sizeint,
    Sha: rec.sha256sum.toLowerCase(),
  };
  const url = (token: string) => `${core.config.base}/local-s3/${token}`;
  const get = url(
    await core.tokens.signObject({
      ...common,
      aud: rec.linkedObject ?? rec.storageId,
      Method: "GET",
    }),
  );
  // A link's PUT URL only checks the sha (audience SHAONLY, §4.4).
  const put = withPut
    ? url(
      await core.tokens.signObject({
        ...common,
        aud: rec.linkedObject === undefined ? rec.storageId : "SHAONLY",
        Method: "PUT",
      }),
    )
    : "";
  return { put, get };
}

/** An Object document in Go field order (§4.1). */
export function objectDoc(rec: ObjectRecord): Record<string, unknown> {
  return {
    id: rec.id,
    "storage-id": rec.storageId,
    owner: rec.owner,
    objectname: rec.objectname,
    sha256sum: rec.sha256sum,
    size: rec.size,
    sizeint: rec.sizeint,
    "mime-type": rec.mimeType,
    "time-created": goTime(rec.timeCreated),
    "time-modified": goTime(rec.timeModified),
  };
}

/**
 * An ObjectWithAccess document (§4.1): the object plus signed URLs, `now` (Unix seconds
 * as a string) and the meaningless `expire-time` `"15"`.
 */
export async function objectWithAccess(
  core: HubCore,
  rec: ObjectRecord,
  subject: string,
  issuer: string,
  withPut: boolean,
  objectname?: string,
): Promise<Record<string, unknown>> {
  const named = objectname === undefined ? rec : { ...rec, objectname };
  const urls = await signedUrls(core, named, subject, issuer, withPut);
  return {
    ...objectDoc(named),
    "signed-puturl": urls.put,
    "signed-geturl": urls.get,
    now: String(core.tokens.nowSec()),
    "expire-time": "15",
  };
}

/**
 * The record that backs `sha` in a public step of another owner (the autolink target,
 * §4.2), following links; only a record whose blob exists counts.
 */
export async function findLinkTarget(
  core: HubCore,
  owner: string,
  sha: string,
): Promise<ObjectRecord | undefined> {
  const want = sha.toLowerCase();
  const store = core.store;
  for (const step of store.steps.values()) {
    if (step.owner === owner || step.garbage) continue;
    const dev = store.devices.get(step.trailId);
    if (dev === undefined || !dev.public) continue;
    let uses = false;
    for (const v of step.state.values()) {
      if (typeof v === "string" && v.toLowerCase() === want) uses = true;
    }
    if (!uses) continue;
    let rec = store.objectFor(step.owner, want);
    if (rec?.linkedObject !== undefined) rec = store.objects.get(rec.linkedObject);
    if (rec !== undefined && await store.blobExists(rec.storageId)) return rec;
  }
  return undefined;
}

/** Creates (or replaces) `owner`'s link record to `target` (size and mime copied). */
export function saveLink(
  core: HubCore,
  owner: string,
  sha: string,
  target: ObjectRecord,
  objectname: string,
): ObjectRecord {
  const now = core.now();
  const storageId = storageIdFor(owner, sha);
  const old = core.store.objects.get(storageId);
  const rec: ObjectRecord = {
    id: sha.toLowerCase(),
    storageId,
    owner,
    objectname: objectname || target.objectname,
    sha256sum: sha.toLowerCase(),
    size: target.size,
    sizeint: target.sizeint,
    mimeType: target.mimeType,
    linkedObject: target.storageId,
    garbage: false,
    timeCreated: old?.timeCreated ?? now,
    timeModified: now,
  };
  core.store.objects.set(storageId, rec);
  return rec;
}

/**
 * Resolves a state's object reference for `owner` (§5 rule 4): a record with its blob,
 * a link record, or (with autolink) a new link to a public object. Returns the record,
 * or throws the 500 the real server answers.
 */
export async function resolveStateObject(
  core: HubCore,
  owner: string,
  key: string,
  sha: string,
  autolink: boolean,
): Promise<ObjectRecord> {
  const rec = core.store.objectFor(owner, sha);
  if (rec !== undefined) {
    if (rec.linkedObject !== undefined) return rec;
    if (await core.store.blobExists(rec.storageId)) return rec;
  }
  if (autolink) {
    const target = await findLinkTarget(core, owner, sha);
    if (target !== undefined) return saveLink(core, owner, sha, target, key);
  }
  throw appError(
    500,
    rec === undefined
      ? `state_object: ${key}: No link target available (mongo: no documents in result)`
      : `state_object: ${key}: No backing file nor link`,
  );
}

// Go decodes null and missing fields as zero values; a wrong type is a 400.
const goString = z.string().nullish().transform((s) => s ?? "");

const ObjectBody = z.object({
  id: goString,
  objectname: goString,
  sha256sum: goString,
  size: goString,
  sizeint: z.number().int().nullish().transform((n) => n ?? 0),
  "mime-type": goString,
});

/** The outcome of {@link registerObject}. */
export interface RegisterResult {
  /** 200 for a new or unfinished upload, 409 when the object or a link exists. */
  status: 200 | 409;
  rec: ObjectRecord;
}

/**
 * Registers an object for `owner` from a POSTed body (§4.2): validates it, then decides
 * 409 `object` (blob exists), 409 `link` (link record or autolink) or 200 (upserted).
 */
export async function registerObject(
  core: HubCore,
  owner: string,
  body: unknown,
  autolink: boolean,
): Promise<RegisterResult> {
  const parsed = ObjectBody.safeParse(body);
  if (!parsed.success) throw appError(400, "object: body does not decode");
  const b = parsed.data;
  if (b.sha256sum === "") throw appError(400, "Post New Object must set a sha");
  if (b.id !== "" && b.id !== b.sha256sum) {
    throw appError(400, "Post New Object id must equal its sha");
  }
  if (!isSha(b.sha256sum)) throw appError(400, "Post New Object sha must be 32 hex bytes");
  const sha = b.sha256sum.toLowerCase();
  const store = core.store;
  const existing = store.objectFor(owner, sha);
  if (existing !== undefined) {
    if (existing.linkedObject !== undefined) return { status: 409, rec: existing };
    if (await store.blobExists(existing.storageId)) {
      existing.garbage = false;
      return { status: 409, rec: existing };
    }
  }
  if (autolink) {
    const target = await findLinkTarget(core, owner, sha);
    if (target !== undefined) {
      return { status: 409, rec: saveLink(core, owner, sha, target, b.objectname) };
    }
  }
  // Size reconciliation (§4.1).
  let size = b.size;
  let sizeint = b.sizeint;
  if (size === "") size = String(sizeint);
  else if (/^[0-9]+$/.test(size) && sizeint === 0) sizeint = Number(size);
  else size = String(sizeint);
  const now = core.now();
  const rec: ObjectRecord = {
    id: sha,
    storageId: storageIdFor(owner, sha),
    owner,
    objectname: b.objectname,
    sha256sum: sha,
    size,
    sizeint,
    mimeType: b["mime-type"],
    garbage: false,
    timeCreated: existing?.timeCreated ?? now,
    timeModified: now,
  };
  store.objects.set(rec.storageId, rec);
  return { status: 200, rec };
}

function autolinkOn(c: Ctx): boolean {
  return c.url.searchParams.get("autolink") !== "no";
}

async function postObject(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const { status, rec } = await registerObject(
    c.core,
    ownerOf(p),
    await readPlainJson(c.req),
    autolinkOn(c),
  );
  const doc = await objectWithAccess(c.core, rec, p.prn, `${c.core.config.base}/objects`, true);
  return jsonResponse(status, doc, "plain", { [OBJECT_TYPE_HEADER]: objectType(rec) });
}

function listObjects(c: Ctx): Response {
  const owner = ownerOf(requirePrincipal(c));
  const out = [...c.core.store.objects.values()].filter((o) => o.owner === owner && !o.garbage)
    .sort((a, b) => a.timeCreated - b.timeCreated).map(objectDoc);
  return jsonResponse(200, out, "plain");
}

function ownObject(c: Ctx): ObjectRecord {
  const p = requirePrincipal(c);
  const sha = c.params.sha;
  if (!isSha(sha)) throw appError(400, `Invalid sha ${sha}`);
  const rec = c.core.store.objectFor(ownerOf(p), sha);
  if (rec === undefined || rec.garbage) throw appError(403, "No Access");
  return rec;
}

async function getObject(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const rec = ownObject(c);
  const doc = await objectWithAccess(
    c.core,
    rec,
    p.prn,
    `${c.core.config.base}/objects`,
    p.prn === rec.owner,
  );
  return jsonResponse(200, doc, "plain", { [OBJECT_TYPE_HEADER]: objectType(rec) });
}

async function getObjectBlob(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const rec = ownObject(c);
  const { get } = await signedUrls(c.core, rec, p.prn, `${c.core.config.base}/objects`, false);
  return new Response(null, { status: 302, headers: { Location: get } });
}

/** The objects app (plain JSON). */
export const objectsApp: App = {
  prefix: "/objects",
  encoding: "plain",
  routes: [
    { method: "GET", path: "/objects/auth_status", handler: authStatusHandler("plain") },
    { method: "POST", path: "/objects/", handler: postObject, scopes: SCOPES.objectsWrite },
    { method: "GET", path: "/objects/", handler: listObjects, scopes: SCOPES.objectsRead },
    { method: "GET", path: "/objects/:sha", handler: getObject, scopes: SCOPES.objectsRead },
    {
      method: "GET",
      path: "/objects/:sha/blob",
      handler: getObjectBlob,
      scopes: SCOPES.objectsRead,
    },
  ],
};

// ---------------------------------------------------------------------------------
// Blob endpoint (local driver, §4.4)

const forbidden = (reason: string) => new HubError(403, reason, { shape: "empty" });

async function blob(c: Ctx): Promise<Response> {
  const claims = await c.core.tokens.verifyObject(c.params.token);
  if (claims === undefined) throw forbidden("invalid or expired signed URL");
  if (c.req.method === "GET") {
    if (claims.Method !== "GET") throw forbidden("signed URL is not for GET");
    return await serveBlob(c, claims.aud, claims.DispositionName);
  }
  // Any other method is an upload (§4.4). open question §12.6: HEAD included, so a HEAD
  // with a GET URL is a 403 as on the real local driver; clients must not rely on HEAD.
  if (claims.Method !== "PUT") throw forbidden("signed URL is not for PUT");
  return await receiveBlob(c, claims.aud, claims.Size, claims.Sha);
}

/** A parsed single byte range: inclusive start and end. */
interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header against a size like Go's `http.ServeContent`: `undefined`
 * means serve the whole body, `"unsatisfiable"` means 416. Several ranges are answered
 * with the whole body (Go would send multipart/byteranges; S3 ignores them).
 */
export function parseRange(
  header: string | null,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (header === null || header === "") return undefined;
  if (!header.startsWith("bytes=")) return "unsatisfiable";
  const specs = header.slice(6).split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length !== 1) return specs.length === 0 ? "unsatisfiable" : undefined;
  const m = /^(\d*)-(\d*)$/.exec(specs[0]);
  if (m === null || (m[1] === "" && m[2] === "")) return "unsatisfiable";
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return "unsatisfiable";
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (end < start) return "unsatisfiable";
  return { start, end };
}

/** Streams `length` bytes of a file from `start`, closing it at the end. */
function fileStream(file: Deno.FsFile, start: number, length: number): ReadableStream<Uint8Array> {
  let left = length;
  let positioned = start === 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (!positioned) {
        await file.seek(start, Deno.SeekMode.Start);
        positioned = true;
      }
      if (left <= 0) {
        file.close();
        ctrl.close();
        return;
      }
      const buf = new Uint8Array(Math.min(left, 64 * 1024));
      const n = await file.read(buf);
      if (n === null || n === 0) {
        file.close();
        ctrl.close();
        return;
      }
      left -= n;
      ctrl.enqueue(buf.subarray(0, n));
    },
    cancel() {
      file.close();
    },
  });
}

async function serveBlob(c: Ctx, storageId: string, name: string): Promise<Response> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(c.core.store.blobPath(storageId), { read: true });
  } catch {
    throw new HubError(404, "404 page not found", { shape: "text" });
  }
  const stat = await file.stat();
  const size = stat.size;
  const headers = new Headers({
    "Content-Type": "application/octet-stream",
    "Accept-Ranges": "bytes",
    "Content-Disposition": `attachment; filename="${name}"`,
  });
  if (stat.mtime !== null) headers.set("Last-Modified", stat.mtime.toUTCString());
  const range = c.rangeMode === "honour" ? parseRange(c.req.headers.get("Range"), size) : undefined;
  if (range === "unsatisfiable") {
    file.close();
    headers.set("Content-Range", `bytes */${size}`);
    headers.set("Content-Type", "text/plain; charset=utf-8");
    return new Response("invalid range: failed to overlap\n", { status: 416, headers });
  }
  if (range === undefined) {
    headers.set("Content-Length", String(size));
    // The file's own stream: Deno.serve sends it from the file without JavaScript in
    // between (a real blob server costs little CPU per byte; a JS stream of 64 KiB
    // chunks cost about 1.4 s of CPU per GiB, competing with the client measured).
    return new Response(file.readable, { status: 200, headers });
  }
  const length = range.end - range.start + 1;
  headers.set("Content-Length", String(length));
  headers.set("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
  if (range.end === size - 1) {
    // To the end (what resuming clients ask for): the file's stream from that offset.
    try {
      await file.seek(range.start, Deno.SeekMode.Start);
    } catch (err) {
      file.close();
      throw err;
    }
    return new Response(file.readable, { status: 206, headers });
  }
  return new Response(fileStream(file, range.start, length), { status: 206, headers });
}

async function receiveBlob(
  c: Ctx,
  storageId: string,
  size: number,
  sha: string,
): Promise<Response> {
  const store = c.core.store;
  const tmp = `${store.blobDir}/.upload-${crypto.randomUUID()}`;
  const file = await Deno.open(tmp, { write: true, createNew: true });
  const hash = createSha256();
  let got = 0;
  try {
    const reader = c.req.body?.getReader();
    while (reader !== undefined && got < size) {
      const { done, value } = await reader.read();
      if (done) break;
      // Exactly `Size` bytes are read; anything beyond is ignored (§4.4).
      const part = value.subarray(0, Math.min(value.length, size - got));
      hash.update(part);
      let off = 0;
      while (off < part.length) off += await file.write(part.subarray(off));
      got += part.length;
    }
    if (reader !== undefined) {
      // Drain the rest so the client sees a clean answer.
      for (;;) if ((await reader.read()).done) break;
    }
  } catch {
    // The client went away mid-body: a short body.
  } finally {
    file.close();
  }
  const fail = async (status: number, reason: string): Promise<never> => {
    await Deno.remove(tmp).catch(() => {});
    throw new HubError(status, reason, { shape: "empty" });
  };
  if (got < size) return await fail(500, `short body: ${got} of ${size} bytes`);
  if (hash.digest() !== sha.toLowerCase()) return await fail(400, "sha mismatch");
  if (storageId === "SHAONLY") {
    // The S3 driver only checks the sha of a link's upload and stores nothing; the local
    // driver would write a file named SHAONLY, which we do not copy.
    await Deno.remove(tmp).catch(() => {});
  } else {
    await Deno.rename(tmp, store.blobPath(storageId));
  }
  return new Response(null, { status: 200 });
}

/** The blob endpoints `/local-s3/<token>` and its alias `/s3/<token>`. */
export const blobApps: App[] = ["/local-s3", "/s3"].map((prefix) => ({
  prefix,
  encoding: "plain" as const,
  routes: [{ method: "*", path: `${prefix}/:token`, auth: "none" as const, handler: blob }],
}));
