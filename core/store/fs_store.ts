/**
 * The file system object store: a flat directory `<dir>/<sha>`, the layout of the Go
 * pvr's objects dir (spec §2.1), so both tools can share one store.
 *
 * Only names of 64 lowercase hex characters are objects. Everything else is ignored,
 * in particular the Go tool's `<sha>.new` leftovers and this store's own temp files
 * `.<sha-or-random>.<pid>.<random>.tmp` (unique per write, unlike the Go tool's fixed
 * `<sha>.new`, so concurrent writers never share a temp file: spec §13.1 item 6).
 *
 * Stored objects are read-only (0444): a hardlinked checkout then cannot change them
 * by accident (spec §13.1 item 4).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import {
  objectCorruptError as corrupt,
  objectMismatchError as mismatch,
  objectMissingError as missing,
  objectName as normalizeId,
  requireObjectName as requireId,
} from "./object_store.ts";
import type { ObjectStore, PutResult, VerifyResult } from "./object_store.ts";
import { createSha256, loadSha256, READ_CHUNK_SIZE, sha256Bytes, sha256File } from "./hash.ts";
import { fsyncDir, tempName, writeAll, writeAllSync } from "../../native/durability.ts";

/** Names that are objects: 64 lowercase hex characters. */
const OBJECT_NAME = /^[0-9a-f]{64}$/;
/** Names of this store's temp files: `.<sha-or-random>.<pid>.<random>.tmp`. */
const TEMP_NAME = /^\.[0-9a-f]+\.[0-9]+\.[0-9a-f]+\.tmp$/;
/** Default age after which {@link FsObjectStore.sweepTemps} removes a temp file. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Options of the {@link FsObjectStore} constructor. */
export interface FsObjectStoreOptions {
  /**
   * Fsync each new object before its rename and the directory after it, so a stored
   * object survives a crash. Default true; tests may turn it off for speed.
   */
  fsync?: boolean;
}

/** Options of {@link FsObjectStore.open}. */
export interface OpenFsObjectStoreOptions extends FsObjectStoreOptions {
  /** Create the directory (and its parents, mode 0755) when it does not exist. */
  create?: boolean;
}

/** Options of {@link FsObjectStore.sweepTemps}. */
export interface SweepTempsOptions {
  /** Remove temp files last modified longer ago than this. Default one hour. */
  olderThanMs?: number;
  /** The current time in ms since the epoch. Default `Date.now()`. */
  now?: number;
  /**
   * Also remove younger temp files whose writer process is known to be gone (the pid in
   * the name no longer runs on this host). Default false.
   */
  deadWriters?: (pid: number) => boolean;
}

/** Writes one chunk to the object being stored (hashing it on the way). */
type Sink = (chunk: Uint8Array) => Promise<void>;

/**
 * An {@link ObjectStore} over a flat directory of `<sha>` files.
 *
 * Needs `--allow-read` for the directory (and for files given to `putFile`),
 * `--allow-write` for the directory when storing, and for destinations of `copyTo`.
 *
 * @example
 * ```ts
 * const store = await FsObjectStore.open("/home/me/.pvr/objects", { create: true });
 * const { sha } = await store.putFile("rootfs.squashfs");
 * await store.copyTo(sha, "/repo/.rootfs.squashfs.tmp");
 * await Deno.rename("/repo/.rootfs.squashfs.tmp", "/repo/rootfs.squashfs");
 * ```
 */
export class FsObjectStore implements ObjectStore {
  /** The objects directory. */
  readonly location: string;
  readonly #fsync: boolean;

  /** A store over `dir`, which must exist before anything is stored (see {@link open}). */
  constructor(dir: string, opts: FsObjectStoreOptions = {}) {
    this.location = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
    this.#fsync = opts.fsync ?? true;
  }

