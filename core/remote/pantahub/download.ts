/**
 * Downloading objects from a Pantahub remote (spec pvr-reference §7.4), safely:
 *
 * 1. `GET <objects-endpoint>/<sha>` (through the caller, anonymous access allowed)
 *    gives the object's size and a signed GET URL;
 * 2. the blob is streamed into `<objects>/.<sha>.partial` while being hashed; the file
 *    is locked (`flock`) so two pvr processes never write one partial;
 * 3. only when the bytes hash to `<sha>` is the partial fsync'ed, made read-only and
 *    renamed to `<objects>/<sha>`: there is never a corrupt object. (Large objects are
 *    written out to disk while they arrive, so that the final fsync is short.)
 *
 * Interrupted downloads resume: after a dropped connection (same process) or a killed
 * process (next run) the partial's bytes are re-hashed and the rest is asked for with
 * `Range: bytes=<n>-`. A 206 must start at `<n>` (Content-Range), a 200 means the
 * server ignored the Range and the download restarts from 0. Network errors, timeouts
 * and 5xx are retried with exponential backoff; a 403 from the blob server means the
 * signed URL expired, and a fresh one is asked for. Objects move in parallel (default 8).
 *
 * Fixes over the Go pvr (§13.1 item 1, §13.6 item 49): verification, temp names,
 * failures that fail the command, retries, resume, more parallelism.
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../../errors.ts";
import { createSha256, loadSha256, type Sha256 } from "../../store/hash.ts";
import type { FsObjectStore } from "../../store/fs_store.ts";
import { fsyncDir, writeAll } from "../../../native/durability.ts";
import { VERSION } from "../../version.ts";
import { redactUrl } from "../http.ts";
import type { PantahubCaller } from "./types.ts";
import {
  backoffDelay,
  errorMessage,
  httpStatusError,
  isRetryableStatus,
  joinUrl,
  parseRetryAfter,
  readSomeText,
  type ResolvedTransferOptions,
  resolveTransferOptions,
  runPool,
  sleep,
  type TransferOptions,
  TransientError,
  watchIdle,
} from "./transfer.ts";

/** Options of {@link downloadObjects}. */
export interface DownloadObjectsOptions extends TransferOptions {
  /** Sends the object-info requests. */
  caller: PantahubCaller;
  /** The descriptor's `objects-endpoint`. */
  objectsEndpoint: string;
  /** The objects to download: object id → a display name (its first state key). */
  objects: ReadonlyMap<string, string>;
  /** Where they go. */
  store: FsObjectStore;
}

/** What {@link downloadObjects} did. */
export interface DownloadObjectsResult {
  /** Objects downloaded and stored. */
  downloaded: number;
  /** Objects that another process stored meanwhile (nothing transferred). */
  present: number;
  /** Bytes received over the network (resumed parts not counted twice). */
  bytes: number;
  /** Objects whose download continued a partial file. */
  resumed: number;
}

/** The name of the partial download of `sha` in a store directory. */
export function partialName(sha: string): string {
  return `.${sha}.partial`;
}

/** Signed URLs asked for per object before giving up on 403s. */
const MAX_URL_REFRESHES = 3;

const ObjectInfoSchema = z.object({
  "signed-geturl": z.string().min(1),
  sha256sum: z.string().nullish(),
  size: z.union([z.string(), z.number()]).nullish(),
  sizeint: z.number().nullish(),
});

interface ObjectInfo {
  url: string;
  size?: number;
}

async function objectInfo(
  caller: PantahubCaller,
  endpoint: string,
  sha: string,
): Promise<ObjectInfo> {
  const url = joinUrl(endpoint, sha);
  const what = `GET ${redactUrl(url)}`;
  const res = await caller.call({ method: "GET", url, anonymous: true });
  if (res.status !== 200) {
    throw httpStatusError(what, res.status, res.statusText, await readSomeText(res));
  }
  let parsed;
  try {
    parsed = ObjectInfoSchema.safeParse(JSON.parse(await res.text()));
  } catch (err) {
    throw new PvrError("REMOTE", `${what}: the answer is not JSON`, { cause: err });
  }
  if (!parsed.success) throw new PvrError("REMOTE", `${what}: no signed-geturl in the answer`);
  const info = parsed.data;
  if (info.sha256sum && info.sha256sum.toLowerCase() !== sha) {
    throw new PvrError("REMOTE", `${what}: the server described another object`);
  }
  let size: number | undefined;
  if (typeof info.sizeint === "number" && info.sizeint > 0) size = info.sizeint;
  else if (typeof info.size === "number") size = info.size;
  else if (typeof info.size === "string" && /^\d+$/.test(info.size)) size = Number(info.size);
  return { url: info["signed-geturl"], size };
}

