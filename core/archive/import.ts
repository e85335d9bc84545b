/**
 * `pvr import`: reads an export tarball into a staging object store (spec §5.15, §6.2).
 *
 * {@link readExport} validates the whole archive while streaming it: it writes
 * nothing outside the staging directory, verifies every object against its name, and
 * parses the state strictly. {@link commitStaged} then moves the staged objects into
 * the real store; switching `.pvr/json` is the caller's job.
 *
 * Deliberate differences from the Go pvr (spec §5.15, §13.1 item 3):
 *
 * * gzip is detected by its magic bytes (`1f 8b`), not by the file name;
 * * entries other than `json`, `objects/<64 lowercase hex>` and directories are
 *   refused (`BAD_ARCHIVE`); absolute names, `..` segments, symlinks, hardlinks and
 *   device or fifo entries are refused (`UNSAFE_PATH`); Go wrote any entry anywhere;
 * * each object is checked against its name (`OBJECT_CORRUPT`);
 * * a truncated or damaged archive fails as a whole (`BAD_ARCHIVE`) instead of
 *   leaving what was written so far;
 * * every object the state references must be in the archive or already in the
 *   store (`OBJECT_MISSING`);
 * * an object of the archive that the store already holds is kept only when it is
 *   intact: unless the repository verified it before (its stat cache, given as
 *   `trusted`), it is re-hashed, and a damaged one is replaced by the archive's
 *   verified bytes (by rename, atomically).
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { PvrError } from "../errors.ts";
import { concatBytes, equalBytes } from "../bytes.ts";
import { objectMismatchError, type ObjectStore } from "../store/object_store.ts";
import { createSha256, loadSha256, sha256Bytes } from "../store/hash.ts";
import { type State, stateObjects, validateState } from "../model/state.ts";
import { parseJson } from "../model/json_parse.ts";
import { fsyncDir, syncPaths, writeAll, writeAllSync } from "../../native/durability.ts";
import { renameNoReplace } from "../../native/ffi.ts";
import { TarFormatError, TarReader, TarType } from "./tar.ts";

/** Largest `json` entry accepted. */
const MAX_JSON_SIZE = 64 << 20;
/** Objects up to this size are read into memory and stored in one call. */
const SMALL_OBJECT = 1 << 20;
/** Size of one read of a tarball file. */
const READ_SIZE = 1 << 20;
/** Reads of the tarball file kept ahead of the consumer. */
const READ_AHEAD = 2;
/** Chunks up to this size are written with a synchronous write. */
const SYNC_WRITE_MAX = 64 * 1024;
/**
 * After this many objects, the existing store's directory is listed once instead of
 * looking each object up (a failed `stat` costs about 9 µs in Deno, a listed name
 * about 1.4 µs).
 */
const LIST_AFTER = 128;
/** How many missing objects an error lists. */
const LIST_MAX = 5;

const OBJECT_ENTRY = /^objects\/([0-9a-f]{64})$/;

/** Options of {@link readExport}. */
export interface ReadExportOptions {
  /**
   * The store the objects will be committed to: objects already in it need not be in
   * the archive, and are not staged again when they are.
   */
  existing?: ObjectStore;
  /**
   * Whether an object file of `existing` (a file system store), with stat `info`, was
   * verified before and is unchanged (the repository's stat cache): such an object is
   * not read again. Every other object of `existing` that the archive holds is
   * re-hashed; a damaged one is staged from the archive, so that {@link commitStaged}
   * replaces it. Default: none is trusted.
   */
  trusted?: (sha: string, info: Deno.FileInfo) => boolean;
  /** Name of a stream source in messages (a path source is named by its path). */
  name?: string;
}

/** What {@link readExport} found. */
export interface ReadExportResult {
  /** The archive's state (parsed and validated). */
  state: State;
  /** Ids of the objects staged in the staging directory (verified). */
  objects: Set<string>;
  /**
   * Ids of objects of the archive that `existing` holds and that were re-hashed here and
   * found intact (left as they are, not staged).
   */
  verified: Set<string>;
}

/** Options of {@link commitStaged}. */
export interface CommitStagedOptions {
  /** Make the objects durable before they are renamed into the store, and the store after. Default true. */
  fsync?: boolean;
  /** Called with each object this call added to the store (verified bytes, now in place). */
  onAdded?: (sha: string) => void;
}