  /**
   * Opens the store at `dir`, creating the directory (mode 0755, with parents) when
   * `create` is set. Throws `FAILED` when it does not exist (and `create` is not set)
   * or is not a directory.
   *
   * Needs `--allow-read` for `dir`, and `--allow-write` to create it.
   */
  static async open(dir: string, opts: OpenFsObjectStoreOptions = {}): Promise<FsObjectStore> {
    if (opts.create) await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(dir);
    } catch (err) {
      throw new PvrError("FAILED", `objects directory ${dir} cannot be opened: ${message(err)}`, {
        cause: err,
        path: dir,
      });
    }
    if (!info.isDirectory) {
      throw new PvrError("FAILED", `objects directory ${dir} is not a directory`, { path: dir });
    }
    return new FsObjectStore(dir, opts);
  }

  /**
   * Removes this store's temp files (`.<…>.<pid>.<random>.tmp`) in `dir` that were last
   * modified more than `olderThanMs` (default one hour) ago: leftovers of crashed
   * writers. Younger ones may belong to a writer still running and are kept; the Go
   * tool's `<sha>.new` files are never touched. Returns how many were removed.
   *
   * Needs `--allow-read` and `--allow-write` for `dir`.
   */
  static async sweepTemps(dir: string, opts: SweepTempsOptions = {}): Promise<number> {
    const cutoff = (opts.now ?? Date.now()) - (opts.olderThanMs ?? STALE_TEMP_MS);
    let removed = 0;
    // Synchronous listing: an objects dir holds thousands of entries, and walking them
    // with async ops costs several times more (fsck sweeps the whole store).
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isFile || !TEMP_NAME.test(entry.name)) continue;
      const path = `${dir}/${entry.name}`;
      try {
        const mtime = Deno.lstatSync(path).mtime?.getTime();
        const pid = Number(entry.name.split(".").at(-3));
        const dead = opts.deadWriters?.(pid) ?? false;
        if (!dead && (mtime === undefined || mtime >= cutoff)) continue;
        await Deno.remove(path);
        removed++;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err; // another sweeper won
      }
    }
    return removed;
  }

  /**
   * The path of object `sha` (which may not exist). Throws `FAILED` when `sha` is not
   * a 64-hex object id, so no path outside the store can be formed.
   */
  pathOf(sha: string): string {
    return `${this.location}/${requireId(sha)}`;
  }

  /** True when a file named `sha` exists (its content is not checked). */
  async has(sha: string): Promise<boolean> {
    return (await this.size(sha)) !== null;
  }

  /** The object's size in bytes, or null when it is missing (or `sha` is not an id). */
  // deno-lint-ignore require-await
  async size(sha: string): Promise<number | null> {
    const name = normalizeId(sha);
    if (name === null) return null;
    try {
      // Synchronous: a stat is cheaper than an async op (import asks for each object).
      const info = Deno.statSync(`${this.location}/${name}`);
      return info.isFile ? info.size : null;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  }

  /**
   * Stores bytes from a buffer or a stream (written chunk by chunk as they arrive: memory
   * stays constant whatever the size). See {@link ObjectStore.put}.
   *
   * The whole stream is read even when the object turns out to be present (its temp file
   * is then dropped): callers that can skip a download should ask {@link has} first.
   */
  async put(
    data: ReadableStream<Uint8Array> | Uint8Array,
    expectedSha?: string,
  ): Promise<PutResult> {
    const expected = expectedSha === undefined ? undefined : requireId(expectedSha);
    if (data instanceof Uint8Array) return await this.#store(expected, (sink) => sink(data));
    const reader = data.getReader();
    try {
      return await this.#store(expected, async (sink) => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          await sink(value);
        }
      });
    } catch (err) {
      await reader.cancel(err).catch(() => {});
      throw err;
    } finally {
      reader.releaseLock();
    }
  }

  /**
   * Stores a file's bytes, read with one reused 1 MiB buffer. When `expectedSha` is
   * given and an object of that name and of the file's size is present, the file is only
   * hashed (to check it), not written. See {@link ObjectStore.putFile}.
   */
  async putFile(path: string, expectedSha?: string): Promise<PutResult> {
    const expected = expectedSha === undefined ? undefined : requireId(expectedSha);
    if (expected !== undefined) {
      const present = await this.size(expected);
      if (
        present !== null && present === (await Deno.stat(path)).size &&
        (await this.verify(expected)) === "ok"
      ) {
        const { sha, size } = await sha256File(path);
        if (sha !== expected) throw mismatch(expected, sha);
        if (size === present) return { sha, size, stored: false };
        // The file changed size while we looked: store it the normal way.
      }
      // Absent or damaged (then replaced by the good bytes): the normal way.
    }
    using file = await Deno.open(path, { read: true });
    const buffer = new Uint8Array(READ_CHUNK_SIZE);
    return await this.#store(expected, async (sink) => {
      for (;;) {
        const n = await file.read(buffer);
        if (n === null) return;
        await sink(buffer.subarray(0, n));
      }
    });
  }

  /** Reads a whole object and checks its hash. See {@link ObjectStore.read}. */
  async read(sha: string): Promise<Uint8Array> {
    await loadSha256();
    const name = normalizeId(sha);
    if (name === null) throw missing(sha);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${this.location}/${name}`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw missing(name, err);
      throw err;
    }
    if (sha256Bytes(bytes) !== name) throw corrupt(name);
    return bytes;
  }

  /**
   * Copies an object to `dest`, hashing while copying. See {@link ObjectStore.copyTo}.
   * The copy is not fsynced: the caller decides how durable a checkout must be.
   */
  async copyTo(sha: string, dest: string, mode = 0o644): Promise<number> {
    await loadSha256();
    const name = normalizeId(sha);
    if (name === null) throw missing(sha);
    // Metadata calls are synchronous, and so is the whole copy of an object of at most
    // one chunk: a copy checkout of 10,000 small objects spent most of its time in the
    // async ops of this function.
    let src: Deno.FsFile;
    try {
      src = Deno.openSync(`${this.location}/${name}`, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw missing(name, err);
      throw err;
    }
    try {
      // Never write through an existing dest: it may be a hardlink to a stored object.
      try {
        Deno.removeSync(dest);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      const out = Deno.openSync(dest, { write: true, createNew: true, mode });
      let done = false;
      try {
        const hash = createSha256();
        let size = 0;
        if (src.statSync().size <= READ_CHUNK_SIZE) {
          // No await in this loop, so no other copy can use the shared buffer meanwhile.
          const buffer = sharedCopyBuffer ??= new Uint8Array(READ_CHUNK_SIZE);
          for (;;) {
            const n = src.readSync(buffer);
            if (n === null) break;
            const chunk = buffer.subarray(0, n);
            hash.update(chunk);
            writeAllSync(out, chunk);
            size += n;
          }
        } else {
          const buffer = new Uint8Array(READ_CHUNK_SIZE);
          for (;;) {
            const n = await src.read(buffer);
            if (n === null) break;
            const chunk = buffer.subarray(0, n);
            hash.update(chunk);
            await writeAll(out, chunk);
            size += n;
          }
        }
        if (hash.digest() !== name) throw corrupt(name);
        Deno.chmodSync(dest, mode);
        done = true;
        return size;
      } finally {
        out.close();
        if (!done) {
          try {
            Deno.removeSync(dest);
          } catch {
            // already gone
          }
        }
      }
    } finally {
      src.close();
    }
  }

  /** Hashes the stored bytes and compares them with the name. */
  async verify(sha: string): Promise<VerifyResult> {
    const name = normalizeId(sha);
    if (name === null) return "missing";
    try {
      return (await sha256File(`${this.location}/${name}`)).sha === name ? "ok" : "corrupt";
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "missing";
      throw err;
    }
  }

  /** Every object name (64 lowercase hex) in the directory; nothing when it is missing. */
  async *list(): AsyncIterable<string> {
    try {
      for await (const entry of Deno.readDir(this.location)) {
        if (!entry.isDirectory && OBJECT_NAME.test(entry.name)) yield entry.name;
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  /**
   * The one write path: streams bytes into a unique temp file while hashing them,
   * checks the hash, and moves the file into place unless an intact object is already
   * there. The temp file is removed on every path that does not rename it.
   */
  async #store(
    expected: string | undefined,
    fill: (sink: Sink) => Promise<void>,
  ): Promise<PutResult> {
    await loadSha256();
    // Metadata calls and small writes are synchronous: for the many small objects of an
    // import or a commit, each async op costs more than the work it does.
    const tmp = `${this.location}/${tempName(expected ?? randomHex(8))}`;
    const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o444 });
    let open = true;
    let renamed = false;
    try {
      const hash = createSha256();
      let size = 0;
      await fill(async (chunk) => {
        hash.update(chunk);
        size += chunk.length;
        if (chunk.length <= SYNC_WRITE_MAX) writeAllSync(file, chunk);
        else await writeAll(file, chunk);
      });
      const sha = hash.digest();
      if (expected !== undefined && sha !== expected) throw mismatch(expected, sha);
      // An intact object is never replaced. One of the same size is re-hashed (these
      // bytes came in anyway; a damaged object is repaired here, not kept); one of
      // another size is damaged. The rename below replaces a damaged one at once.
      if ((await this.size(sha)) === size && (await this.verify(sha)) === "ok") {
        return { sha, size, stored: false };
      }
      Deno.chmodSync(tmp, 0o444);
      if (this.#fsync) await file.sync();
      file.close();
      open = false;
      Deno.renameSync(tmp, `${this.location}/${sha}`);
      renamed = true;
      if (this.#fsync) await fsyncDir(this.location);
      return { sha, size, stored: true };
    } finally {
      if (open) file.close();
      if (!renamed) {
        try {
          Deno.removeSync(tmp);
        } catch {
          // already gone
        }
      }
    }
  }
}

/** The buffer of the synchronous small-object path of `copyTo` (allocated on first use). */
let sharedCopyBuffer: Uint8Array | undefined;

/** Chunks up to this size are written with a synchronous write (see `#store`). */
const SYNC_WRITE_MAX = 64 * 1024;

function randomHex(bytes: number): string {
  let hex = "";
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) {
    hex += b.toString(16).padStart(2, "0");
  }
  return hex;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
