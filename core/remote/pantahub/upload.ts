/**
 * Uploading objects to a Pantahub remote (spec pvr-reference §7.3), used by `post`,
 * `put`, `putobjects` and `device create`:
 *
 * 1. objects the remote state already references (the baseline) are skipped;
 * 2. each remaining object is registered with `POST <objects-endpoint>/` and the exact
 *    body of the Go pvr (every field, the size as a decimal string); 200 gives a signed
 *    PUT URL, 409 means the server has it (`Pantahub-Object-Type: object`) or linked a
 *    public copy (`link`) — with `force`, objects (never links) are sent again;
 * 3. the file is streamed to the signed URL with `PUT` and `Content-Length`, without
 *    `Authorization` or `Content-Type`.
 *
 * An object referenced by several keys is registered and sent once. Objects move in
 * parallel (default 8; registration included, which the Go pvr did one by one).
 * Network errors and 5xx are retried with backoff; a 403 from the blob server means the
 * signed URL expired and the object is registered again for a fresh one. The server
 * checks every object's sha; when it refuses the bytes (400), the local object is
 * re-hashed, and a damaged one fails with `OBJECT_CORRUPT` rather than a puzzling
 * server error.
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../../errors.ts";
import { parseJson } from "../../model/json_parse.ts";
import { isJsonObject } from "../../model/json_value.ts";
import { goString } from "../../model/go_json.ts";
import { isObjectId } from "../../model/object_id.ts";
import { type State, stateObjects } from "../../model/state.ts";
import type { FsObjectStore } from "../../store/fs_store.ts";
import { redactUrl } from "../http.ts";
import type { PantahubCaller } from "./types.ts";
import type { PvrRemote } from "./remote.ts";
import {
  backoffDelay,
  type BlobPutResponse,
  httpStatusError,
  isRetryableStatus,
  joinUrl,
  readSomeText,
  type ResolvedTransferOptions,
  resolveTransferOptions,
  runPool,
  serverMessage,
  sleep,
  type TransferOptions,
  TransientError,
} from "./transfer.ts";

/** Options of {@link uploadObjects}. */
export interface UploadObjectsOptions extends TransferOptions {
  /** Sends the object registrations. */
  caller: PantahubCaller;
  /** The descriptor's `objects-endpoint` (or `<baseurl>/objects`). */
  objectsEndpoint: string;
  /** The state whose objects are sent. */
  state: State;
  /** Where the objects are. */
  store: FsObjectStore;
  /** Object ids the remote is known to have: not sent (see {@link fetchBaseline}). */
  baseline?: ReadonlySet<string>;
  /** Send objects the server already has again (never links). */
  force?: boolean;
}

/** What became of one object of an upload. */
export type UploadOutcome =
  /** Sent. */
  | "uploaded"
  /** The server had it (409 `object`). */
  | "exists"
  /** The server linked a public copy (409 `link`). */
  | "link"
  /** The remote state already references it; not registered. */
  | "baseline";

/** One object of an upload. */
export interface UploadedObject {
  /** The first state key that references it. */
  key: string;
  sha: string;
  size: number;
  outcome: UploadOutcome;
}

/** What {@link uploadObjects} did. */
export interface UploadObjectsResult {
  /** Every object of the state, sorted by key. */
  objects: UploadedObject[];
  /** Objects sent. */
  uploaded: number;
  /** Bytes sent (of objects that were sent). */
  bytes: number;
}

const RegisteredSchema = z.object({ "signed-puturl": z.string().nullish() });

/**
 * The registration body of the Go pvr (§7.3): every field, in the Go struct's order, as
 * Go's `encoding/json` writes it (the caller's `json` option would sort the keys).
 */
function registration(key: string, sha: string, size: number): string {
  const fields: Record<string, string> = {
    id: "",
    "storage-id": "",
    owner: "",
    objectname: key,
    sha256sum: sha,
    size: String(size),
    "mime-type": "application/octet-stream",
    "signed-puturl": "",
    "signed-geturl": "",
    now: "",
    "expire-time": "",
  };
  return `{${Object.entries(fields).map(([k, v]) => `${goString(k)}:${goString(v)}`).join(",")}}`;
}