/**
 * Reads an export tarball (a path, or a byte stream) and stages its objects in an
 * object store at `stagingDir` (created when missing). Plain and gzipped archives are
 * told apart by their first bytes. Memory stays constant whatever the object sizes.
 *
 * Nothing is written outside `stagingDir`. On failure the staging directory may hold
 * some verified objects: the caller removes it.
 *
 * Needs `--allow-read` for `source` and the existing store, `--allow-read` and
 * `--allow-write` for `stagingDir`.
 *
 * @throws {PvrError} `BAD_ARCHIVE` (truncated, not a tar, unexpected entry, no or bad
 *   `json`), `UNSAFE_PATH` (absolute or `..` names, links, devices), `OBJECT_CORRUPT`
 *   (an object entry does not hash to its name), `BAD_STATE`/`UNSAFE_PATH` (the state
 *   breaks the state rules), `OBJECT_MISSING` (a referenced object is nowhere)
 * @example
 * ```ts
 * const staging = await Deno.makeTempDir({ dir: "/repo/.pvr" });
 * const { state, objects } = await readExport("device.tgz", staging, { existing: store });
 * await commitStaged(objects, staging, store);
 * ```
 */
export async function readExport(
  source: string | ReadableStream<Uint8Array>,
  stagingDir: string,
  opts: ReadExportOptions = {},
): Promise<ReadExportResult> {
  await loadSha256();
  const label = typeof source === "string" ? source : opts.name ?? "<stream>";
  await Deno.mkdir(stagingDir, { recursive: true, mode: 0o755 });
  const input = typeof source === "string" ? await fileStream(source) : source;
  let tar: TarReader | null = null;
  try {
    tar = new TarReader(await maybeGunzip(input, label)); // cancels `input` when it fails
    return await readEntries(tar, stagingDir, label, opts);
  } catch (err) {
    await tar?.cancel(err);
    throw archiveError(err, label);
  }
}

/**
 * Moves staged objects into `store`: by rename when `store` is a file system store on
 * the same file system (all objects made durable first — one `syncfs` where FFI allows
 * it — and the store directory after), else by a verified copy (`putFile`). An object
 * already in `store` is kept only when it is intact: of the same size and re-hashing to
 * its name; a damaged one is replaced by the staged bytes (a rename over it: the name
 * always holds either the old or the new file). Returns how many objects were added to
 * (or replaced in) `store`.
 *
 * With FFI each object is renamed by `renameat2(RENAME_NOREPLACE)`, which fails when
 * the object is already there: no lookup before each rename into an empty slot.
 *
 * Needs `--allow-read` and `--allow-write` for `stagingDir` and the store;
 * `--allow-ffi` for the fast path.
 *
 * @throws {PvrError} `OBJECT_MISSING` when a staged object is not in `stagingDir`
 */
export async function commitStaged(
  staged: Set<string>,
  stagingDir: string,
  store: ObjectStore,
  opts: CommitStagedOptions = {},
): Promise<number> {
  const fsync = opts.fsync ?? true;
  const ids = [...staged].sort();
  let added = 0;
  let renamed = false;
  // One flush of all staged objects before any of them gets a name in the store (an
  // fsync per object made an import of 10,000 small objects several times slower).
  if (fsync && store.pathOf && ids.length > 0) {
    await syncPaths(stagingDir, ids.map((sha) => `${stagingDir}/${sha}`), []);
  }
  let noReplace = store.pathOf !== undefined && mayWrite(stagingDir) &&
    mayWrite(store.location);
  for (const sha of ids) {
    const src = `${stagingDir}/${sha}`;
    const dst = store.pathOf?.(sha);
    if (dst !== undefined && noReplace) {
      const r = renameNoReplace(src, dst);
      if (r === true) {
        renamed = true;
        added++;
        opts.onAdded?.(sha);
        continue;
      }
      if (r === null) noReplace = false;
      // false: the object is there already (or another failure): looked at below.
    }
    let size: number;
    try {
      size = Deno.statSync(src).size;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new PvrError("OBJECT_MISSING", `staged object ${sha} is not in ${stagingDir}`, {
          cause: err,
        });
      }
      throw err;
    }
    if ((await store.size(sha)) === size && (await isIntact(store, sha))) continue;
    if (dst !== undefined) {
      try {
        Deno.renameSync(src, dst);
        renamed = true;
        added++;
        opts.onAdded?.(sha);
        continue;
      } catch {
        // Another file system (EXDEV) or another failure: the copy below reports it.
      }
    }
    if ((await store.putFile(src, sha)).stored) {
      added++;
      opts.onAdded?.(sha);
    }
  }
  if (renamed && fsync && store.pathOf) await fsyncDir(store.location);
  return added;
}

