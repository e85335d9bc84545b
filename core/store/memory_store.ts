/**
 * An in-memory {@link ObjectStore} for unit tests: same guarantees as the file system
 * store (it passes the same contract suite), objects held in a `Map`. `copyTo` writes a
 * real file; there is no `pathOf`, so callers take their copy path.
 *
 * @module
 */

import type { ObjectStore, PutResult, VerifyResult } from "./object_store.ts";
import {
  objectCorruptError,
  objectMismatchError,
  objectMissingError,
  objectName,
  requireObjectName,
} from "./object_store.ts";
import { createSha256, READ_CHUNK_SIZE, sha256Bytes } from "./hash.ts";
import { concatBytes } from "../bytes.ts";

/** How {@link MemoryObjectStore.corruptForTest} damages an object. */
export interface CorruptForTestOptions {
  /**
   * Flip one byte and keep the size (a damage only a re-hash finds) instead of the
   * default, which flips one byte and appends one (the size changes too).
   */
  keepSize?: boolean;
}

/**
 * An object store in memory, for tests.
 *
 * Needs no permissions, except `--allow-write` for the destinations of `copyTo`.
 *
 * @example
 * ```ts
 * const store = new MemoryObjectStore();
 * const { sha } = await store.put(new TextEncoder().encode("hello"));
 * store.corruptForTest(sha);
 * await store.verify(sha); // "corrupt"
 * ```
 */
export class MemoryObjectStore implements ObjectStore {
  /** Always `memory:`. */
  readonly location = "memory:";
  readonly #objects = new Map<string, Uint8Array>();

  /** True when an object of this name is held. */
  has(sha: string): Promise<boolean> {
    const name = objectName(sha);
    return Promise.resolve(name !== null && this.#objects.has(name));
  }

  /** Byte size, or null when missing. */
  size(sha: string): Promise<number | null> {
    const name = objectName(sha);
    return Promise.resolve(name === null ? null : this.#objects.get(name)?.length ?? null);
  }

  /** Stores bytes from a buffer or a stream (the stream's chunks are copied). */
  async put(
    data: ReadableStream<Uint8Array> | Uint8Array,
    expectedSha?: string,
  ): Promise<PutResult> {
    const expected = expectedSha === undefined ? undefined : requireObjectName(expectedSha);
    if (data instanceof Uint8Array) return this.#store(data.slice(), expected);
    const chunks: Uint8Array[] = [];
    const reader = data.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value.slice());
      }
    } finally {
      reader.releaseLock();
    }
    return this.#store(concatBytes(chunks), expected);
  }

  /** Stores a real file's bytes (read in 1 MiB chunks). Needs `--allow-read` for `path`. */
  async putFile(path: string, expectedSha?: string): Promise<PutResult> {
    const expected = expectedSha === undefined ? undefined : requireObjectName(expectedSha);
    using file = await Deno.open(path, { read: true });
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(READ_CHUNK_SIZE);
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    return this.#store(concatBytes(chunks), expected);
  }

  /** A copy of the object's bytes, verified. */
  read(sha: string): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.#verified(sha).slice());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Writes the object to the real file `dest` (replaced if it exists, mode set exactly).
   * The hash is checked before any byte is written; a corrupt object leaves no `dest`.
   * Needs `--allow-write` for `dest`.
   */
  async copyTo(sha: string, dest: string, mode = 0o644): Promise<number> {
    const name = objectName(sha);
    if (name === null || !this.#objects.has(name)) throw objectMissingError(sha);
    // Like the fs store: an existing dest is unlinked (never written through) and is
    // gone when the object turns out corrupt.
    await Deno.remove(dest).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    const bytes = this.#verified(name);
    let done = false;
    try {
      await Deno.writeFile(dest, bytes, { createNew: true, mode });
      await Deno.chmod(dest, mode);
      done = true;
    } finally {
      if (!done) await Deno.remove(dest).catch(() => {});
    }
    return bytes.length;
  }

  /** Re-hashes the held bytes. */
  verify(sha: string): Promise<VerifyResult> {
    const name = objectName(sha);
    const bytes = name === null ? undefined : this.#objects.get(name);
    if (bytes === undefined) return Promise.resolve("missing");
    return Promise.resolve(sha256Bytes(bytes) === name ? "ok" : "corrupt");
  }

  /** Every object name held. */
  async *list(): AsyncIterable<string> {
    for (const name of [...this.#objects.keys()]) yield name;
  }

  /**
   * Damages a held object in place, for tests of corruption handling: by default one
   * byte flipped and one byte appended (size changes), with `keepSize` one byte flipped.
   * Throws `OBJECT_MISSING` when the object is not held.
   */
  corruptForTest(sha: string, opts: CorruptForTestOptions = {}): void {
    const name = objectName(sha);
    const bytes = name === null ? undefined : this.#objects.get(name);
    if (name === null || bytes === undefined) throw objectMissingError(sha);
    const damaged = opts.keepSize ? bytes.slice() : concatBytes([bytes, new Uint8Array([0x2a])]);
    if (damaged.length > 0) damaged[0] ^= 0xff;
    this.#objects.set(name, damaged);
  }

  #store(bytes: Uint8Array, expected: string | undefined): PutResult {
    const hash = createSha256();
    hash.update(bytes);
    const sha = hash.digest();
    if (expected !== undefined && sha !== expected) throw objectMismatchError(expected, sha);
    if (this.#objects.get(sha)?.length === bytes.length) {
      return { sha, size: bytes.length, stored: false };
    }
    this.#objects.set(sha, bytes);
    return { sha, size: bytes.length, stored: true };
  }

  #verified(sha: string): Uint8Array {
    const name = objectName(sha);
    const bytes = name === null ? undefined : this.#objects.get(name);
    if (name === null || bytes === undefined) throw objectMissingError(sha);
    if (sha256Bytes(bytes) !== name) throw objectCorruptError(name);
    return bytes;
  }
}