/** A registration's answer: where to send the bytes, or why not to. */
type Registered = { kind: "put"; url: string } | { kind: "exists" } | { kind: "link" };

/**
 * Registers one object. The caller's HTTP client retries transport failures and
 * 429/502/503/504 already; a 500 it does not retry for a POST, but registering is
 * idempotent (same sha, same record), so a 500 is tried again here.
 */
async function register(
  o: ResolvedTransferOptions & UploadObjectsOptions,
  key: string,
  sha: string,
  size: number,
  force: boolean,
  signal: AbortSignal,
): Promise<Registered> {
  const url = joinUrl(o.objectsEndpoint, "");
  const what = `registering object ${key} (POST ${redactUrl(url)})`;
  let failures = 0;
  for (;;) {
    signal.throwIfAborted();
    const res = await o.caller.call({
      method: "POST",
      url,
      body: registration(key, sha, size),
      headers: { "Content-Type": "application/json; charset=utf-8" },
      anonymous: false,
    });
    if (res.status === 200 || res.status === 409) {
      const type = res.headers.get("Pantahub-Object-Type");
      const text = await res.text();
      if (res.status === 409 && (type === "link" || !force)) {
        return { kind: type === "link" ? "link" : "exists" };
      }
      let put: string | undefined;
      try {
        put = RegisteredSchema.parse(JSON.parse(text))["signed-puturl"] ?? undefined;
      } catch {
        // handled below
      }
      if (!put) throw new PvrError("REMOTE", `${what}: no signed-puturl in the answer`);
      return { kind: "put", url: put };
    }
    const body = await readSomeText(res);
    if (res.status === 500 && ++failures < o.retry.attempts) {
      await sleep(backoffDelay(o.retry, failures), signal);
      continue;
    }
    throw httpStatusError(what, res.status, res.statusText, body);
  }
}

/** Registers and sends one object; returns its outcome. */
async function uploadOne(
  o: ResolvedTransferOptions & UploadObjectsOptions,
  obj: UploadedObject,
  signal: AbortSignal,
): Promise<UploadOutcome> {
  const { key, sha, size } = obj;
  let reg = await register(o, key, sha, size, o.force ?? false, signal);
  if (reg.kind !== "put") return reg.kind;
  const what = `upload of object ${sha} (${key})`;
  const path = o.store.pathOf(sha);
  let failures = 0;
  let refreshes = 0;
  for (;;) {
    signal.throwIfAborted();
    o.reporter.objectStart({ sha, name: key, size, from: 0 });
    let res: BlobPutResponse;
    try {
      res = await o.putBlob({
        url: reg.url,
        path,
        size,
        signal,
        idleTimeoutMs: o.idleTimeoutMs,
        onProgress: (sent) => o.reporter.objectProgress(sha, sent),
      });
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      if (++failures >= o.retry.attempts) {
        throw new PvrError("REMOTE", `${what} failed after ${failures} tries: ${err.message}`);
      }
      await sleep(backoffDelay(o.retry, failures, err.retryAfterMs), signal);
      continue;
    }
    if (res.status >= 200 && res.status < 300) return "uploaded";
    if (res.status === 400 && (await o.store.verify(sha)) === "corrupt") {
      throw new PvrError(
        "OBJECT_CORRUPT",
        `object ${sha} (${key}) in ${o.store.location} is damaged: its bytes do not hash to its name`,
        { hint: "run pvr fsck; get the object again from where it came from" },
      );
    }
    if (res.status === 403) {
      // The signed URL expired: register again for a fresh one.
      if (++refreshes > 3) {
        throw new PvrError("REMOTE", `${what}: the blob server refused 3 fresh signed URLs (403)`);
      }
      reg = await register(o, key, sha, size, o.force ?? false, signal);
      // The server has it now: one of our earlier tries landed (its answer was lost).
      if (reg.kind === "exists") return "uploaded";
      if (reg.kind !== "put") return reg.kind;
      continue;
    }
    if (isRetryableStatus(res.status) && ++failures < o.retry.attempts) {
      await sleep(backoffDelay(o.retry, failures), signal);
      continue;
    }
    const msg = serverMessage(res.body);
    throw new PvrError(
      "REMOTE",
      `${what}: the blob server answered ${res.status} ${res.statusText}${msg ? ` (${msg})` : ""}`
        .trim(),
    );
  }
}