/** True when the stored object re-hashes to its name (false when it cannot be read). */
async function isIntact(store: ObjectStore, sha: string): Promise<boolean> {
  try {
    return (await store.verify(sha)) === "ok";
  } catch {
    return false; // unreadable: replaced by the staged bytes, which are known good
  }
}

function mayWrite(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "write", path }).state === "granted";
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------

/** The entry loop: stages objects, parses `json`, checks the references. */
async function readEntries(
  tar: TarReader,
  staging: string,
  label: string,
  opts: ReadExportOptions,
): Promise<ReadExportResult> {
  const existing = opts.existing;
  const stager = new Stager(staging, label, existing, opts.trusted);
  let state: State | null = null;
  try {
    for (let entry = await tar.next(); entry !== null; entry = await tar.next()) {
      const kind = classify(entry.name, entry.type, label);
      if (kind === "dir") continue;
      if (kind === "json") {
        if (state !== null) throw badArchive(`${label}: more than one json entry`);
        if (entry.size > MAX_JSON_SIZE) {
          throw badArchive(`${label}: json entry is too large (${entry.size} bytes)`);
        }
        state = parseState(await tar.readBody(), label);
        continue;
      }
      if (entry.size <= SMALL_OBJECT) await stager.small(await tar.readBody(), kind);
      else await stager.large(() => tar.body(), kind, entry.size);
    }
    await stager.finish();
  } finally {
    await stager.settle();
  }
  await tar.drain();
  if (state === null) throw badArchive(`${label}: no json entry: not a pvr export`);

  const { staged: objects, present, verified } = stager;
  const missing: string[] = [];
  for (const [sha, keys] of stateObjects(state)) {
    if (objects.has(sha) || present.has(sha)) continue;
    if (existing !== undefined && (await existing.has(sha))) continue;
    missing.push(`${keys[0]} (${sha})`);
  }
  if (missing.length > 0) {
    const more = missing.length > LIST_MAX ? ` and ${missing.length - LIST_MAX} more` : "";
    throw new PvrError(
      "OBJECT_MISSING",
      `${label}: ${missing.length} object(s) of the state are neither in the archive nor in the object store: ${
        missing.slice(0, LIST_MAX).join(", ")
      }${more}`,
    );
  }
  return { state, objects, verified };
}

/**
 * Stages object entries as files named by their id in the staging directory, each
 * hashed on the way and refused when it does not match its name. The staging directory
 * is private to this import (removed when it fails), so objects are written under their
 * final names there, with no temp name and rename. Small objects (already in memory)
 * are written with synchronous calls; large ones are streamed, and their flush to disk
 * is started right away in the background (`fdatasync`), overlapping the rest of the
 * archive, so that the flush before the commit has less left to write.
 *
 * Repeated entries (the Go tool writes an object once per key) are stored once. Objects
 * that `existing` holds intact are not staged: those `trusted` vouches for are not
 * read at all, the others are re-hashed (a small one is compared with the archive's
 * verified bytes). One `existing` holds damaged is staged, to replace it.
 */
class Stager {
  /** Verified objects now in the staging directory. */
  readonly staged = new Set<string>();
  /** Objects of the archive that `existing` already holds intact (not staged). */
  readonly present = new Set<string>();
  /** Of {@link present}, those re-hashed here (not vouched for by `trusted`). */
  readonly verified = new Set<string>();
  readonly #seen = new Set<string>();
  /** Background flushes of large objects (each closes its file when done). */
  readonly #flushing: Promise<void>[] = [];
  readonly #dir: string;
  readonly #label: string;
  readonly #existing: ObjectStore | undefined;
  readonly #trusted: ((sha: string, info: Deno.FileInfo) => boolean) | undefined;
  /** The object names of `existing`, once listed (see {@link LIST_AFTER}). */
  #listed: Set<string> | null = null;
  #lookups = 0;