/** A locked partial file, or null when the object appeared meanwhile. */
interface Partial {
  file: Deno.FsFile;
  path: string;
}

/**
 * Opens and locks `.<sha>.partial`. Waits while another process holds it; when that
 * process has finished meanwhile (renamed the partial into place), returns null.
 */
async function openPartial(store: FsObjectStore, sha: string): Promise<Partial | null> {
  const path = `${store.location}/${partialName(sha)}`;
  for (;;) {
    if ((await store.size(sha)) !== null) return null;
    const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
    try {
      await file.lock(true);
      const mine = await file.stat();
      const now = await Deno.stat(path).catch(() => null);
      if (now !== null && now.ino === mine.ino && now.dev === mine.dev) {
        if ((await store.size(sha)) !== null) {
          await Deno.remove(path).catch(() => {});
          file.close();
          return null;
        }
        return { file, path };
      }
    } catch (err) {
      file.close();
      throw err;
    }
    file.close(); // the partial we waited for is gone: look again
  }
}

/** Hashes the first `length` bytes of `file` and leaves the position at `length`. */
async function hashPrefix(file: Deno.FsFile, length: number, hash: Sha256): Promise<void> {
  await file.seek(0, Deno.SeekMode.Start);
  const buf = new Uint8Array(1 << 20);
  let left = length;
  while (left > 0) {
    const n = await file.read(buf.subarray(0, Math.min(buf.length, left)));
    if (n === null) break;
    hash.update(buf.subarray(0, n));
    left -= n;
  }
  await file.seek(length, Deno.SeekMode.Start);
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** Collects body chunks into 1 MiB writes (fetch hands out chunks of a few KiB). */
class WriteBuffer {
  readonly #file: Deno.FsFile;
  readonly #buf = new Uint8Array(1 << 20);
  #fill = 0;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#fill + bytes.length > this.#buf.length) await this.flush();
    if (bytes.length >= this.#buf.length) {
      await writeAll(this.#file, bytes);
      return;
    }
    this.#buf.set(bytes, this.#fill);
    this.#fill += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.#fill === 0) return;
    const n = this.#fill;
    this.#fill = 0;
    await writeAll(this.#file, this.#buf.subarray(0, n));
  }
}

/** Size of the buffer a body is read into (see {@link BodyReader}). */
const LANDING_BYTES = 1024 * 1024;

/**
 * Reads a response body. A byte stream (as `fetch` and raw_get.ts give) is read into
 * one 1 MiB buffer, used again for every read (a BYOB read), instead of a new 64 KiB
 * chunk for every read: measured on 4 × 256 MiB from the stand-in hub, a fifth less CPU
 * time and half the memory (256 KiB against 64 KiB chunks through `fetch`); through
 * raw_get.ts, where one read is one socket read, 1 MiB gave get 1.31 s against 1.47 s
 * with 256 KiB (medians of 5, `scripts/bench_remote.ts`). Each chunk returned is valid
 * until the next read. Other streams are read as they come.
 */
class BodyReader {
  readonly #byob: ReadableStreamBYOBReader | null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null;
  #landing = new Uint8Array(LANDING_BYTES);

  constructor(body: ReadableStream<Uint8Array>) {
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = body.getReader({ mode: "byob" });
    } catch {
      // not a byte stream
    }
    this.#byob = byob;
    this.#reader = byob === null ? body.getReader() : null;
  }

  /** The next chunk, or null at the end. */
  async read(): Promise<Uint8Array | null> {
    if (this.#byob === null) {
      const chunk = await this.#reader!.read();
      return chunk.done ? null : chunk.value;
    }
    // The buffer is handed over with the read and comes back with its answer; when the
    // read fails it is gone (only bytes of that read were in it: none were delivered).
    const chunk = await this.#byob.read(this.#landing);
    if (chunk.value !== undefined) this.#landing = new Uint8Array(chunk.value.buffer);
    return chunk.done ? null : chunk.value;
  }

  /** Stops reading (the rest of the body is not wanted). */
  async cancel(): Promise<void> {
    await (this.#byob ?? this.#reader)!.cancel().catch(() => {});
  }
}

/**
 * Every this many bytes received, the disk is asked to write out what the partial holds
 * so far (`fdatasync` on a second handle, off the JavaScript thread, not waited for):
 * the final fsync then waits for the last few MiB instead of the whole object, and the
 * page cache never holds gigabytes of unwritten data.
 */
const WRITEBACK_BYTES = 32 << 20;

/** One download of one object, from the state of its partial file to `<sha>`. */
class ObjectDownload {
  readonly #o: ResolvedTransferOptions & DownloadObjectsOptions;
  readonly #sha: string;
  readonly #name: string;
  readonly #p: Partial;
  readonly #signal: AbortSignal;
  #hash: Sha256 = createSha256();
  /** Bytes in the partial file (all hashed). */
  #offset = 0;
  /**
   * The partial holds bytes of more than one answer (an earlier process, or a resumed
   * request): when the whole does not hash right, it is downloaded once more from 0.
   */
  #mixed = false;
  /** Bytes received over the network. */
  received = 0;
  /** A read-only handle of the partial for early writeback (see {@link WRITEBACK_BYTES}). */
  #syncer: Deno.FsFile | undefined;
  /** The writeback under way. */
  #syncing: Promise<void> | null = null;
  /** The offset at the last writeback's start. */
  #syncedAt = 0;
  resumed = false;

  constructor(
    o: ResolvedTransferOptions & DownloadObjectsOptions,
    sha: string,
    name: string,
    p: Partial,
    signal: AbortSignal,
  ) {
    this.#o = o;
    this.#sha = sha;
    this.#name = name;
    this.#p = p;
    this.#signal = signal;
  }

  get #what(): string {
    return `download of object ${this.#sha} (${this.#name})`;
  }

  async #restart(): Promise<void> {
    await this.#p.file.truncate(0);
    await this.#p.file.seek(0, Deno.SeekMode.Start);
    this.#hash = createSha256();
    this.#offset = 0;
    this.#syncedAt = 0;
    this.#mixed = false;
  }

  async run(): Promise<void> {
    const { caller, objectsEndpoint, reporter, retry } = this.#o;
    let info = await objectInfo(caller, objectsEndpoint, this.#sha);
    const size = info.size;
    const have = (await this.#p.file.stat()).size;
    if (have > 0 && (size === undefined || have <= size)) {
      await hashPrefix(this.#p.file, have, this.#hash);
      this.#offset = have;
      this.#mixed = true;
      this.resumed = true;
    } else if (have > 0) {
      await this.#restart();
    }
    reporter.objectStart({ sha: this.#sha, name: this.#name, size, from: this.#offset });
    let failures = 0;
    let refreshes = 0;
    let lastError = "";
    const fail = async (err: TransientError) => {
      failures++;
      lastError = err.message;
      if (failures >= retry.attempts) {
        throw new PvrError(
          "REMOTE",
          `${this.#what} failed after ${failures} tries: ${lastError}`,
          { cause: err },
        );
      }
      await sleep(backoffDelay(retry, failures, err.retryAfterMs), this.#signal);
    };
    for (;;) {
      this.#signal.throwIfAborted();
      if (size !== undefined && this.#offset >= size) {
        if (await this.#finish()) return;
        continue; // a mixed partial was wrong: downloading again from 0
      }
      const before = this.#offset;
      let outcome: "done" | "again" | "refresh";
      try {
        outcome = await this.#attempt(info.url, size);
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        if (this.#offset > before) failures = 0;
        await fail(err);
        continue;
      }
      if (this.#offset > before) failures = 0;
      if (outcome === "refresh") {
        if (++refreshes > MAX_URL_REFRESHES) {
          throw new PvrError(
            "REMOTE",
            `${this.#what}: the blob server refused ${refreshes} fresh signed URLs (403)`,
          );
        }
        info = await objectInfo(caller, objectsEndpoint, this.#sha);
        continue;
      }
      if (outcome === "again") continue;
      // The body ended cleanly. Short of the known size: ask for the rest.
      if (size !== undefined && this.#offset < size) {
        await fail(new TransientError(`the server sent ${this.#offset} of ${size} bytes`));
        continue;
      }
      if (await this.#finish()) return;
    }
  }

  /**
   * One request from the current offset. Resolves `done` when a body was read to its
   * end, `again` when the partial was reset and a new request is due, `refresh` for an
   * expired signed URL; throws {@link TransientError} for what is worth retrying.
   */
  async #attempt(url: string, size: number | undefined): Promise<"done" | "again" | "refresh"> {
    const { fetch: fetchFn, idleTimeoutMs } = this.#o;
    const abort = new AbortController();
    const onAbort = () => abort.abort(this.#signal.reason);
    this.#signal.addEventListener("abort", onAbort, { once: true });
    const watch = watchIdle(idleTimeoutMs, () => {
      abort.abort(new TransientError(`no data for ${idleTimeoutMs / 1000} s`));
    });
    const sink = new WriteBuffer(this.#p.file);
    try {
      const headers: Record<string, string> = { "User-Agent": `pvr/${VERSION}` };
      if (this.#offset > 0) headers.Range = `bytes=${this.#offset}-`;
      let res: Response;
      try {
        res = await fetchFn(url, { headers, signal: abort.signal, redirect: "follow" });
      } catch (err) {
        throw this.#transient(err, abort.signal);
      }
      if (res.status === 206) {
        const m = CONTENT_RANGE.exec(res.headers.get("Content-Range") ?? "");
        if (m === null || Number(m[1]) !== this.#offset) {
          await res.body?.cancel().catch(() => {});
          await this.#restart();
          throw new TransientError("the server answered another range than asked for");
        }
        if (size !== undefined && m[3] !== "*" && Number(m[3]) !== size) {
          await res.body?.cancel().catch(() => {});
          throw new PvrError(
            "REMOTE",
            `${this.#what}: the blob has ${m[3]} bytes, the object info says ${size}`,
          );
        }
        // Bytes of two answers make one file: a mismatch at the end restarts from 0.
        this.#mixed = true;
      } else if (res.status === 200) {
        // No Range asked for, or the server ignored it: everything comes again.
        if (this.#offset > 0) await this.#restart();
      } else {
        const body = await readSomeText(res);
        if (res.status === 403) return "refresh";
        if (res.status === 416 && this.#offset > 0) {
          await this.#restart();
          return "again";
        }
        if (isRetryableStatus(res.status)) {
          throw new TransientError(`${res.status} ${res.statusText}`.trim(), {
            retryAfterMs: parseRetryAfter(res.headers.get("Retry-After")),
          });
        }
        throw httpStatusError(
          `${this.#what}: GET of the signed URL`,
          res.status,
          res.statusText,
          body,
          "REMOTE",
        );
      }
      if (res.body === null) return "done";
      this.#o.reporter.objectStart({
        sha: this.#sha,
        name: this.#name,
        size,
        from: this.#offset,
      });
      const body = new BodyReader(res.body);
      try {
        for (;;) {
          let bytes: Uint8Array | null;
          try {
            bytes = await body.read();
          } catch (err) {
            throw this.#transient(err, abort.signal);
          }
          if (bytes === null) return "done";
          watch.moved();
          this.#hash.update(bytes);
          await sink.write(bytes);
          this.#offset += bytes.length;
          this.received += bytes.length;
          this.#o.reporter.objectProgress(this.#sha, this.#offset);
          if (this.#offset - this.#syncedAt >= WRITEBACK_BYTES) this.#writeback();
        }
      } finally {
        await body.cancel();
      }
    } finally {
      watch.stop();
      this.#signal.removeEventListener("abort", onAbort);
      // What was hashed is on disk before anything else happens (resume relies on it).
      await sink.flush();
    }
  }

  /** Starts writing out the partial's data, unless that is under way already. */
  #writeback(): void {
    if (this.#syncing !== null) return;
    this.#syncedAt = this.#offset;
    this.#syncing = (async () => {
      try {
        this.#syncer ??= await Deno.open(this.#p.path, { read: true });
        await this.#syncer.syncData();
      } catch {
        // Only a head start: the fsync before the rename reports what fails.
      } finally {
        this.#syncing = null;
      }
    })();
  }

  /** Releases the writeback handle (after any writeback under way). */
  async close(): Promise<void> {
    await this.#syncing;
    this.#syncer?.close();
    this.#syncer = undefined;
  }

  /** A transport failure as a {@link TransientError}; the pool's abort passes through. */
  #transient(err: unknown, signal: AbortSignal): unknown {
    if (this.#signal.aborted) return this.#signal.reason;
    if (signal.aborted && signal.reason instanceof TransientError) return signal.reason;
    if (err instanceof PvrError) return err;
    return new TransientError(errorMessage(err).replace(/https?:\/\/\S+/g, "<signed URL>"), {
      cause: err,
    });
  }

  /**
   * Checks the hash and moves the partial into place. Returns false when a partial
   * made of several tries did not match (it restarts from 0 once); throws
   * `OBJECT_CORRUPT` when a whole download did not match (the partial is removed).
   */
  async #finish(): Promise<boolean> {
    const got = this.#hash.digest();
    const { file, path } = this.#p;
    if (got !== this.#sha) {
      if (this.#mixed) {
        await this.#restart();
        return false;
      }
      await Deno.remove(path).catch(() => {});
      throw new PvrError(
        "OBJECT_CORRUPT",
        `${this.#what}: the server sent bytes that hash to ${got}; nothing was stored`,
      );
    }
    await this.#syncing;
    await file.sync();
    await Deno.chmod(path, 0o444);
    await Deno.rename(path, this.#o.store.pathOf(this.#sha));
    await fsyncDir(this.#o.store.location);
    return true;
  }
}

/**
 * Downloads `objects` into `store`, in parallel (`jobs`, default 8), each verified
 * before it appears as `<sha>` (see the module doc). Objects already in the store are
 * not downloaded again (the caller decides what is missing; this only skips what
 * another process stored meanwhile). Throws the first failure after the other downloads
 * stopped: `OBJECT_CORRUPT` for wrong bytes, `REMOTE` when retries were exhausted or the
 * server refused, `AUTH` for 401/403 on the object infos. Partial files of interrupted
 * downloads stay for the next run to resume.
 *
 * Needs `--allow-net`, and `--allow-read`/`--allow-write` for the store.
 */
export async function downloadObjects(
  opts: DownloadObjectsOptions,
): Promise<DownloadObjectsResult> {
  await loadSha256();
  const o = { ...opts, ...resolveTransferOptions(opts) };
  const result: DownloadObjectsResult = { downloaded: 0, present: 0, bytes: 0, resumed: 0 };
  const items = [...opts.objects].map(([sha, name]) => ({ sha: sha.toLowerCase(), name }));
  await Deno.mkdir(opts.store.location, { recursive: true });
  o.reporter.start({ direction: "download", objects: items.length, bytes: 0 });
  try {
    await runPool(items, o.jobs, async ({ sha, name }, signal) => {
      const partial = await openPartial(opts.store, sha);
      if (partial === null) {
        result.present++;
        o.reporter.objectDone(sha, "cached");
        return;
      }
      const d = new ObjectDownload(o, sha, name, partial, signal);
      try {
        await d.run();
        result.downloaded++;
        o.reporter.objectDone(sha, "ok");
      } catch (err) {
        o.reporter.objectDone(sha, "failed");
        throw err;
      } finally {
        result.bytes += d.received;
        if (d.resumed) result.resumed++;
        await d.close();
        partial.file.close();
      }
    });
  } finally {
    o.reporter.finish();
  }
  return result;
}