/**
 * Sends the objects of `state` that the remote lacks (see the module doc) and returns
 * what became of each. Fails with `OBJECT_MISSING` before sending anything when an
 * object is not in the store; otherwise with the first failure after the other
 * transfers stopped (`REMOTE`, `AUTH`, `OBJECT_CORRUPT`).
 *
 * Needs `--allow-net` and `--allow-read` for the store.
 */
export async function uploadObjects(opts: UploadObjectsOptions): Promise<UploadObjectsResult> {
  const o = { ...opts, ...resolveTransferOptions(opts) };
  const objects: UploadedObject[] = [];
  for (const [sha, keys] of stateObjects(opts.state)) {
    const key = keys[0];
    const size = await opts.store.size(sha);
    if (size === null) {
      throw new PvrError(
        "OBJECT_MISSING",
        `object ${sha} of ${key} is not in ${opts.store.location}`,
        { path: key, hint: "get it again, or run pvr fsck" },
      );
    }
    const inBaseline = opts.baseline?.has(sha) ?? false;
    objects.push({ key, sha, size, outcome: inBaseline ? "baseline" : "uploaded" });
  }
  const todo = objects.filter((x) => x.outcome !== "baseline");
  const total = todo.reduce((n, x) => n + x.size, 0);
  o.reporter.start({ direction: "upload", objects: todo.length, bytes: total });
  try {
    // Big objects first: the parallel tail is shorter.
    const order = [...todo].sort((a, b) => b.size - a.size);
    await runPool(order, o.jobs, async (obj, signal) => {
      try {
        obj.outcome = await uploadOne(o, obj, signal);
      } catch (err) {
        o.reporter.objectDone(obj.sha, "failed");
        throw err;
      }
      const done = obj.outcome;
      o.reporter.objectDone(
        obj.sha,
        done === "uploaded" ? "ok" : done === "link" ? "link" : "exists",
      );
    });
  } finally {
    o.reporter.finish();
  }
  const sent = objects.filter((x) => x.outcome === "uploaded");
  return { objects, uploaded: sent.length, bytes: sent.reduce((n, x) => n + x.size, 0) };
}

/**
 * The object ids the remote's current state references ("baseline", §7.3): GET of the
 * descriptor's `json-get-url`. A missing URL, a failed request or an unreadable state
 * give an empty set (the registrations then tell what the server has), as the Go pvr;
 * only an `AUTH` failure is thrown.
 *
 * Needs `--allow-net`.
 */
export async function fetchBaseline(
  caller: PantahubCaller,
  remote: PvrRemote,
): Promise<Set<string>> {
  const out = new Set<string>();
  const url = remote["json-get-url"];
  if (!url) return out;
  let text: Uint8Array;
  try {
    const res = await caller.call({ method: "GET", url, anonymous: true });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      return out;
    }
    text = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    if (err instanceof PvrError && err.code === "AUTH") throw err;
    return out;
  }
  try {
    const v = parseJson(text, "baseline");
    if (isJsonObject(v)) {
      for (const [k, x] of v) if (k !== "#spec" && isObjectId(x)) out.add(x.toLowerCase());
    }
  } catch {
    // as the Go pvr: an unreadable baseline is no baseline
  }
  return out;
}

/** Options of {@link objectsUploader}. */
export interface ObjectsUploaderOptions extends TransferOptions {
  /** The state whose objects are sent. */
  state: State;
  /** Where they are. */
  store: FsObjectStore;
}

/**
 * The hook of `device create` (spec §8.8): a function that sends every object of
 * `state` to `<baseUrl>/objects/` with `force` (objects the server has are sent again,
 * links are not). The device-create operation calls it with the user's caller.
 *
 * @example
 * ```ts
 * const uploadObjects = objectsUploader({ state: repo.pristine, store: repo.store });
 * await deviceCreate({ ..., uploadObjects });
 * ```
 */
export function objectsUploader(
  opts: ObjectsUploaderOptions,
): (caller: PantahubCaller, baseUrl: string) => Promise<void> {
  return async (caller, baseUrl) => {
    await uploadObjects({
      ...opts,
      caller,
      objectsEndpoint: joinUrl(baseUrl, "objects"),
      force: true,
    });
  };
}