  constructor(
    dir: string,
    label: string,
    existing: ObjectStore | undefined,
    trusted: ((sha: string, info: Deno.FileInfo) => boolean) | undefined,
  ) {
    this.#dir = dir;
    this.#label = label;
    this.#existing = existing;
    this.#trusted = trusted;
  }

  /** Stages a small object held in memory. */
  async small(bytes: Uint8Array, sha: string): Promise<void> {
    if (this.#seen.has(sha)) return;
    this.#seen.add(sha);
    const held = await this.#held(sha);
    if (held === "trusted") {
      this.present.add(sha);
      return;
    }
    const got = sha256Bytes(bytes);
    if (got !== sha) throw this.#corrupt(sha, got);
    if (held === "unchecked" && (await this.#holdsBytes(sha, bytes))) {
      this.present.add(sha);
      this.verified.add(sha);
      return;
    }
    // Synchronous: for a small file an async op costs more than the work. The mode is
    // set exactly (an fchmod after the create), whatever the umask.
    const path = `${this.#dir}/${sha}`;
    const opts = { createNew: true, mode: 0o444 };
    try {
      Deno.writeFileSync(path, bytes, opts);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      Deno.removeSync(path); // left in a reused staging directory: never trusted
      Deno.writeFileSync(path, bytes, opts);
    }
    this.staged.add(sha);
  }

  /** Streams a large object into the staging directory (its body is not read when not needed). */
  async large(body: () => ReadableStream<Uint8Array>, sha: string, size: number): Promise<void> {
    if (this.#seen.has(sha)) return;
    this.#seen.add(sha);
    const held = await this.#held(sha);
    if (held === "trusted") {
      this.present.add(sha);
      return;
    }
    if (held === "unchecked" && (await this.#holdsIntact(sha, size))) {
      this.present.add(sha);
      this.verified.add(sha);
      return;
    }
    const path = `${this.#dir}/${sha}`;
    const opts = { write: true, createNew: true, mode: 0o444 };
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, opts);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      Deno.removeSync(path); // left in a reused staging directory: never trusted
      file = Deno.openSync(path, opts);
    }
    let ok = false;
    try {
      const hash = createSha256();
      const reader = body().getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (value.length <= SYNC_WRITE_MAX) {
            writeAllSync(file, value);
            hash.update(value);
          } else {
            // The write runs on another thread while this one hashes the same bytes.
            const written = writeAll(file, value);
            hash.update(value);
            await written;
          }
        }
      } catch (err) {
        await reader.cancel(err).catch(() => {});
        throw err;
      } finally {
        reader.releaseLock();
      }
      const got = hash.digest();
      if (got !== sha) throw this.#corrupt(sha, got);
      Deno.chmodSync(path, 0o444); // exact, whatever the umask
      ok = true;
    } finally {
      if (!ok) {
        file.close();
        try {
          Deno.removeSync(path);
        } catch {
          // the staging directory goes anyway
        }
      }
    }
    const flush = file.syncData().finally(() => file.close());
    flush.catch(() => {}); // reported by finish()
    this.#flushing.push(flush);
    this.staged.add(sha);
  }

