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
 *   store (`OBJECT_MISSING`).
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { createGunzip } from "node:zlib";
import { PvrError } from "../errors.ts";
import { FsObjectStore } from "../store/fs_store.ts";
import type { ObjectStore } from "../store/object_store.ts";
import { type State, stateObjects, validateState } from "../model/state.ts";
import { parseJson } from "../model/json_parse.ts";
import { fsyncDir, syncPaths } from "../../native/durability.ts";
import { TarFormatError, TarReader, TarType } from "./tar.ts";

/** Largest `json` entry accepted. */
const MAX_JSON_SIZE = 64 << 20;
/** Objects up to this size are read into memory and stored in one call. */
const SMALL_OBJECT = 1 << 20;
/** Size of one read of a tarball file. */
const READ_SIZE = 1 << 20;
/** Reads of the tarball file kept ahead of the consumer. */
const READ_AHEAD = 2;
/** Small objects stored at once. */
const STAGE_CONCURRENCY = 8;
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
  /** Name of a stream source in messages (a path source is named by its path). */
  name?: string;
}

/** What {@link readExport} found. */
export interface ReadExportResult {
  /** The archive's state (parsed and validated). */
  state: State;
  /** Ids of the objects staged in the staging directory (verified). */
  objects: Set<string>;
}

/** Options of {@link commitStaged}. */
export interface CommitStagedOptions {
  /** Fsync each object before it is renamed into the store, and the store after. Default true. */
  fsync?: boolean;
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
  const label = typeof source === "string" ? source : opts.name ?? "<stream>";
  const staging = await FsObjectStore.open(stagingDir, { create: true, fsync: false });
  const input = typeof source === "string" ? await fileStream(source) : source;
  let tar: TarReader | null = null;
  try {
    tar = new TarReader(await maybeGunzip(input, label)); // cancels `input` when it fails
    return await readEntries(tar, staging, label, opts.existing);
  } catch (err) {
    await tar?.cancel(err);
    throw archiveError(err, label);
  }
}

/**
 * Moves staged objects into `store`: by rename when `store` is a file system store on
 * the same file system (each object fsynced first, the store directory after), else
 * by a verified copy (`putFile`). Objects already in `store` with the same size are
 * left as they are. Returns how many objects were added to `store`.
 *
 * Needs `--allow-read` and `--allow-write` for `stagingDir` and the store.
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
  let added = 0;
  let renamed = false;
  // First the objects to move (not in the store with the same size), then one flush of
  // all of them (a `syncfs` where FFI allows it: an fsync per object made an import of
  // 10,000 small objects several times slower), then the renames.
  const moves: [string, string][] = [];
  for (const sha of [...staged].sort()) {
    const src = `${stagingDir}/${sha}`;
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
    if ((await store.size(sha)) === size) continue;
    moves.push([sha, src]);
  }
  if (fsync && store.pathOf && moves.length > 0) {
    await syncPaths(stagingDir, moves.map(([, src]) => src), []);
  }
  for (const [sha, src] of moves) {
    if (store.pathOf) {
      try {
        Deno.renameSync(src, store.pathOf(sha));
        renamed = true;
        added++;
        continue;
      } catch {
        // Another file system (EXDEV) or another failure: the copy below reports it.
      }
    }
    if ((await store.putFile(src, sha)).stored) added++;
  }
  if (renamed && fsync && store.pathOf) await fsyncDir(store.location);
  return added;
}

// ---------------------------------------------------------------------------------

/** The entry loop: stages objects, parses `json`, checks the references. */
async function readEntries(
  tar: TarReader,
  staging: FsObjectStore,
  label: string,
  existing: ObjectStore | undefined,
): Promise<ReadExportResult> {
  const stager = new Stager(staging, label, existing);
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
      else await stager.large(() => tar.body(), kind);
    }
    await stager.finish();
  } finally {
    await stager.settle();
  }
  await tar.drain();
  if (state === null) throw badArchive(`${label}: no json entry: not a pvr export`);

  const { staged: objects, present } = stager;
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
  return { state, objects };
}

/**
 * Stages object entries. Small objects (already read into memory) are stored several
 * at a time: measured on 10,000 × 4 KiB objects, 8 concurrent puts take about half the
 * time of one at a time. Large objects are streamed one at a time. Repeated entries
 * (the Go tool writes an object once per key) are stored once, objects that `existing`
 * holds not at all.
 */
class Stager {
  /** Verified objects now in the staging store. */
  readonly staged = new Set<string>();
  /** Objects of the archive that `existing` already holds (not staged). */
  readonly present = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #inflight = new Set<Promise<void>>();
  #error: { err: unknown } | null = null;
  readonly #store: FsObjectStore;
  readonly #label: string;
  readonly #existing: ObjectStore | undefined;

  constructor(store: FsObjectStore, label: string, existing: ObjectStore | undefined) {
    this.#store = store;
    this.#label = label;
    this.#existing = existing;
  }

  /** Stores a small object in the background (at most {@link STAGE_CONCURRENCY} at once). */
  async small(bytes: Uint8Array, sha: string): Promise<void> {
    this.#throwIfFailed();
    if (this.#seen.has(sha)) return;
    this.#seen.add(sha);
    while (this.#inflight.size >= STAGE_CONCURRENCY) await Promise.race(this.#inflight);
    this.#throwIfFailed();
    const task: Promise<void> = this.#stage(bytes, sha).then(
      () => {
        this.#inflight.delete(task);
      },
      (err) => {
        this.#inflight.delete(task);
        this.#error ??= { err };
      },
    );
    this.#inflight.add(task);
  }

  /** Streams a large object into the store (its body is not read when not needed). */
  async large(body: () => ReadableStream<Uint8Array>, sha: string): Promise<void> {
    this.#throwIfFailed();
    if (this.#seen.has(sha)) return;
    this.#seen.add(sha);
    if (this.#existing !== undefined && (await this.#existing.has(sha))) {
      this.present.add(sha);
      return;
    }
    await this.#put(body(), sha);
  }

  /** Waits for the background stores; throws the first failure. */
  async finish(): Promise<void> {
    await this.settle();
    this.#throwIfFailed();
  }

  /** Waits for the background stores, whatever their outcome. */
  async settle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  async #stage(bytes: Uint8Array, sha: string): Promise<void> {
    if (this.#existing !== undefined && (await this.#existing.has(sha))) {
      this.present.add(sha);
      return;
    }
    await this.#put(bytes, sha);
  }

  async #put(data: Uint8Array | ReadableStream<Uint8Array>, sha: string): Promise<void> {
    try {
      await this.#store.put(data, sha);
    } catch (err) {
      if (err instanceof PvrError && err.code === "OBJECT_CORRUPT") {
        throw new PvrError(
          "OBJECT_CORRUPT",
          `${this.#label}: entry objects/${sha} does not match its name (${err.message})`,
          { cause: err, path: `objects/${sha}` },
        );
      }
      throw err;
    }
    this.staged.add(sha);
  }

  #throwIfFailed(): void {
    if (this.#error !== null) throw this.#error.err;
  }
}

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
  const first = head[0].length >= 2 ? head[0] : concat(head);
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
  return gzip ? gunzip(replay) : replay;
}

/**
 * Gunzips a stream with `node:zlib` (about 4× faster than `DecompressionStream` here,
 * and it accepts concatenated gzip members, as Go and GNU gzip do). A truncated or
 * damaged gzip stream errors the returned stream.
 */
function gunzip(input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
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

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
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