  /** Waits for the background flushes; throws the first failure. */
  async finish(): Promise<void> {
    await Promise.all(this.#flushing);
  }

  /** Waits for the background flushes, whatever their outcome (their files are closed). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#flushing);
  }

  /**
   * What `existing` holds of an object: nothing, an object `trusted` vouches for (not
   * to be read), or one not checked yet.
   */
  async #held(sha: string): Promise<"absent" | "trusted" | "unchecked"> {
    if (!(await this.#inExisting(sha))) return "absent";
    const path = this.#existing?.pathOf?.(sha);
    if (this.#trusted !== undefined && path !== undefined) {
      try {
        if (this.#trusted(sha, Deno.statSync(path))) return "trusted";
      } catch {
        // cannot be looked at: not trusted
      }
    }
    return "unchecked";
  }

  /**
   * True when `existing` holds exactly `bytes` (already verified against `sha`) under
   * `sha`; false when its object differs or cannot be read (it is then replaced).
   */
  async #holdsBytes(sha: string, bytes: Uint8Array): Promise<boolean> {
    const existing = this.#existing!;
    if (!existing.pathOf) return await isIntact(existing, sha);
    try {
      // Synchronous, like the staging of a small object.
      using file = Deno.openSync(existing.pathOf(sha), { read: true });
      if (file.statSync().size !== bytes.length) return false;
      const held = new Uint8Array(bytes.length);
      let off = 0;
      while (off < held.length) {
        const n = file.readSync(held.subarray(off));
        if (n === null) return false;
        off += n;
      }
      return file.readSync(new Uint8Array(1)) === null && equalBytes(held, bytes);
    } catch {
      return false;
    }
  }

  /** True when `existing` holds an object of `size` bytes that re-hashes to `sha`. */
  async #holdsIntact(sha: string, size: number): Promise<boolean> {
    const existing = this.#existing!;
    return (await existing.size(sha).catch(() => null)) === size &&
      (await isIntact(existing, sha));
  }

  /** True when `existing` holds the object. */
  async #inExisting(sha: string): Promise<boolean> {
    const existing = this.#existing;
    if (existing === undefined) return false;
    if (this.#listed === null && ++this.#lookups > LIST_AFTER && existing.pathOf) {
      this.#listed = listObjects(existing.location);
    }
    return this.#listed !== null ? this.#listed.has(sha) : await existing.has(sha);
  }

  #corrupt(sha: string, got: string): PvrError {
    const err = objectMismatchError(sha, got);
    return new PvrError(
      "OBJECT_CORRUPT",
      `${this.#label}: entry objects/${sha} does not match its name (${err.message})`,
      { cause: err, path: `objects/${sha}` },
    );
  }
}

/** The object names in a file system store's directory (empty when it cannot be listed). */
function listObjects(dir: string): Set<string> {
  const names = new Set<string>();
  try {
    for (const e of Deno.readDirSync(dir)) if (OBJECT_NAME.test(e.name)) names.add(e.name);
  } catch {
    // a store that cannot be listed holds nothing to skip
  }
  return names;
}

const OBJECT_NAME = /^[0-9a-f]{64}$/;

/**
 * What an entry is: `"json"`, an object id, or `"dir"` (ignored). Throws for
 * everything pvr refuses.
 */
function classify(rawName: string, type: string, label: string): "json" | "dir" | string {
  const shown = JSON.stringify(rawName);
  if (rawName.startsWith("/")) throw unsafe(`${label}: absolute entry name ${shown}`, rawName);
  const segments = rawName.split("/");
  if (segments.includes("..")) throw unsafe(`${label}: entry ${shown} has a ".." segment`, rawName);
  switch (type) {
    case TarType.symlink:
      throw unsafe(`${label}: symlink entry ${shown}`, rawName);
    case TarType.hardlink:
      throw unsafe(`${label}: hardlink entry ${shown}`, rawName);
    case TarType.charDevice:
    case TarType.blockDevice:
    case TarType.fifo:
      throw unsafe(`${label}: device or fifo entry ${shown}`, rawName);
    case TarType.directory:
      return "dir";
    case TarType.oldFile:
      if (rawName.endsWith("/")) return "dir"; // old tars mark directories this way (Go too)
      break;
    case TarType.file:
    case TarType.contiguous:
      break;
    default:
      throw badArchive(`${label}: unexpected entry ${rawName} (tar type ${JSON.stringify(type)})`);
  }
  let name = rawName;
  while (name.startsWith("./")) name = name.slice(2);
  if (name === "json") return "json";
  const m = OBJECT_ENTRY.exec(name);
  if (m === null) throw badArchive(`${label}: unexpected entry ${rawName}`);
  return m[1];
}

/** Parses and validates the `json` entry. */
function parseState(bytes: Uint8Array, label: string): State {
  const source = `${label}:json`;
  let value;
  try {
    value = parseJson(bytes, source);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new PvrError("BAD_ARCHIVE", `${label}: json entry is not valid JSON (${msg})`, {
      cause: err,
    });
  }
  return validateState(value, source);
}

/** Opens a tarball file as a stream of fresh 1 MiB chunks. */
async function fileStream(path: string): Promise<ReadableStream<Uint8Array>> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new PvrError("FAILED", `cannot read ${path}: ${msg}`, { cause: err, path });
  }
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(READ_SIZE);
      let n: number | null;
      try {
        n = await file.read(buf);
      } catch (err) {
        close();
        throw new SourceReadError(path, err);
      }
      if (n === null) {
        close();
        controller.close();
      } else controller.enqueue(buf.subarray(0, n));
    },
    cancel() {
      close();
    },
  }, { highWaterMark: READ_AHEAD });
}

/** An I/O error reading the tarball file (not a problem of its content). */
class SourceReadError extends Error {
  constructor(path: string, cause: unknown) {
    super(`cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "SourceReadError";
  }
}

/** The stream, gunzipped when it starts with the gzip magic `1f 8b`. */
async function maybeGunzip(
  input: ReadableStream<Uint8Array>,
  label: string,
): Promise<ReadableStream<Uint8Array>> {
  const reader = input.getReader();
  const head: Uint8Array[] = [];
  let have = 0;
  let done = false;
  try {
    while (have < 2) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        break;
      }
      head.push(r.value);
      have += r.value.length;
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  }
  if (have === 0) throw badArchive(`truncated or not a pvr export: ${label} (empty)`);
  const first = head[0].length >= 2 ? head[0] : concatBytes(head);
  const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  const replay = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = head.shift();
      if (next !== undefined) {
        controller.enqueue(next);
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      const r = await reader.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  // node:zlib is loaded only for a gzipped archive (it costs a command ~10-20 ms).
  return gzip ? gunzip(replay, (await import("node:zlib")).createGunzip) : replay;
}

/**
 * Gunzips a stream with `node:zlib` (about 4× faster than `DecompressionStream` here,
 * and it accepts concatenated gzip members, as Go and GNU gzip do). A truncated or
 * damaged gzip stream errors the returned stream.
 */
function gunzip(
  input: ReadableStream<Uint8Array>,
  createGunzip: typeof import("node:zlib").createGunzip,
): ReadableStream<Uint8Array> {
  const gz = createGunzip({ chunkSize: 256 * 1024 });
  const reader = input.getReader();
  let failed = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      gz.on("data", (c: Buffer) => {
        controller.enqueue(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) gz.pause();
      });
      gz.on("end", () => {
        if (!failed) controller.close();
      });
      gz.on("error", (err: unknown) => {
        if (failed) return;
        failed = true;
        controller.error(err);
        reader.cancel(err).catch(() => {});
      });
      // Feed the input, waiting for zlib to drain when its buffer is full.
      (async () => {
        for (;;) {
          const r = await reader.read();
          if (failed) return;
          if (r.done) {
            gz.end();
            return;
          }
          if (!gz.write(r.value)) {
            await new Promise<void>((resolve) => {
              const go = () => {
                gz.off("drain", go);
                gz.off("close", go);
                resolve();
              };
              gz.on("drain", go);
              gz.on("close", go);
            });
          }
        }
      })().catch((err) => {
        if (failed) return;
        failed = true;
        controller.error(err);
        gz.destroy();
      });
    },
    pull() {
      gz.resume();
    },
    cancel(reason) {
      failed = true;
      gz.destroy();
      return reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 4 });
}

/** Maps any failure of the read loop to the error the caller sees. */
function archiveError(err: unknown, label: string): PvrError {
  if (err instanceof PvrError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof TarFormatError) {
    // Reading the file failed: an I/O problem, not a bad archive.
    if (err.cause instanceof SourceReadError) {
      return new PvrError("FAILED", err.cause.message, { cause: err.cause });
    }
    return new PvrError("BAD_ARCHIVE", `truncated or not a pvr export: ${label} (${detail})`, {
      cause: err,
    });
  }
  // Errors of the source stream before the tar reader, or of the staging store.
  return new PvrError("FAILED", `${label}: ${detail}`, { cause: err });
}

function badArchive(message: string): PvrError {
  return new PvrError("BAD_ARCHIVE", message);
}

function unsafe(message: string, path: string): PvrError {
  return new PvrError("UNSAFE_PATH", message, { path });
}
